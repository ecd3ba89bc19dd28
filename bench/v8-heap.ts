import WebSocket from 'ws';

/**
 * Reads the Worker's JS heap through workerd's V8 inspector: an upper bound on
 * what the isolate holds (garbage included; workerd does not answer
 * HeapProfiler.collectGarbage), as opposed to what the process keeps resident.
 */
export async function jsHeap(inspectorPort: number): Promise<{ usedMiB: number; totalMiB: number }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ id: string; webSocketDebuggerUrl: string }>;
  // Miniflare names the user Worker `core:user:…`; the others are its own plumbing.
  const target = targets.find((t) => t.id.startsWith('core:user')) ?? targets[0];
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let id = 0;
  const call = (method: string) =>
    new Promise<Record<string, number>>((resolve) => {
      const mine = ++id;
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(String(data));
        if (message.id !== mine) return;
        socket.off('message', onMessage);
        resolve(message.result ?? {});
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id: mine, method }));
    });
  try {
    const { usedSize, totalSize } = await call('Runtime.getHeapUsage');
    return { usedMiB: usedSize / 2 ** 20, totalMiB: totalSize / 2 ** 20 };
  } finally {
    socket.close();
  }
}
