import { describe, expect, it } from 'vitest';
import { serverTiming, timingReport } from '../../gateway/observe/server-timing';
import type { FragmentResult } from '../../gateway/types';

const result = (id: string, extra: Partial<FragmentResult>): FragmentResult => ({
  id,
  outcome: 'miss',
  source: 'src',
  html: '',
  durationMs: 12,
  ...extra,
});

const fragments = [
  { id: 'price', result: result('price', {}) },
  { id: 'stock', result: result('stock', { outcome: 'timeout', source: 'keep', durationMs: 250 }) },
  { id: 'https://cdn.test/fragments/footer', result: result('footer', { outcome: 'refused', source: 'empty', durationMs: 0 }) },
  { id: 'recs' },
];

describe('Server-Timing', () => {
  it('lists the origin and each fragment with dur and desc; unsettled ones as pending', () => {
    expect(serverTiming(40, fragments)).toBe(
      'origin;dur=40, fragment.price;dur=12;desc="miss", fragment.stock;dur=250;desc="fallback";cause="timeout", ' +
        'fragment.fragments_footer;dur=0;desc="refused", fragment.recs;desc="pending"',
    );
  });

  it('keeps names unique', () => {
    expect(serverTiming(1, [{ id: 'a b' }, { id: 'a_b' }])).toBe('origin;dur=1, fragment.a_b;desc="pending", fragment.a_b.2;desc="pending"');
  });

  it('writes the whole waterfall as one log line for tessera dev', () => {
    expect(timingReport(new URL('https://shop.test/p/1?x=2'), 40, 260, fragments)).toBe(
      'tessera: /p/1?x=2 260ms | origin 40ms | price 12ms miss | stock 250ms fallback (timeout, keep) | https://cdn.test/fragments/footer 0ms refused | recs pending',
    );
  });
});
