import { describe, expect, it } from 'vitest';
import { copyWhileStreaming } from '../../../gateway/lib/body-copy';
import { type ChunkReader, keptWhole } from '../../../gateway/lib/chunk-reader';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A native byte stream the test writes chunk by chunk, as an origin's body arrives. */
function origin() {
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  return {
    body: readable,
    send: (text: string) => writer.write(encoder.encode(text)),
    end: () => writer.close(),
    fail: (error: Error) => writer.abort(error),
  };
}

/** The kept chunks, as text. */
const kept = (chunks: Uint8Array[] | undefined) => (chunks ? decoder.decode(keptWhole(chunks)) : undefined);

/** Everything `forward` hands out, as text. */
async function readAll(reader: ChunkReader): Promise<string> {
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

describe('copyWhileStreaming', () => {
  it('streams the body on and keeps every byte of it, from one read of each chunk', async () => {
    const page = origin();
    const copy = copyWhileStreaming(page.body, 1024);
    const forwarded = readAll(copy.forward);
    await page.send('<p>one</p>');
    await page.send('<p>two</p>');
    await page.end();
    expect(await forwarded).toBe('<p>one</p><p>two</p>');
    expect(kept(await copy.whole)).toBe('<p>one</p><p>two</p>');
  });

  it('keeps the very chunks it handed on, without copying them', async () => {
    const page = origin();
    const copy = copyWhileStreaming(page.body, 1024);
    const handedOn: Uint8Array[] = [];
    const forwarded = (async () => {
      for (let read = await copy.forward.read(); !read.done; read = await copy.forward.read()) handedOn.push(read.value);
    })();
    await page.send('<p>one</p>');
    await page.send('<p>two</p>');
    await page.end();
    await forwarded;
    const chunks = await copy.whole;
    expect(chunks).toHaveLength(handedOn.length);
    for (const [i, chunk] of (chunks ?? []).entries()) expect(chunk).toBe(handedOn[i]);
  });

  it('keeps the whole body while the forwarded stream is not read: a slow visitor does not hold the copy back', async () => {
    const page = origin();
    const copy = copyWhileStreaming(page.body, 1024);
    // Nobody reads `forward` yet: the origin's writes still complete, so the body is read at the origin's pace.
    await page.send('a');
    await page.send('b');
    await page.end();
    expect(kept(await copy.whole)).toBe('ab');
    expect(await readAll(copy.forward)).toBe('ab');
  });

  it('reads on for the copy when the forwarded stream is cancelled', async () => {
    const page = origin();
    const copy = copyWhileStreaming(page.body, 1024);
    const reader = copy.forward;
    const first = reader.read();
    await page.send('kept ');
    expect(decoder.decode((await first).value)).toBe('kept ');
    await reader.cancel(new Error('the client went away'));
    await page.send('all the same');
    await page.end();
    expect(kept(await copy.whole)).toBe('kept all the same');
  });

  it('keeps nothing of a body over the cap, and still streams all of it on', async () => {
    const page = origin();
    const copy = copyWhileStreaming(page.body, 8);
    const forwarded = readAll(copy.forward);
    await page.send('12345');
    await page.send('67890');
    await page.end();
    expect(await copy.whole).toBeUndefined();
    expect(await forwarded).toBe('1234567890');
  });

  it('says at once that a body over the cap is not kept, while its reader is still to read it', async () => {
    const page = origin();
    const copy = copyWhileStreaming(page.body, 8);
    void page.send('12345');
    void page.send('67890');
    // Nobody reads `forward`: the copy's answer must not wait for them.
    expect(await copy.whole).toBeUndefined();
    const forwarded = readAll(copy.forward);
    await page.end();
    expect(await forwarded).toBe('1234567890');
  });

  it('fails both the forwarded stream and the copy when the body breaks', async () => {
    const page = origin();
    const copy = copyWhileStreaming(page.body, 1024);
    const forwarded = readAll(copy.forward);
    await page.send('half');
    await page.fail(new Error('origin reset'));
    await expect(copy.whole).rejects.toThrow();
    await expect(forwarded).rejects.toThrow();
  });
});
