/**
 * Workload 3 for the peers: four consumer groups created before the first message, each
 * reading everything on its own connection, while one pipelined producer (256 in flight)
 * writes `records` 1 KiB messages. Deliveries/s is the four readers' total over the window from
 * the producer's start to the last delivery, as for Tributary; the server's CPU is sampled
 * over the same window.
 */
import { cpuUseWindow, sleep, type CpuUse } from './bench-context.ts';
import type { PeerServer } from './peer-servers.ts';
import type { PeerSystem } from './peer-systems.ts';

export interface PeerFanoutRun {
  produced: number;
  deliveries: number;
  perGroup: number[];
  seconds: number;
  use: CpuUse;
}

export async function peerFanout(
  peer: PeerSystem,
  server: PeerServer,
  options: { records: number; groups: number },
): Promise<PeerFanoutRun> {
  const { client } = peer;
  const names = Array.from({ length: options.groups }, (_, index) => `g${index}`);
  for (const name of names) await client.createGroup(server.port, name);
  const reads = names.map((group) =>
    client.readGroup(server.port, { group, expect: options.records, timeoutMs: 120_000 }),
  );
  // Let every reader connect and send its first read before the clock starts.
  await sleep(300);
  const use = cpuUseWindow(server.pid);
  const startMs = performance.now();
  const produced = await client.load(server.port, {
    durationMs: 120_000,
    window: 256,
    maxRecords: options.records,
  });
  const results = await Promise.all(reads);
  const lastMs = Math.max(...results.map((result) => result.lastMs));
  return {
    produced: produced.acked,
    deliveries: results.reduce((sum, result) => sum + result.count, 0),
    perGroup: results.map((result) => result.count),
    seconds: (lastMs - startMs) / 1000,
    use: use(),
  };
}
