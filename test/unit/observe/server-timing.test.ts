import { describe, expect, it } from 'vitest';
import type { FragmentResult } from '../../../gateway/contract/types';
import type { FragmentSpan } from '../../../gateway/observe/fragment-events';
import { serverTiming, timingReport } from '../../../gateway/observe/server-timing';

const result = (id: string, extra: Partial<FragmentResult>): FragmentResult => ({
  id,
  outcome: 'miss',
  source: 'src',
  html: '',
  durationMs: 12,
  ...extra,
});

/** A fragment's span in the page timeline, as the session's events build it. */
const span = (fragment: string, settled?: FragmentResult, queuedMs = 0): FragmentSpan => ({ key: fragment, fragment, startAt: 0, queuedMs, result: settled });

const fragments = [
  span('price', result('price', {})),
  span('stock', result('stock', { outcome: 'timeout', source: 'keep', durationMs: 250 })),
  span('https://cdn.test/fragments/footer', result('footer', { outcome: 'refused', source: 'empty', durationMs: 0 })),
  span('recs'),
];

describe('Server-Timing', () => {
  it('lists the origin and each fragment with dur and desc; unsettled ones as pending', () => {
    expect(serverTiming(40, fragments)).toBe(
      'origin;dur=40, fragment.price;dur=12;desc="miss", fragment.stock;dur=250;desc="fallback";cause="timeout", ' +
        'fragment.fragments_footer;dur=0;desc="refused", fragment.recs;desc="pending"',
    );
  });

  it('keeps names unique', () => {
    expect(serverTiming(1, [span('a b'), span('a_b')])).toBe('origin;dur=1, fragment.a_b;desc="pending", fragment.a_b.2;desc="pending"');
  });

  it('writes the whole waterfall as one log line for tessera dev, with queueing and the trace id', () => {
    expect(timingReport(new URL('https://shop.test/p/1?x=2'), 40, 260, fragments)).toBe(
      'tessera: /p/1?x=2 260ms | origin 40ms | price 12ms miss | stock 250ms fallback (timeout, keep) | https://cdn.test/fragments/footer 0ms refused | recs pending',
    );
    expect(timingReport(new URL('https://shop.test/'), 1, 90, [span('late', result('late', { durationMs: 80 }), 30)], 'abc')).toBe(
      'tessera: / 90ms | origin 1ms | late 80ms miss (queued 30ms) | trace abc',
    );
  });
});
