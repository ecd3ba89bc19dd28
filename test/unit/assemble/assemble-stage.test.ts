import { describe, expect, it, vi } from 'vitest';
import { assembleResponse } from '../../../gateway/assemble/assemble';
import type { FragmentSource, PlacedFragment, Placement } from '../../../gateway/contract/fragment-source';
import { InBand } from '../../../gateway/markup/in-band';
import { gate } from '../harness';

/**
 * The assemble stage alone, driven as Tailor's tests drive its stream: a
 * fragment source whose fragments settle in an order the test chooses, and a
 * page that arrives chunk by chunk. No gateway, no network.
 */
function fragment(key: string, html: string): PlacedFragment {
  return { key, surrogateEsi: false, result: { id: key, outcome: 'miss', source: 'src', html, durationMs: 0 } };
}

/** A source whose slots settle when the test opens their gates. */
function sourceOf(slots: Record<string, Promise<PlacedFragment> | PlacedFragment>): FragmentSource {
  return {
    maxDepth: 3,
    slot: (id): Placement | undefined => {
      const slot = slots[id];
      if (!slot) return undefined;
      return slot instanceof Promise ? { ready: false, fragment: slot } : { ready: true, fragment: slot };
    },
    include: () => undefined,
    esiInside: () => false,
    esiMarkup: (settled) => settled.result.html ?? '',
    tryBlock: () => undefined,
    includeFailed: () => {},
    inline: async () => new Uint8Array(0),
  };
}

function pageStream() {
  let write!: (text: string) => void;
  let end!: () => void;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      write = (text) => controller.enqueue(new TextEncoder().encode(text));
      end = () => controller.close();
    },
  });
  return { body, write: (text: string) => write(text), end: () => end() };
}

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, seen: string[], text: string): Promise<void> {
  const decoder = new TextDecoder();
  while (!seen.join('').includes(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`ended before ${text}: ${seen.join('')}`);
    seen.push(decoder.decode(value, { stream: true }));
  }
}

const context = () => ({ depth: 0, ancestry: [], esi: false, inBand: new InBand() });

describe('the assemble stage alone', () => {
  it('writes fragments in document order whatever order they settle in, streaming everything before the first one still out', async () => {
    const [a, b, c] = [gate(), gate(), gate()];
    const source = sourceOf({
      a: a.opened.then(() => fragment('a', 'A')),
      b: b.opened.then(() => fragment('b', 'B')),
      c: c.opened.then(() => fragment('c', 'C')),
    });
    const page = pageStream();
    const reader = assembleResponse(new Response(page.body), source, context()).body!.getReader();
    const seen: string[] = [];
    // Cut before each marker still in flight, as the origin pump cuts (output leaves at chunk boundaries).
    page.write('<p>head</p>');
    page.write('<div data-slot="a">a</div><p>1</p>');
    page.write('<div data-slot="b">b</div><p>2</p>');
    page.write('<div data-slot="c">c</div><p>tail</p>');
    page.end();
    await readUntil(reader, seen, '<p>head</p>');
    // The last to be asked for settles first, then the middle one: nothing past the first marker may move.
    c.open();
    b.open();
    expect(seen.join('')).not.toContain('<p>1</p>');
    a.open();
    await readUntil(reader, seen, '<p>tail</p>');
    expect(seen.join('')).toBe('<p>head</p><div data-slot="a">A</div><p>1</p><div data-slot="b">B</div><p>2</p><div data-slot="c">C</div><p>tail</p>');
  });

  it('places a settled fragment without waiting, and leaves undeclared slots and the marker of a kept fragment as they are', async () => {
    const kept = { ...fragment('k', ''), result: { ...fragment('k', '').result, html: null, source: 'keep' as const } };
    const source = sourceOf({ ready: fragment('ready', 'R'), kept });
    const body = await assembleResponse(
      new Response('<div data-slot="ready">r</div><div data-slot="kept">own</div><div data-slot="other">o</div>'),
      source,
      context(),
    ).text();
    expect(body).toBe('<div data-slot="ready">R</div><div data-slot="kept">own</div><div data-slot="other">o</div>');
  });

  it('renders the fallback of a fragment whose promise rejects, and goes on with the page', async () => {
    const broken = Promise.reject(new Error('bug'));
    broken.catch(() => {}); // rejected before the rewriter reaches it: not an unhandled rejection
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const source = sourceOf({ broken, fine: fragment('fine', 'F') });
    const body = await assembleResponse(new Response('<div data-slot="broken">own</div>|<div data-slot="fine">f</div>'), source, context()).text();
    expect(body).toBe('<div data-slot="broken">own</div>|<div data-slot="fine">F</div>');
    expect(error).toHaveBeenCalledOnce();
    error.mockRestore();
  });
});
