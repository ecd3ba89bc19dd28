import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { houseReport } from './import-graph';

const report = houseReport(fileURLToPath(new URL('../../gateway', import.meta.url)));

describe('the gateway as a one-way house', () => {
  it('has every stage import only stages on floors below its own, type imports included', () => {
    expect(report.offFloorArrows).toEqual([]);
  });

  it('has no arrow that runs back up, and no files that import one another', () => {
    expect(report.upwardArrows).toEqual([]);
    expect(report.fileCycles).toEqual([]);
  });
});
