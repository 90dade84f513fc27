/**
 * A second Tributary broker, the same build and settings, with its data directory on tmpfs
 * (/dev/shm), where fdatasync returns at once. Measured beside the broker on the disk, its rows
 * show what waiting for the disk costs an acknowledged record: the rest of a latency figure is
 * the broker's own path. It is a measurement, not a durable setup (docs/adr/0005).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './bench-context.ts';
import { startBrokerChild, type BrokerChild } from './broker-child.ts';

/** The system column of the tmpfs broker's rows. */
export const tmpfsSystem = 'tributary, data on tmpfs (no disk sync)';

/** /dev/shm when it is a tmpfs mount, else undefined. */
function tmpfsParent(): string | undefined {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8');
    return /^\S+ \/dev\/shm tmpfs /m.test(mounts) ? '/dev/shm' : undefined;
  } catch {
    return undefined;
  }
}

/** A started tmpfs broker and how to end it (its data goes with it). */
export interface TmpfsBroker {
  broker: BrokerChild;
  stop(): Promise<void>;
}

/** Starts the tmpfs broker, or logs why not and gives undefined (no tmpfs, failed start). */
export async function startTmpfsBroker(
  context: BenchContext,
  workload: string,
): Promise<TmpfsBroker | undefined> {
  const parent = tmpfsParent();
  if (parent === undefined) {
    context.log(`${workload}: /dev/shm is not a tmpfs mount, no tmpfs broker`);
    return undefined;
  }
  const dataDir = mkdtempSync(join(parent, 'tributary-bench-'));
  try {
    const broker = await startBrokerChild(dataDir);
    return {
      broker,
      stop: async () => {
        await broker.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error: unknown) {
    rmSync(dataDir, { recursive: true, force: true });
    context.log(`${workload}: the tmpfs broker did not start: ${String(error)}`);
    return undefined;
  }
}
