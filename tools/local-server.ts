import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Helpers the end-to-end tests and the benchmarks share to run a real gateway on 127.0.0.1. */

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const quietIo = (cwd: string) => {
  const log: string[] = [];
  return { log, io: { out: { write: (t: string) => log.push(t) }, err: { write: (t: string) => log.push(t) }, cwd } };
};
