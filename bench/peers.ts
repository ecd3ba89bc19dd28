import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processCpuMs } from './workerd-serve';

/**
 * The composition engines Tessera is compared with, each a Node server of its
 * own in front of the bench origin. They live in bench/peers with their own
 * package.json, installed there on first use, so they never enter the
 * project's install.
 */
export interface PeerServer {
  name: string;
  /** The page it assembles, on its own server. */
  pageUrl: string;
  pid: number;
  cpuMs(): number;
  close(): Promise<void>;
}

const PEERS_DIR = fileURLToPath(new URL('./peers/', import.meta.url));
const PEERS = [
  { name: 'Zalando Tailor (Node)', script: 'tailor-server.cjs', page: '/tailor' },
  { name: 'nodesi (Node)', script: 'nodesi-server.cjs', page: '/esi-found' },
];

/** Starts every peer; a peer that cannot be installed or started is reported and left out. */
export async function startPeers(origin: string): Promise<PeerServer[]> {
  if (!existsSync(path.join(PEERS_DIR, 'node_modules'))) {
    console.log('installing the peers in bench/peers (once)…');
    try {
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: PEERS_DIR, stdio: 'inherit' });
    } catch (error) {
      console.log(`peers left out: npm install in bench/peers failed (${error instanceof Error ? error.message : error})`);
      return [];
    }
  }
  const started: PeerServer[] = [];
  for (const peer of PEERS) {
    try {
      started.push(await startPeer(peer.name, peer.script, peer.page, origin));
    } catch (error) {
      console.log(`${peer.name} left out: ${error instanceof Error ? error.message : error}`);
    }
  }
  return started;
}

async function startPeer(name: string, script: string, page: string, origin: string): Promise<PeerServer> {
  const child = spawn(process.execPath, [path.join(PEERS_DIR, script)], {
    cwd: PEERS_DIR,
    env: { ...process.env, ORIGIN: origin },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('did not start within 10s')), 10_000);
    child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line).port);
    });
  });
  const pid = child.pid as number;
  return {
    name,
    pageUrl: `http://127.0.0.1:${port}${page}`,
    pid,
    cpuMs: () => processCpuMs(pid),
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
