/**
 * Durations in manifests: `150ms`, `30s`, `5m`, `6h`, `1d`, or a plain number
 * of seconds. Manifests are compiled to milliseconds at build time; the
 * Worker parses only an include's own `ttl` attribute, per request.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

export const DURATION_HINT = 'a duration like "300ms", "30s", "5m", "6h", "1d" or a number of seconds';

/** Milliseconds, or `undefined` when the value is not a duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const match = DURATION.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[match[2]]);
}

/**
 * A duration the schema has already validated, in milliseconds; `fallback`
 * when the field is absent. A value that slipped past the schema is a bug, so
 * it throws rather than turning into a silent default.
 */
export function durationMs(value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === undefined) throw new Error(`not a duration: ${JSON.stringify(value)}`);
  return ms;
}
