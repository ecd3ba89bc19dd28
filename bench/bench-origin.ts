import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { checkManifest } from '../cli/load-manifests';
import { assembleManifests } from '../gateway/manifest/compile';
import type { CompiledManifests } from '../gateway/types';

/**
 * The benchmarks' origin on 127.0.0.1: one page of about `pageKb` KB with a
 * data-slot per fragment, and fragment endpoints answering after their
 * injected latency. The manifest that assembles it comes along.
 */
export interface BenchOriginOptions {
  originMs: number;
  fragmentMs: number[];
  pageKb: number;
  /** The fragments' ttl in the manifest (default: not cached). */
  fragmentTtl?: string;
}

export interface BenchOrigin {
  url: string;
  page: string;
  manifests: CompiledManifests;
  /** Fragment requests the origin has answered. */
  fragmentFetches(): number;
  close(): Promise<void>;
}

/** The baseline Worker the gateway is measured against. */
export const PASS_THROUGH_ENTRY = fileURLToPath(new URL('./pass-through.worker.ts', import.meta.url));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FILLER = `<p>${'lorem ipsum dolor sit amet '.repeat(37)}</p>\n`; // ~1 KB

export async function startBenchOrigin({ originMs, fragmentMs, pageKb, fragmentTtl }: BenchOriginOptions): Promise<BenchOrigin> {
  let fragmentFetches = 0;
  const page =
    `<!doctype html><html><head><title>bench</title></head><body>\n` +
    fragmentMs.map((_, i) => `${FILLER.repeat(Math.floor(pageKb / Math.max(1, fragmentMs.length)))}<div data-slot="f${i}">fallback</div>\n`).join('') +
    `</body></html>`;
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://bench');
    const fragment = /^\/frag\/(\d+)$/.exec(url.pathname);
    if (fragment) {
      fragmentFetches++;
      await sleep(fragmentMs[Number(fragment[1])]);
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<span>fragment ${fragment[1]}</span>`);
    }
    await sleep(originMs);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const ttl = fragmentTtl ? `, ttl: ${fragmentTtl}` : '';
  const manifest = `route: /page\nfragments:${fragmentMs.length ? '\n' : ' {}\n'}${fragmentMs.map((_, i) => `  f${i}: { src: /frag/${i}, timeout: 2s${ttl} }\n`).join('')}`;
  const { route, diagnostics } = checkManifest(manifest, 'bench.yaml', 'bench');
  if (!route) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    page,
    manifests: assembleManifests([route]),
    fragmentFetches: () => fragmentFetches,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
