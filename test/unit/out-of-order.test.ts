import { describe, expect, it } from 'vitest';
import { esiPage, gate, gatewayFor, html, upstream } from './harness';

/** Reads until `marker` has streamed; what was read so far. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, marker: string, seen = ''): Promise<string> {
  const decoder = new TextDecoder();
  let text = seen;
  while (!text.includes(marker)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended before ${marker}: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>, seen: string): Promise<string> {
  const decoder = new TextDecoder();
  let text = seen;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}

describe('out-of-order placement', () => {
  it('streams the content after a slow out-of-order fragment before the fragment arrives', async () => {
    const slow = gate();
    const net = upstream({
      '/page': () => esiPage('<html><body><header>H</header><esi:include src="/recs"/><footer>F</footer></body></html>'),
      '/recs': async () => {
        await slow.opened;
        return html('<ul>recs</ul>');
      },
    });
    const get = gatewayFor(net, { route: '/page', placement: 'out-of-order', defaults: { timeout: '5s' } });
    const reader = (await get('/page')).body!.getReader();
    const early = await readUntil(reader, '<footer>F</footer>');
    expect(early).toContain('<?marker name="tessera-1">');
    expect(early).not.toContain('recs');
    slow.open();
    const page = await readRest(reader, early);
    expect(page).toMatch(/<footer>F<\/footer><script>.*<\/script><template for="tessera-1"><ul>recs<\/ul><\/template><\/body><\/html>$/);
  });
});
