import { Parser } from 'htmlparser2';
import type { CompiledRoute, FragmentSpec } from '../../gateway/contract/types';
import { readAssetLinks } from '../../gateway/http/asset-links';
import { parseUrl } from '../../gateway/lib/parse-url';
import { lineColumn } from './lint-page';

/**
 * `tessera check`, for a route's declared fragments: fetches each one (with
 * 1 for every route parameter and each variable's default) and says what the
 * gateway would do with its assets that the user would rather hear now:
 *
 * - an asset in its `Link` header on a host that is neither the origin nor
 *   listed: the gateway leaves it out (`tessera validate` says the same of
 *   the manifest's `assets:`);
 * - a `Link` header the parser cannot read: the gateway ignores all of it;
 * - a stylesheet in the fragment's markup that is neither declared nor
 *   deduplicable: an inline `<style>`, sent with every copy of the fragment,
 *   which no page can keep once or preload.
 *
 * A fragment that cannot be fetched here says nothing: that is not an asset
 * problem (the page check and the dev log tell of it).
 */
export interface AssetProblem {
  url: string;
  line: number;
  column: number;
  message: string;
}

export async function checkFragmentAssets(route: CompiledRoute, origin: string, fetchText = fetchFragment): Promise<AssetProblem[]> {
  const allowed = new Set([new URL(origin).origin, ...route.hosts]);
  const problems: AssetProblem[] = [];
  for (const fragment of Object.values(route.fragments)) {
    const src = exampleSrc(fragment);
    const url = src === undefined ? undefined : parseUrl(src, origin);
    if (!url) continue;
    const onHost = (href: string, base: string, where: string) => {
      const asset = parseUrl(href, base);
      if (asset && !allowed.has(asset.origin)) {
        problems.push({
          url: url.href,
          line: 1,
          column: 1,
          message: `fragment "${fragment.id}" names asset ${asset.href} ${where}, on ${asset.origin}, which is not the origin or a listed host: the gateway leaves it out. List it under hosts:, or serve it from the origin`,
        });
      }
    };
    const answer = await fetchText(url).catch(() => undefined);
    if (!answer) continue;
    if (answer.link) {
      const read = readAssetLinks(answer.link);
      if (read.problem) problems.push({ url: url.href, line: 1, column: 1, message: `fragment "${fragment.id}": ${read.problem}, so the gateway ignores it` });
      for (const asset of read.assets) onHost(asset.href, url.href, 'in its Link header');
    }
    for (const at of inlineStyles(answer.html)) {
      const { line, column } = lineColumn(answer.html, at);
      problems.push({
        url: url.href,
        line,
        column,
        message: `fragment "${fragment.id}" carries a <style> of its own: it is sent with every copy of the fragment, and no page can keep it once or preload it. Move it to a stylesheet and name that in the fragment's Link header (</…css>; rel=stylesheet) or under assets:`,
      });
    }
  }
  return problems;
}

async function fetchFragment(url: URL): Promise<{ html: string; link: string | null } | undefined> {
  const response = await fetch(url, { headers: { 'surrogate-capability': 'tessera="ESI/1.0"', accept: 'text/html' }, redirect: 'manual' });
  const html = await response.text();
  return response.ok ? { html, link: response.headers.get('link') } : undefined;
}

/** The fragment's src with 1 for each route parameter and every other variable's default; undefined when one has none. */
function exampleSrc(fragment: FragmentSpec): string | undefined {
  let src = '';
  for (const part of fragment.src.parts) {
    if (typeof part === 'string') src += part;
    else if (part.source === 'params') src += '1';
    else if (part.default !== undefined) src += encodeURIComponent(part.default);
    else return undefined;
  }
  return src;
}

/** Where each `<style>` element of the markup starts (not one inside a script, a comment or a template). */
function inlineStyles(html: string): number[] {
  const found: number[] = [];
  let template = 0;
  const parser = new Parser({
    onopentag(name) {
      if (name === 'template') template++;
      else if (name === 'style' && template === 0) found.push(parser.startIndex);
    },
    onclosetag(name) {
      if (name === 'template' && template > 0) template--;
    },
  });
  parser.end(html);
  return found;
}
