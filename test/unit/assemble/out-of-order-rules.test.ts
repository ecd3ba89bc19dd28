import { describe, expect, it } from 'vitest';
import { inlineScriptAllowance } from '../../../gateway/lib/content-security-policy';
import { OpenElements } from '../../../gateway/markup/open-elements';

function openAfter(tags: string): OpenElements {
  const elements = new OpenElements();
  for (const [, slash, name, selfClosing] of tags.matchAll(/<(\/?)([a-z0-9]+)[^>]*?(\/?)>/g)) {
    if (slash) elements.end(name);
    else elements.start(name, selfClosing === '/');
  }
  return elements;
}

describe('where out-of-order markup may go', () => {
  it('lets templates go only where they land in the body as templates', () => {
    expect(openAfter('<body><main><div>').templateSafe).toBe(true);
    expect(openAfter('<table><tr><td>').templateSafe).toBe(false);
    expect(openAfter('<table><tr><td>x</td></tr></table>').templateSafe).toBe(true);
    expect(openAfter('<select><option>').templateSafe).toBe(false);
    expect(openAfter('<svg><g>').templateSafe).toBe(false);
    expect(openAfter('<svg/>').templateSafe).toBe(true);
    expect(openAfter('<template><p>').templateSafe).toBe(false);
    expect(openAfter('<noscript>').templateSafe).toBe(false);
  });

  it('lets placeholders stand in flow content and table cells, not among rows, options or foreign content', () => {
    expect(openAfter('<body><p>').placementSafe).toBe(true);
    expect(openAfter('<table><tbody><tr><td>').placementSafe).toBe(true);
    expect(openAfter('<table><tr><td></td>').placementSafe).toBe(false);
    expect(openAfter('<table><tr><td>x<td>').placementSafe).toBe(true);
    expect(openAfter('<table><tr><td>x</td></tr><tr>').placementSafe).toBe(false);
    expect(openAfter('<table><caption>').placementSafe).toBe(true);
    expect(openAfter('<table><tr><td><table><tr>').placementSafe).toBe(false);
    expect(openAfter('<select>').placementSafe).toBe(false);
    expect(openAfter('<svg><foreignObject><div>').placementSafe).toBe(false);
    expect(openAfter('<math>').placementSafe).toBe(false);
  });

  it('knows which elements a template here would be a child of, implied end tags included', () => {
    const header = openAfter('<body><div class="page"><header>');
    const inHeader = header.scope;
    header.end('header');
    header.start('main', false);
    header.start('p', false);
    expect(header.encloses(inHeader)).toBe(false); // Inside <main>: not an ancestor of the header.
    header.start('div', false); // A <div> closes the paragraph…
    header.end('div');
    header.end('main');
    expect(header.encloses(inHeader)).toBe(true); // …and after </main> the current element is div.page.
    const list = openAfter('<ul><li>a');
    const inFirstItem = list.scope;
    list.start('li', false); // Closes the first item.
    expect(list.encloses(inFirstItem)).toBe(false);
    list.end('li');
    expect(list.encloses(inFirstItem)).toBe(true);
    const paragraph = openAfter('<p>');
    const inParagraph = paragraph.scope;
    paragraph.start('img', false);
    paragraph.start('br', false);
    expect(paragraph.encloses(inParagraph)).toBe(true); // Void elements never open.
  });

  it('lets nothing go inside a data-slot, whose content the gateway replaces', () => {
    const elements = new OpenElements();
    elements.start('div', false, true);
    expect(elements.templateSafe).toBe(false);
    expect(elements.scope).toEqual([0]);
  });
});

describe('whether our inline script may run under the page CSP', () => {
  it('runs freely without a policy on scripts, or with unsafe-inline alone', () => {
    expect(inlineScriptAllowance(null)).toEqual({ kind: 'allowed' });
    expect(inlineScriptAllowance("img-src 'self'")).toEqual({ kind: 'allowed' });
    expect(inlineScriptAllowance("script-src 'self' 'unsafe-inline'")).toEqual({ kind: 'allowed' });
  });

  it('carries the nonce every policy offers', () => {
    expect(inlineScriptAllowance("script-src 'nonce-abc' 'unsafe-inline'")).toEqual({ kind: 'nonce', nonce: 'abc' });
    expect(inlineScriptAllowance("default-src 'self' 'nonce-abc'")).toEqual({ kind: 'nonce', nonce: 'abc' });
    expect(inlineScriptAllowance("script-src 'nonce-abc', script-src 'nonce-abc' 'self'")).toEqual({ kind: 'nonce', nonce: 'abc' });
  });

  it('is refused by hashes alone, strict-dynamic without a nonce, or policies with no nonce in common', () => {
    expect(inlineScriptAllowance("script-src 'sha256-xyz' 'unsafe-inline'")).toEqual({ kind: 'refused' });
    expect(inlineScriptAllowance("script-src 'strict-dynamic' 'unsafe-inline' https:")).toEqual({ kind: 'refused' });
    expect(inlineScriptAllowance("default-src 'self'")).toEqual({ kind: 'refused' });
    expect(inlineScriptAllowance("script-src 'nonce-a', script-src 'nonce-b'")).toEqual({ kind: 'refused' });
    // script-src-elem governs script elements, whatever script-src says.
    expect(inlineScriptAllowance("script-src 'unsafe-inline'; script-src-elem 'self'")).toEqual({ kind: 'refused' });
  });
});
