import { inspect } from './inspector';

/**
 * Reads the Worker's JS heap through workerd's V8 inspector: an upper bound on
 * what the isolate holds (garbage included; workerd does not answer
 * HeapProfiler.collectGarbage), as opposed to what the process keeps resident.
 */
export async function jsHeap(inspectorPort: number): Promise<{ usedMiB: number; totalMiB: number }> {
  const session = await inspect(inspectorPort);
  try {
    const { usedSize, totalSize } = (await session.call('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number };
    return { usedMiB: usedSize / 2 ** 20, totalMiB: totalSize / 2 ** 20 };
  } finally {
    session.close();
  }
}
