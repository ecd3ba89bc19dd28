import { parseDuration } from '../lib/duration';
import { DEFAULT_TIMEOUTS } from './compile';

/**
 * What is valid in a manifest but probably not meant: `tessera validate`
 * prints these as warnings and still passes. They are read from the manifest
 * as written (compiling loses whether a duration had a unit).
 */
export interface ManifestWarning {
  /** Where, as in the YAML: `['fragments', 'recs', 'timeout']`. */
  path: (string | number)[];
  message: string;
}

/** A bare number of seconds above this, for a timeout, is more likely meant as milliseconds. */
const SUSPICIOUS_TIMEOUT_S = 60;

export function manifestWarnings(manifest: unknown): ManifestWarning[] {
  if (!isObject(manifest)) return [];
  const warnings: ManifestWarning[] = [];
  const timeouts = isObject(manifest.timeouts) ? manifest.timeouts : {};
  const pageMs = parseDuration(timeouts.page) ?? DEFAULT_TIMEOUTS.pageMs;
  const fragmentTimeout = (path: (string | number)[], value: unknown) => {
    const ms = parseDuration(value);
    if (ms === undefined) return;
    if (bareSeconds(value) && Number(value) > SUSPICIOUS_TIMEOUT_S) {
      warnings.push({
        path,
        message: `${value} is a number of seconds (${describe(ms)})${ms > pageMs ? `, longer than the page deadline (timeouts.page, ${describe(pageMs)})` : ''}: write ${value}ms if you meant milliseconds`,
      });
    } else if (ms > pageMs) {
      warnings.push({
        path,
        message: `${describe(ms)} is longer than the page deadline (timeouts.page, ${describe(pageMs)}): the page ends before this timeout could fire`,
      });
    }
  };
  if (isObject(manifest.defaults)) fragmentTimeout(['defaults', 'timeout'], manifest.defaults.timeout);
  if (isObject(manifest.fragments)) {
    for (const [id, fragment] of Object.entries(manifest.fragments)) if (isObject(fragment)) fragmentTimeout(['fragments', id, 'timeout'], fragment.timeout);
  }
  for (const key of ['origin', 'originIdle', 'page']) {
    const value = timeouts[key];
    const ms = parseDuration(value);
    if (ms !== undefined && bareSeconds(value) && Number(value) > SUSPICIOUS_TIMEOUT_S) {
      warnings.push({ path: ['timeouts', key], message: `${value} is a number of seconds (${describe(ms)}): write ${value}ms if you meant milliseconds` });
    }
  }
  return warnings;
}

function bareSeconds(value: unknown): boolean {
  return typeof value === 'number' || (typeof value === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(value));
}

function describe(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
