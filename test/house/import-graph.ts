import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The gateway's import graph, read from the source text: every `import`,
 * `import type` and `export … from` between files under gateway/ (type imports
 * count: a type that points up ties the floors together as much as a value).
 * Folders are the rooms; an arrow is a folder importing another folder.
 */
export interface ImportGraph {
  /** File (relative to gateway/) → the files it imports. */
  files: Map<string, Set<string>>;
  lines: number;
}

const SPECIFIER = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

export function readImportGraph(root: string): ImportGraph {
  const files = new Map<string, Set<string>>();
  let lines = 0;
  for (const file of sourceFiles(root)) {
    const text = readFileSync(path.join(root, file), 'utf8');
    lines += text.split('\n').length;
    const imports = new Set<string>();
    for (const match of text.matchAll(SPECIFIER)) {
      const target = resolve(root, path.posix.join(path.posix.dirname(file), match[1] ?? match[2]));
      if (target) imports.add(target);
    }
    files.set(file, imports);
  }
  return { files, lines };
}

function sourceFiles(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, dir))) {
    const relative = dir ? `${dir}/${name}` : name;
    if (name === 'generated' || name === 'node_modules') continue;
    if (statSync(path.join(root, relative)).isDirectory()) out.push(...sourceFiles(root, relative));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative);
  }
  return out.sort();
}

function resolve(root: string, specifier: string): string | undefined {
  for (const candidate of [`${specifier}.ts`, specifier, `${specifier}/index.ts`]) {
    try {
      if (statSync(path.join(root, candidate)).isFile() && candidate.endsWith('.ts')) return path.posix.normalize(candidate);
    } catch {}
  }
  return undefined;
}

/** A file's room: its stage folder (the top folder under gateway/; a file at the top is a room of its own). */
export const roomOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : file);

/**
 * The floors, bottom first. A room imports only rooms on lower floors: never
 * one on its own floor, never one above. `fragments/` and `assemble/` share a
 * floor, so they meet only in `contract/` (below) and `page/` (above).
 * `manifest/` is build-time only: it may import the runtime's lower floors,
 * and nothing in the runtime imports it.
 */
export const FLOORS: readonly (readonly string[])[] = [
  // regex-engine.ts sits beside the entry because the runtime resolves its import against the entry's module.
  ['contract', 'lib', 'regex-engine.ts'],
  ['request'],
  ['markup', 'http', 'observe', 'manifest'],
  ['debug', 'fetch'],
  ['fragments', 'assemble'],
  ['page-cache'],
  ['page', 'admin'],
  ['gateway.ts'],
  ['index.ts'],
];

export function floorOf(room: string): number {
  const floor = FLOORS.findIndex((rooms) => rooms.includes(room));
  if (floor === -1) throw new Error(`gateway/${room} is on no floor: add it to FLOORS in test/house/import-graph.ts`);
  return floor;
}

export interface HouseReport {
  lines: number;
  files: number;
  rooms: number;
  /** Longest chain of rooms, counted after folding rooms that import one another into one. */
  floors: number;
  /** Distinct room → room imports. */
  arrows: number;
  /** Arrows A → B where B also reaches A: they run back up. */
  upwardArrows: Array<[string, string]>;
  /** Arrows to a room on the same floor or above, and runtime arrows into manifest/. */
  offFloorArrows: Array<[string, string]>;
  /** Groups of files that import one another, type imports included. */
  fileCycles: string[][];
  largestFile: { file: string; lines: number };
}

export function houseReport(root: string): HouseReport {
  const graph = readImportGraph(root);
  const rooms = new Map<string, Set<string>>();
  for (const [file, imports] of graph.files) {
    const from = roomOf(file);
    const targets = rooms.get(from) ?? new Set<string>();
    rooms.set(from, targets);
    for (const target of imports) if (roomOf(target) !== from) targets.add(roomOf(target));
  }
  const reaches = (from: string, to: string) => reachable(rooms, from).has(to);
  const upwardArrows: Array<[string, string]> = [];
  let arrows = 0;
  for (const [from, targets] of rooms) {
    for (const to of targets) {
      arrows++;
      if (reaches(to, from)) upwardArrows.push([from, to]);
    }
  }
  const offFloorArrows: Array<[string, string]> = [];
  for (const [from, targets] of rooms) {
    for (const to of targets) if (floorOf(to) >= floorOf(from) || (to === 'manifest' && from !== 'manifest')) offFloorArrows.push([from, to]);
  }
  const fileCycles = stronglyConnected(graph.files).filter((group) => group.length > 1 || graph.files.get(group[0])?.has(group[0]));
  let largestFile = { file: '', lines: 0 };
  for (const file of graph.files.keys()) {
    const lines = readFileSync(path.join(root, file), 'utf8').split('\n').length;
    if (lines > largestFile.lines) largestFile = { file, lines };
  }
  return {
    lines: graph.lines,
    files: graph.files.size,
    rooms: rooms.size,
    floors: floors(rooms),
    arrows,
    upwardArrows,
    offFloorArrows,
    fileCycles,
    largestFile,
  };
}

function reachable(graph: Map<string, Set<string>>, from: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.get(from) ?? [])];
  while (stack.length) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  return seen;
}

/** Tarjan's strongly connected components. */
function stronglyConnected(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indices.get(next)!));
    }
    if (low.get(node) === indices.get(node)) {
      const group: string[] = [];
      for (let member = stack.pop()!; ; member = stack.pop()!) {
        onStack.delete(member);
        group.push(member);
        if (member === node) break;
      }
      groups.push(group.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return groups;
}

/** Levels of the room graph once its cycles are folded: the longest chain of imports, in rooms. */
function floors(rooms: Map<string, Set<string>>): number {
  const groups = stronglyConnected(rooms);
  const groupOf = new Map<string, number>();
  groups.forEach((group, i) => {
    for (const room of group) groupOf.set(room, i);
  });
  const depth = new Map<number, number>();
  // Tarjan emits a component only after every component it reaches.
  groups.forEach((group, i) => {
    let deepest = 0;
    for (const room of group) for (const to of rooms.get(room) ?? []) if (groupOf.get(to) !== i) deepest = Math.max(deepest, depth.get(groupOf.get(to)!)!);
    depth.set(i, deepest + 1);
  });
  return Math.max(0, ...depth.values());
}
