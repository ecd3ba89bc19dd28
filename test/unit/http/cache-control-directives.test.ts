import { describe, expect, it } from 'vitest';
import { parseDirectives, serialiseDirectives } from '../../../gateway/http/cache-control-directives';

const read = (header: string) => serialiseDirectives(parseDirectives(header));

describe('Cache-Control as the page headers read it: never looser than any downstream cache would', () => {
  it('reads directives and values, quoted or not, names in any case', () => {
    expect(read('Public, MAX-AGE=600, s-maxage="60", stale-if-error=30')).toBe('public, max-age=600, s-maxage=60, stale-if-error=30');
  });

  it('keeps a field list whole, commas and all', () => {
    expect(read('no-cache="Set-Cookie, X-Id", private="Authorization"')).toBe('no-cache="Set-Cookie, X-Id", private="Authorization"');
  });

  it('reads a header with a quote left open, or a name or value that is not a token, as no-store', () => {
    expect(read('public, max-age=86400, x="no-store')).toBe('no-store');
    expect(read('max-age=0, x="s-maxage=600')).toBe('no-store');
    expect(read('public, max-age=86400, \u00a0no-store')).toBe('no-store');
    expect(read('no-cache="a"b, public')).toBe('no-store');
    expect(read('max-age=60;public')).toBe('no-store');
  });

  it('drops a directive whose quoted value holds what a cache splitting at commas would read as directives', () => {
    expect(read('max-age=600, ext=", s-maxage=86400"')).toBe('max-age=600');
    expect(read('max-age=600, ext=", public"')).toBe('max-age=600');
    expect(read('ext="plain"')).toBe('ext="plain"');
  });

  it('sends a field list naming a directive, or holding something other than header names, bare', () => {
    expect(read('no-cache="public", private="max-age, X-Id"')).toBe('no-cache, private');
    expect(read('no-cache="a=b"')).toBe('no-cache');
  });

  it('takes the smaller of two ages, the bare form of no-cache or private, and the first of anything else', () => {
    expect(read('max-age=0, max-age=600, s-maxage=900, s-maxage=30')).toBe('max-age=0, s-maxage=30');
    expect(read('no-cache="Set-Cookie", no-cache')).toBe('no-cache');
    expect(read('stale-if-error=10, stale-if-error=99999')).toBe('stale-if-error=10');
  });

  it('reads a long header of escaped quotes, left open or closed', () => {
    // One pass, whatever its length (the scan never backtracks): 100 KB of escaped quotes.
    const header = `x="${'\\"'.repeat(50_000)}`;
    expect(read(header)).toBe('no-store');
    // Closed, it is one extension directive whose value holds quotes: dropped.
    expect(read(`${header}"`)).toBe('');
  });
});
