import { describe, expect, it } from 'vitest';
import { type CachedPage, deserialisePage, serialisePage, sizeInMemory } from '../../../gateway/page-cache/cached-page';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function page(markup: CachedPage['markup']): CachedPage {
  return {
    status: 200,
    statusText: 'OK',
    headers: [['content-type', 'text/html']],
    markup,
    digest: '',
    storedAt: 1,
    ttlMs: 60_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
  };
}

describe('a cached page in memory and in the shared layers', () => {
  it("counts a pending page by the read buffers its chunks hold, each buffer once, and each chunk's own overhead", () => {
    const buffer = new ArrayBuffer(64 * 1024);
    const pending = page({ kind: 'pending', chunks: [new Uint8Array(buffer, 0, 30_000), new Uint8Array(buffer, 30_000, 30_000), new Uint8Array(100)] });
    const compiled = page({ kind: 'compiled', bytes: new Uint8Array(60_100), cut: { kind: 'replay', why: 'a test' } });
    expect(sizeInMemory(pending) - sizeInMemory(compiled)).toBe(64 * 1024 + 100 + 3 * 200 - 60_100);
  });

  it('reads back a pending page as pending, its chunks joined, and a compiled one with its cut', async () => {
    const pending = page({ kind: 'pending', chunks: [encoder.encode('<main>'), encoder.encode('the page</main>')] });
    const back = deserialisePage(await serialisePage(pending).arrayBuffer());
    expect(back?.markup.kind).toBe('pending');
    expect(back?.markup.kind === 'pending' && decoder.decode(back.markup.chunks[0])).toBe('<main>the page</main>');

    const cut = { kind: 'markers' as const, markers: [{ kind: 'slot' as const, id: 'price', inner: { start: 6, end: 9 } }] };
    const compiled = page({ kind: 'compiled', bytes: encoder.encode('<main>the page</main>'), cut });
    const again = deserialisePage(await serialisePage(compiled).arrayBuffer());
    expect(again?.markup).toEqual({ kind: 'compiled', bytes: encoder.encode('<main>the page</main>'), cut });
  });
});
