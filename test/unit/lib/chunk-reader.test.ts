import { describe, expect, it } from 'vitest';
import { heldBytes, keptWhole, readChunksWithin } from '../../../gateway/lib/chunk-reader';

describe('chunks read from a body', () => {
  it('are counted by the buffers they hold, a buffer shared by two chunks once', () => {
    const shared = new ArrayBuffer(1000);
    expect(heldBytes([new Uint8Array(shared, 0, 10), new Uint8Array(shared, 10, 10), new Uint8Array(50)])).toBe(1050);
  });

  it('are not kept past the cap', async () => {
    expect(await readChunksWithin(new Response('x'.repeat(100)).body as ReadableStream<Uint8Array>, 99)).toBeUndefined();
    const chunks = await readChunksWithin(new Response('x'.repeat(100)).body as ReadableStream<Uint8Array>, 100);
    expect(chunks?.reduce((sum, chunk) => sum + chunk.byteLength, 0)).toBe(100);
  });

  it('are joined however many there are (a body that trickled in a byte at a time)', () => {
    const chunks = Array.from({ length: 200_000 }, () => new Uint8Array([120]));
    expect(keptWhole(chunks).byteLength).toBe(200_000);
  });
});
