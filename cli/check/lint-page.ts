import { Parser } from 'htmlparser2';
import type { CompiledRoute } from '../../gateway/contract/types';
import { OpenElements } from '../../gateway/markup/open-elements';
import { closest } from '../diagnostics';

/**
 * Lints an origin page's markup against the route that assembles it: what a
 * user would otherwise find out from a broken page, or never. Each problem
 * says what is wrong and what to do.
 */
export interface PageProblem {
  /** Offset in the page's text. */
  at: number;
  message: string;
}

export interface PageContext {
  route: CompiledRoute;
  /** Whether the gateway would process ESI on this page (its mode and the origin's Surrogate-Control). */
  esiProcessed: boolean;
  /** The origin and listed hosts, as URL origins; relative includes resolve against `pageUrl`. */
  allowedOrigins: ReadonlySet<string>;
  pageUrl: string;
  /** Whether the project's workerd config has html_rewriter_treats_esi_include_as_void_tag. */
  voidIncludeFlag: boolean;
}

const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'template']);

export function lintPage(html: string, page: PageContext): PageProblem[] {
  const problems: PageProblem[] = [];
  const { route } = page;
  const marked = new Set<string>();
  const includedSrcs = new Set<string>();
  let rawText: string | undefined;
  let removeDepth = 0;
  let reportedEsiOff = false;
  // The gateway's own model of where a placeholder may stand.
  const elements = new OpenElements();
  const outOfOrderMarker = (at: number, marker: string, fragment: string) => {
    if (!elements.placementSafe)
      problems.push({
        at,
        message: `${marker} is out-of-order, but it sits among table rows, in a <select>, in SVG or MathML, in a <template> or a <noscript>, where a placeholder would change the page: it renders in order here. Move it into a cell or out of that element, or set placement: in-order on ${fragment}`,
      });
  };
  const parser = new Parser(
    {
      onopentag(name, attributes, isImplied) {
        const at = parser.startIndex;
        const selfClosing = /\/\s*>$/.test(html.slice(at, parser.endIndex + 1));
        if (!isImplied) elements.start(name, selfClosing, attributes['data-slot'] !== undefined);
        if (rawText === 'template') {
          if (name.startsWith('esi:') || 'data-slot' in attributes)
            problems.push({ at, message: `a marker inside <template> is not processed: move it out of the template` });
          return;
        }
        if (RAW_TEXT.has(name)) rawText = name;
        for (const [attribute, value] of Object.entries(attributes)) {
          if (/<esi:|data-slot/i.test(value))
            problems.push({ at, message: `a marker inside the ${attribute}="…" attribute is text, not a marker: move it out of the attribute` });
        }
        const slot = attributes['data-slot'];
        if (slot !== undefined) {
          marked.add(slot);
          if (route.fragments[slot]?.placement === 'out-of-order') outOfOrderMarker(at, `data-slot="${slot}"`, `fragment "${slot}"`);
          if (!route.fragments[slot]) {
            const hint = closest(slot, Object.keys(route.fragments));
            problems.push({
              at,
              message: hint
                ? `data-slot="${slot}" names no fragment of route ${route.name}: did you mean "${hint}"? Otherwise declare it under fragments:, or remove the attribute`
                : `data-slot="${slot}" names no fragment of route ${route.name}: declare it under fragments:, or remove the attribute`,
            });
          }
        }
        if (!name.startsWith('esi:')) return;
        if (!page.esiProcessed && !reportedEsiOff) {
          reportedEsiOff = true;
          const why = route.esi === 'off' ? 'this route has esi: off' : 'this route has esi: auto and the origin sent no Surrogate-Control: content="ESI/1.0"';
          problems.push({ at, message: `<${name}> reaches the browser raw: ${why}. Send that header from the origin, or set esi: on` });
        }
        if (name === 'esi:remove') removeDepth++;
        if (name !== 'esi:include') return;
        if (removeDepth > 0) problems.push({ at, message: '<esi:include> inside <esi:remove> is never rendered: move it out of the remove, or delete it' });
        if (attributes.id) marked.add(attributes.id);
        const declared = attributes.id ? route.fragments[attributes.id] : undefined;
        if ((declared?.placement ?? route.placement) === 'out-of-order')
          outOfOrderMarker(at, `<esi:include${attributes.src ? ` src="${attributes.src}"` : ''}>`, declared ? `fragment "${declared.id}"` : 'the route');
        const src = attributes.src;
        if (src) {
          includedSrcs.add(src);
          const origin = originOf(src, page.pageUrl);
          if (origin && !page.allowedOrigins.has(origin))
            problems.push({
              at,
              message: `<esi:include src="${src}"> is on ${origin}, which is not the origin or a listed host: it will be refused. List it under hosts:`,
            });
        }
        if (!page.voidIncludeFlag && selfClosing) {
          problems.push({
            at,
            message:
              'a self-closing <esi:include/> needs the compatibility flag html_rewriter_treats_esi_include_as_void_tag: add it to wrangler.toml, or write <esi:include …></esi:include>',
          });
        }
      },
      onclosetag(name) {
        elements.end(name);
        if (name === rawText) rawText = undefined;
        if (name === 'esi:remove' && removeDepth > 0) removeDepth--;
      },
      ontext(text) {
        if (rawText && rawText !== 'template' && /<esi:|data-slot=/i.test(text)) {
          problems.push({ at: parser.startIndex, message: `a marker inside <${rawText}> is text, not a marker: move it out of the ${rawText}` });
        }
      },
      oncomment(text) {
        if (/<esi:|data-slot=/i.test(text) && !/^esi\b/i.test(text.trimStart())) {
          problems.push({
            at: parser.startIndex,
            message: 'a marker inside an HTML comment is not processed: move it out, or write <!--esi … --> to hide ESI from browsers',
          });
        }
      },
    },
    { recognizeSelfClosing: true, lowerCaseTags: true, lowerCaseAttributeNames: true, decodeEntities: true },
  );
  parser.write(html);
  parser.end();

  for (const fragment of Object.values(route.fragments)) {
    if (marked.has(fragment.id) || includedSrcs.has(fragment.src.raw)) continue;
    problems.push({
      at: 0,
      message: `fragment "${fragment.id}" is declared, but this page has no marker for it (it is fetched on every page all the same): add <div data-slot="${fragment.id}">…</div>, or remove it from the manifest`,
    });
  }
  return problems.sort((a, b) => a.at - b.at);
}

function originOf(src: string, base: string): string | undefined {
  if (src.includes('$(')) return undefined; // Decided by a variable at request time.
  try {
    return new URL(src, base).origin;
  } catch {
    return undefined;
  }
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}
