import { describe, expect, it } from 'vitest';
import { DEFAULT_ARM, type ExperimentSpec } from '../../../gateway/contract/types';
import { armOf, BUCKETS, bucketOf } from '../../../gateway/request/experiment-assignment';
import { parseOverride } from '../../../gateway/request/experiment-weights';

/**
 * Assignment measured on 10,000 simulated visitors (the issue's numbers):
 * each arm's share within ±1.5 points of its weight, the same arm on every
 * repeat, nobody leaving an arm whose weight goes up, and two experiments'
 * arms independent of each other.
 */
const VISITORS = Array.from({ length: 10_000 }, (_, i) => `visitor-${i}`);

async function buckets(experiment: string): Promise<number[]> {
  return Promise.all(VISITORS.map((id) => bucketOf(experiment, id)));
}

const share = (arms: string[], arm: string) => (100 * arms.filter((a) => a === arm).length) / arms.length;

describe('experiment assignment', () => {
  it('puts each arm within ±1.5 points of its weight, over 10,000 visitors', async () => {
    const inRecs = await buckets('recs-2026-12');
    for (const weights of [
      [{ name: 'new', weight: 10 }],
      [{ name: 'new', weight: 50 }],
      [
        { name: 'a', weight: 20 },
        { name: 'b', weight: 30 },
      ],
    ]) {
      const arms = inRecs.map((bucket) => armOf(bucket, weights));
      for (const { name, weight } of weights) expect(Math.abs(share(arms, name) - weight)).toBeLessThanOrEqual(1.5);
      const rest = 100 - weights.reduce((sum, w) => sum + w.weight, 0);
      expect(Math.abs(share(arms, DEFAULT_ARM) - rest)).toBeLessThanOrEqual(1.5);
    }
  });

  it('gives a visitor the same bucket, so the same arm, on every repeat', async () => {
    const first = await buckets('recs-2026-12');
    const again = await buckets('recs-2026-12');
    expect(again).toEqual(first);
    expect(Math.min(...first)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...first)).toBeLessThan(BUCKETS);
  });

  it('keeps everyone in the new arm when its weight goes from 10 to 50 (monotone buckets)', async () => {
    const inRecs = await buckets('recs-2026-12');
    const before = inRecs.map((bucket) => armOf(bucket, [{ name: 'new', weight: 10 }]));
    const after = inRecs.map((bucket) => armOf(bucket, [{ name: 'new', weight: 50 }]));
    const stayed = before.filter((arm, i) => arm === 'new' && after[i] === 'new').length;
    expect(before.filter((arm) => arm === 'new').length).toBeGreaterThan(0);
    expect(stayed).toBe(before.filter((arm) => arm === 'new').length);
    // Whoever moved, moved into the new arm.
    expect(before.every((arm, i) => arm === after[i] || after[i] === 'new')).toBe(true);
  });

  it('assigns two experiments independently (χ² on the cross-tab, df 1, below 6.63: p > 0.01)', async () => {
    const a = (await buckets('recs-2026-12')).map((bucket) => armOf(bucket, [{ name: 'new', weight: 50 }]));
    const b = (await buckets('header-2026-12')).map((bucket) => armOf(bucket, [{ name: 'new', weight: 10 }]));
    const table = [
      [0, 0],
      [0, 0],
    ];
    a.forEach((arm, i) => {
      table[arm === 'new' ? 1 : 0][b[i] === 'new' ? 1 : 0]++;
    });
    const n = a.length;
    const rows = table.map((row) => row[0] + row[1]);
    const columns = [table[0][0] + table[1][0], table[0][1] + table[1][1]];
    let chi = 0;
    for (const r of [0, 1])
      for (const c of [0, 1]) {
        const expected = (rows[r] * columns[c]) / n;
        chi += (table[r][c] - expected) ** 2 / expected;
      }
    expect(chi).toBeLessThan(6.63);
    // The new arm of one is as common among the other's new arm as among its default arm.
    expect(Math.abs((100 * table[1][1]) / rows[1] - (100 * table[0][1]) / rows[0])).toBeLessThan(1.5);
  });

  it('lays the variants out from the first bucket in manifest order; the default arm takes the rest', () => {
    const weights = [
      { name: 'a', weight: 10 },
      { name: 'b', weight: 0.5 },
    ];
    expect([0, 999, 1000, 1049, 1050, 9999].map((bucket) => armOf(bucket, weights))).toEqual(['a', 'a', 'b', 'b', DEFAULT_ARM, DEFAULT_ARM]);
    expect(armOf(0, [{ name: 'a', weight: 0 }])).toBe(DEFAULT_ARM);
    expect(armOf(9999, [{ name: 'a', weight: 100 }])).toBe('a');
  });

  it('computes the bucket as documented: SHA-256 of "experiment:id", first four bytes, times 10,000 / 2^32', async () => {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('recs-2026-12:visitor-1')));
    const high = digest[0] * 2 ** 24 + digest[1] * 2 ** 16 + digest[2] * 2 ** 8 + digest[3];
    expect(await bucketOf('recs-2026-12', 'visitor-1')).toBe(Math.floor((high * 10_000) / 2 ** 32));
  });
});

describe('weight overrides from KV', () => {
  const experiment: ExperimentSpec = {
    name: 'recs',
    variants: [
      { name: 'new', weight: 10, fields: {} as never },
      { name: 'alt', weight: 5, fields: {} as never },
    ],
  };

  it('replaces the weights of the arms it names and keeps the others', () => {
    expect(parseOverride(experiment, '{"new": 50}')).toEqual([
      { name: 'new', weight: 50 },
      { name: 'alt', weight: 5 },
    ]);
    expect(parseOverride(experiment, '{"new": 0, "alt": 0}')).toEqual([
      { name: 'new', weight: 0 },
      { name: 'alt', weight: 0 },
    ]);
  });

  it('refuses a value that is not weights, saying why', () => {
    expect(parseOverride(experiment, 'fifty')).toBe('expected JSON such as {"new": 50}, got "fifty"');
    expect(parseOverride(experiment, '[50]')).toBe('expected a JSON object of arm → weight, got "[50]"');
    expect(parseOverride(experiment, '{"newer": 50}')).toBe('no arm "newer" (it has new, alt)');
    expect(parseOverride(experiment, '{"new": 101}')).toBe('expected a percentage from 0 to 100 in steps of 0.01 for "new", got 101');
    expect(parseOverride(experiment, '{"new": "50"}')).toBe('expected a percentage from 0 to 100 in steps of 0.01 for "new", got "50"');
    expect(parseOverride(experiment, '{"new": 96}')).toBe('expected weights that add up to at most 100, got 101');
  });
});
