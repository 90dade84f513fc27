/**
 * The coordinators' durable logs (`__consumer_offsets`, `__transaction_state`): keyed records in
 * ordinary record batches on one compacted partition. Appending resolves once the batch is
 * durable, which is what lets a coordinator answer only after its records are safe; replaying
 * reads the partition from its start in order and hands each keyed record back, skipping control
 * batches and keyless records.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { buildRecordBatch, decodeRecords, readBatchHeader } from '@tributary/protocol';
import type { BrokerStorage, PartitionLog } from '@tributary/storage';
import type { Logger } from './logger.ts';

export interface KeyedRecord {
  readonly key: Buffer;
  /** null is a tombstone: compaction later drops the key. */
  readonly value: Buffer | null;
}

/** Bytes read per step while replaying. */
const replayReadMaxBytes = 1024 * 1024;
/** A coordinator's first load attempt that fails is tried again after this long (ms)... */
export const coordinatorLoadRetryBaseMs = 200;
/** ...doubling up to this pause between attempts (ms). */
export const coordinatorLoadRetryMaxMs = 5_000;

function appendKeyedRecords(
  log: PartitionLog,
  records: readonly KeyedRecord[],
  nowMs: number,
): Promise<unknown> {
  const timestamp = BigInt(nowMs);
  const batch = buildRecordBatch({
    records: records.map((record) => ({ key: record.key, value: record.value, timestamp })),
  });
  return log.append(batch, {
    lastOffsetDelta: records.length - 1,
    maxTimestamp: timestamp,
    recordCount: records.length,
  });
}

/**
 * Appends keyed records in call order and resolves each append only once it and every earlier
 * one are durable, which is when a coordinator may answer for them. An append with no records
 * still waits for the earlier ones. A failed append fails only its own callers.
 */
export class OrderedAppender {
  #durable: Promise<unknown> = Promise.resolve();

  append(log: PartitionLog, records: readonly KeyedRecord[], nowMs: number): Promise<unknown> {
    const ready =
      records.length === 0
        ? this.#durable
        : Promise.all([this.#durable, appendKeyedRecords(log, records, nowMs)]);
    this.#durable = ready.catch(() => undefined);
    return ready;
  }

  /** Settles once every append so far has (for close). */
  settled(): Promise<unknown> {
    return this.#durable;
  }
}

/** The internal topic's one compacted partition, created on first start. */
export async function openInternalLog(storage: BrokerStorage, name: string): Promise<PartitionLog> {
  const topic =
    storage.getTopic(name) ??
    (await storage.createTopic({
      name,
      partitionCount: 1,
      configs: { 'cleanup.policy': 'compact' },
    }));
  const log = storage.partition(topic.topicId, 0);
  if (log === undefined) throw new Error(`${name} has no partition 0`);
  return log;
}

/** Calls `onRecord` for every keyed record up to the high watermark; returns how many. */
export async function replayKeyedRecords(
  log: PartitionLog,
  maxDecompressedBytes: number,
  onRecord: (key: Buffer, value: Buffer | null) => void,
): Promise<number> {
  let offset = log.logStartOffset;
  let count = 0;
  const end = log.highWatermark;
  while (offset < end) {
    const batches = await log.read(offset, replayReadMaxBytes);
    if (batches.length === 0) break;
    for (const batch of batches) {
      const header = readBatchHeader(batch);
      offset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
      if (header.isControl) continue;
      for (const record of decodeRecords(batch, { maxDecompressedBytes })) {
        if (record.key === null) continue;
        onRecord(record.key, record.value);
        count++;
      }
    }
  }
  return count;
}

/**
 * Runs a coordinator's `load` until it succeeds or `signal` aborts (the runtime closed). A load
 * fails on what a new lease holder may meet for a while (an object store or metadata store not
 * answering, a broker restarting); giving up after one attempt left the coordinator refusing
 * every request as loading until its lease moved again. `load` must start from scratch each
 * time. Each failure is logged as "loading <what> failed; trying again" with its attempt number.
 */
export async function loadUntilDone(
  load: () => Promise<void>,
  options: { readonly signal: AbortSignal; readonly log: Logger; readonly what: string },
): Promise<void> {
  const { signal } = options;
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await load();
      return;
    } catch (error: unknown) {
      if (signal.aborted) return;
      options.log.error(`loading ${options.what} failed; trying again`, {
        error: String(error),
        attempt,
      });
    }
    const pauseMs = coordinatorLoadRetryBaseMs * 2 ** (attempt - 1);
    await sleep(Math.min(coordinatorLoadRetryMaxMs, pauseMs), undefined, { signal }).catch(
      () => undefined,
    );
  }
}
