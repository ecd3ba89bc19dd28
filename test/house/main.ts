/**
 * `npm run house`: the gateway's shape, counted from its imports. Exits 1 when
 * an arrow runs back up or files import one another in a cycle.
 */
import { fileURLToPath } from 'node:url';
import { houseReport } from './import-graph';

const report = houseReport(fileURLToPath(new URL('../../gateway', import.meta.url)));
const line = (label: string, value: string | number) => console.log(`${label.padEnd(22)} ${value}`);
line('lines', report.lines);
line('files', report.files);
line('rooms (stages)', report.rooms);
line('floors', report.floors);
line('arrows', report.arrows);
line('upward arrows', report.upwardArrows.length);
for (const [from, to] of report.upwardArrows) console.log(`  ${from} → ${to}`);
line('arrows off their floor', report.offFloorArrows.length);
for (const [from, to] of report.offFloorArrows) console.log(`  ${from} → ${to}`);
line('file cycles', report.fileCycles.length);
for (const cycle of report.fileCycles) console.log(`  ${cycle.join(' ↔ ')}`);
line('largest file', `${report.largestFile.file} (${report.largestFile.lines} lines)`);
process.exitCode = report.upwardArrows.length || report.offFloorArrows.length || report.fileCycles.length ? 1 : 0;
