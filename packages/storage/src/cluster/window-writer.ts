/**
 * WindowWriter: the cluster mode's write-ahead log. Appends from every partition this broker
 * leads gather in one open window; a window is written as ONE object (the segment format of
 * docs/FORMATS.md: header, entry frames, index, footer) under a name no other broker or
 * incarnation can produce, then committed to the catalog in one transaction that checks each
 * partition's epoch and next offset. Only then do its appends resolve: an acknowledged batch is
 * in object storage and in the index (CLUSTER.md, invariant 2).
 *
 * Group commit: one window is in flight at a time; what arrives meanwhile forms the next window,
 * so the window grows with the load and an idle broker writes at once. A window holds at most
 * `windowMaxBytes` (one batch more when a single batch is larger), so objects stay below the
 * multipart threshold; the rest waits for the next window. What waits is bounded by what the
 * connections may have in flight (queued.max.requests x socket.request.max.bytes each).
 *
 * Zone routing adds two kinds of entries beside the leader's own batches: `stored` batches are
 * written into the window's object for a partition led by a broker of another zone, but not
 * committed here (the window's commit registers the object; the leader commits the batch later
 * by its location), and `pointer` entries are such a batch's location, committed by this leader
 * under its epoch with no bytes in this window's object.
 *
 * Failure: a failed upload or commit rejects that window's appends; a partition the catalog
 * fenced rejects with NOT_LEADER. The owner (ClusterLogStorage) rewinds the partitions involved
 * through `onFailed` before later appends of theirs can be written.
 */
import { buildCompactedObject } from '../partition-compaction.ts';
import type { ObjectStore } from '../object-store.ts';
import type { WalEntryInfo } from '../segment-format.ts';
import { StorageError, asStorageError } from '../storage-error.ts';
import { partitionKey, type StoredBatchLocation, type TopicId } from '../types.ts';
import type { WalAppend } from '../write-ahead-log.ts';
import type { ClusterCatalog, CommittedBatch, PartitionAppend } from './cluster-catalog.ts';

export interface WindowWriterOptions {
  catalog: ClusterCatalog;
  store: ObjectStore;
  clusterId: string;
  nodeId: number;
  /** This process's uuid: object names never repeat across restarts of one node id. */
  incarnation: string;
  /** Most bytes of batches one window (one object) holds. */
  windowMaxBytes: number;
  now: () => number;
  /** Called with the partitions of a window that failed (keys: partitionKey). */
  onFailed: (keys: ReadonlySet<string>, error: StorageError) => void;
  /** Called after each committed window with the object's id and name. */
  onCommitted: (objectId: number, name: string) => void;
}

interface PendingAppend {
  entry: WalAppend;
  /** own: bytes here, committed here; stored: bytes here only; pointer: committed here only. */
  kind: 'own' | 'stored' | 'pointer';
  location: StoredBatchLocation | undefined;
  leaderEpoch: number;
  resolve(info: WalEntryInfo): void;
  reject(error: unknown): void;
}

/** Object ids reserved per catalog round trip. */
const objectIdBlockSize = 256;
/** A record batch's header (magic 2), and where in it the partitionLeaderEpoch field is. */
const batchHeaderBytes = 61;
const partitionLeaderEpochPosition = 12;

export class WindowWriter {
  readonly #options: WindowWriterOptions;
  #open: PendingAppend[] = [];
  #openBytes = 0;
  #inFlight: Promise<void> | undefined;
  #ids = { next: 0, end: 0 };
  #closed = false;
  #windows = 0;

  constructor(options: WindowWriterOptions) {
    this.#options = options;
  }

  /** Windows written so far (tests, metrics). */
  get windowCount(): number {
    return this.#windows;
  }

  /**
   * A batch of a partition led here: written and committed in the next window. The batch is
   * stamped with the epoch it commits under (its partitionLeaderEpoch field, outside the CRC), so
   * every batch of the log, control and coordinator batches included, agrees with the epoch
   * history that OffsetForLeaderEpoch answers from.
   */
  append(entry: WalAppend, leaderEpoch: number): Promise<WalEntryInfo> {
    if (entry.batch.length >= batchHeaderBytes) {
      entry.batch.writeInt32BE(leaderEpoch, partitionLeaderEpochPosition);
    }
    return this.#enqueue(entry, 'own', undefined, leaderEpoch);
  }

  /** A batch for another zone's leader: written in the next window, committed by the leader. */
  store(entry: WalAppend): Promise<WalEntryInfo> {
    return this.#enqueue(entry, 'stored', undefined, -1);
  }

  /** A batch another broker stored: committed in the next window at `location`. */
  appendPointer(
    entry: WalAppend,
    location: StoredBatchLocation,
    leaderEpoch: number,
  ): Promise<WalEntryInfo> {
    return this.#enqueue(entry, 'pointer', location, leaderEpoch);
  }

  #enqueue(
    entry: WalAppend,
    kind: PendingAppend['kind'],
    location: StoredBatchLocation | undefined,
    leaderEpoch: number,
  ): Promise<WalEntryInfo> {
    if (this.#closed) return Promise.reject(new StorageError('CLOSED', 'storage is closed'));
    return new Promise((resolve, reject) => {
      this.#open.push({ entry, kind, location, leaderEpoch, resolve, reject });
      this.#openBytes += entry.batch.length;
      this.#schedule();
    });
  }

  /**
   * Rejects the open (not yet written) appends of the partitions in `keys` with `error`: their
   * offsets follow a window that failed, or the partition is no longer led here.
   */
  dropOpen(keys: ReadonlySet<string>, error: StorageError): void {
    const kept: PendingAppend[] = [];
    for (const pending of this.#open) {
      const key = partitionKey(pending.entry.topicId, pending.entry.partition);
      if (keys.has(key)) pending.reject(error);
      else kept.push(pending);
    }
    this.#open = kept;
    this.#openBytes = kept.reduce((sum, pending) => sum + pending.entry.batch.length, 0);
  }

  /** Resolves once the window in flight and every open append have been written or failed. */
  async drain(): Promise<void> {
    while (this.#inFlight !== undefined || this.#open.length > 0) {
      this.#schedule();
      await this.#inFlight;
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#inFlight !== undefined || this.#open.length === 0) return;
    let count = 0;
    let bytes = 0;
    for (const pending of this.#open) {
      if (count > 0 && bytes + pending.entry.batch.length > this.#options.windowMaxBytes) break;
      bytes += pending.entry.batch.length;
      count++;
    }
    const window = this.#open.slice(0, count);
    this.#open = this.#open.slice(count);
    this.#openBytes -= bytes;
    this.#inFlight = this.#write(window).finally(() => {
      this.#inFlight = undefined;
      this.#schedule();
    });
  }

  /** Bytes of batches waiting for a window (tests, metrics). */
  get waitingBytes(): number {
    return this.#openBytes;
  }

  async #write(window: PendingAppend[]): Promise<void> {
    const { catalog, store } = this.#options;
    try {
      const objectId = await this.#nextObjectId();
      const name = this.#objectName(objectId);
      const written = window.filter((pending) => pending.kind !== 'pointer');
      const built = buildCompactedObject(
        objectId,
        this.#options.now(),
        written.map(({ entry }) => ({ fields: fieldsOf(entry), batch: entry.batch })),
      );
      const infos = new Map<PendingAppend, WalEntryInfo>();
      written.forEach((pending, i) => infos.set(pending, built.infos[i] as WalEntryInfo));
      for (const pending of window) {
        if (pending.kind === 'pointer') infos.set(pending, pointerInfoOf(pending));
      }
      if (written.length > 0) await store.put(name, built.bytes);
      const committed = window.filter((pending) => pending.kind !== 'stored');
      const outcome = await catalog.commitWindow({
        objectId,
        objectName: name,
        sizeBytes: written.length > 0 ? built.bytes.length : 0,
        nodeId: this.#options.nodeId,
        partitions: partitionAppendsOf(committed, infos),
      });
      this.#windows++;
      this.#options.onCommitted(objectId, name);
      const fenced = new Set(outcome.fenced.map((p) => partitionKey(p.topicId, p.partition)));
      const refused = (pending: PendingAppend): boolean =>
        pending.kind !== 'stored' && fenced.has(keyOf(pending));
      if (fenced.size > 0) {
        this.#fail(
          window.filter(refused),
          new StorageError('NOT_LEADER', 'this broker is no longer the leader of the partition'),
        );
      }
      for (const pending of window) {
        if (!refused(pending)) pending.resolve(infos.get(pending) as WalEntryInfo);
      }
    } catch (error: unknown) {
      const failure = asStorageError(error, 'writing a WAL object');
      const stored = window.filter((pending) => pending.kind === 'stored');
      for (const pending of stored) pending.reject(failure);
      this.#fail(
        window.filter((pending) => pending.kind !== 'stored'),
        failure,
      );
    }
  }

  #fail(pending: readonly PendingAppend[], error: StorageError): void {
    if (pending.length === 0) return;
    const keys = new Set(pending.map(keyOf));
    for (const one of pending) one.reject(error);
    // Later appends of these partitions hold offsets after the failed ones: reject them too.
    this.dropOpen(keys, error);
    this.#options.onFailed(keys, error);
  }

  async #nextObjectId(): Promise<number> {
    if (this.#ids.next >= this.#ids.end) {
      const first = await this.#options.catalog.allocateObjectIds(objectIdBlockSize);
      this.#ids = { next: first, end: first + objectIdBlockSize };
    }
    return this.#ids.next++;
  }

  /** `<cluster>/<node>/<incarnation>/<object id>`: unique across brokers and restarts. */
  #objectName(objectId: number): string {
    const { clusterId, nodeId, incarnation } = this.#options;
    return `${clusterId}/${nodeId}/${incarnation}/${String(objectId).padStart(12, '0')}`;
  }
}

/** The index facts of a pointer entry: its offsets here, its bytes where another broker put them. */
function pointerInfoOf(pending: PendingAppend): WalEntryInfo {
  const location = pending.location as StoredBatchLocation;
  const fields = fieldsOf(pending.entry);
  return {
    ...fields,
    entryVersion: location.entryVersion,
    segmentId: location.objectId,
    position: location.position,
    sizeBytes: location.sizeBytes,
  };
}

function keyOf(pending: PendingAppend): string {
  return partitionKey(pending.entry.topicId, pending.entry.partition);
}

function fieldsOf(entry: WalAppend) {
  const { meta } = entry;
  return {
    topicId: entry.topicId,
    partition: entry.partition,
    baseOffset: entry.baseOffset,
    lastOffsetDelta: meta.lastOffsetDelta,
    maxTimestamp: meta.maxTimestamp,
    recordCount: meta.recordCount,
    producerId: meta.producer?.producerId ?? -1n,
    producerEpoch: meta.producer?.producerEpoch ?? -1,
    baseSequence: meta.producer?.baseSequence ?? -1,
    txn: meta.txn,
  };
}

/** The window's batches grouped by partition, in append order, as the catalog commits them. */
function partitionAppendsOf(
  window: readonly PendingAppend[],
  infos: ReadonlyMap<PendingAppend, WalEntryInfo>,
): PartitionAppend[] {
  const byKey = new Map<string, PartitionAppend>();
  for (const pending of window) {
    const info = infos.get(pending) as WalEntryInfo;
    const key = keyOf(pending);
    const batch = committedBatchOf(info);
    const existing = byKey.get(key);
    if (existing === undefined) {
      byKey.set(key, {
        topicId: info.topicId as TopicId,
        partition: info.partition,
        leaderEpoch: pending.leaderEpoch,
        baseOffset: info.baseOffset,
        nextOffset: batch.lastOffset + 1n,
        batches: [batch],
      });
    } else {
      existing.batches.push(batch);
      existing.nextOffset = batch.lastOffset + 1n;
    }
  }
  return [...byKey.values()];
}

export function committedBatchOf(info: WalEntryInfo): CommittedBatch {
  return {
    topicId: info.topicId,
    partition: info.partition,
    baseOffset: info.baseOffset,
    lastOffset: info.baseOffset + BigInt(info.lastOffsetDelta),
    maxTimestamp: info.maxTimestamp,
    recordCount: info.recordCount,
    producerId: info.producerId,
    producerEpoch: info.producerEpoch,
    baseSequence: info.baseSequence,
    txn: info.txn,
    entryVersion: info.entryVersion,
    objectId: info.segmentId,
    position: info.position,
    sizeBytes: info.sizeBytes,
  };
}

/** The WalEntryInfo form of a committed batch (what a partition log restores). */
export function entryInfoOf(batch: CommittedBatch): WalEntryInfo {
  return {
    topicId: batch.topicId,
    partition: batch.partition,
    baseOffset: batch.baseOffset,
    lastOffsetDelta: Number(batch.lastOffset - batch.baseOffset),
    maxTimestamp: batch.maxTimestamp,
    recordCount: batch.recordCount,
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    txn: batch.txn,
    entryVersion: batch.entryVersion,
    segmentId: batch.objectId,
    position: batch.position,
    sizeBytes: batch.sizeBytes,
  };
}
