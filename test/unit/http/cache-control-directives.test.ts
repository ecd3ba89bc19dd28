import { describe, expect, it } from 'vitest';
import { originDirectives, parseDirectives, serialiseDirectives } from '../../../gateway/http/cache-control-directives';

const read = (header: string) => serialiseDirectives(parseDirectives(header));
const STRICTEST = 'private, no-cache';
const STRICTEST_NO_STORE = 'private, no-cache, no-store';

describe('the origin’s Cache-Control, read so that no downstream cache could read it looser', () => {
  it('takes a header every cache reads alike as it is', () => {
    expect(read('public, max-age=600,s-maxage=060 , stale-if-error=30, no-transform')).toBe(
      'public, max-age=600, s-maxage=60, stale-if-error=30, no-transform',
    );
  });

  it('keeps a field list of plain header names whole', () => {
    expect(read('no-cache="Set-Cookie, X-Id", private="Authorization", max-age=600')).toBe('no-cache="Set-Cookie, X-Id", private="Authorization", max-age=600');
  });

  it('reads any quoted value but such a field list, or an escape, as the strictest reading, no-store included when it appears anywhere', () => {
    expect(read('public, max-age=86400, ext="a\\\\", no-store')).toBe(STRICTEST_NO_STORE);
    expect(read('public, max-age=600, ext="x, no-store, y"')).toBe(STRICTEST_NO_STORE);
    expect(read('max-age="60, private, x", public')).toBe(STRICTEST);
    expect(read('max-age=600, ext=", s-maxage=86400"')).toBe(STRICTEST);
  });

  it('reads a field list naming a directive, or a value on a directive that takes none, as the strictest reading', () => {
    expect(read('no-cache="Set-Cookie, no-store, X-Id", max-age=600')).toBe(STRICTEST_NO_STORE);
    expect(read('no-store="a,b", public, max-age=600')).toBe(STRICTEST_NO_STORE);
    expect(read('max-age=600, must-revalidate="a,b"')).toBe(STRICTEST);
    expect(read('no-cache="X-Id, public"')).toBe(STRICTEST);
    expect(read('private="S-MAXAGE"')).toBe(STRICTEST);
  });

  it('reads a quote left open, a repeated directive, an uppercase name or stray characters as the strictest reading', () => {
    expect(read('public, max-age=86400, x="no-store')).toBe(STRICTEST_NO_STORE);
    expect(read('max-age=0, max-age=600')).toBe(STRICTEST);
    expect(read('stale-while-revalidate=86400, stale-while-revalidate=10')).toBe(STRICTEST);
    expect(read('no-store=1, no-store, public, max-age=600')).toBe(STRICTEST_NO_STORE);
    expect(read('PUBLIC, MAX-AGE=600')).toBe(STRICTEST);
    expect(read('public, max-age=86400, \u00a0no-store')).toBe(STRICTEST_NO_STORE);
    expect(read('max-age=60;public')).toBe(STRICTEST);
    expect(read(`max-age=1, a${' '.repeat(50_000)}b`)).toBe(STRICTEST);
  });

  it('leaves extension directives out, unless named like one a cache knows', () => {
    expect(read('max-age=60, x-ext=token, must-understand')).toBe('max-age=60, must-understand');
    expect(read('max-age=60, x-s-maxage=86400')).toBe(STRICTEST);
  });

  it('counts Pragma: no-cache only where there is no Cache-Control', () => {
    expect(serialiseDirectives(originDirectives(new Headers({ pragma: 'no-cache' })))).toBe('no-cache');
    expect(serialiseDirectives(originDirectives(new Headers({ pragma: 'no-cache', 'cache-control': 'max-age=60' })))).toBe('max-age=60');
  });
});
