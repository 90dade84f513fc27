/**
 * ObjectCollector: deletes the WAL objects of a cluster that the log no longer needs
 * (docs/adr/0012-cluster-object-gc.md; objects are immutable and deleted two-phase). One
 * broker runs it at a time (the caller's `active`: the holder of a fixed lease); a pass, every
 * `intervalMs`:
 *
 * 1. when log starts moved or topics went (a notice since the last pass), the index rows below
 *    every log start are deleted, so objects holding only those become unreferenced;
 * 2. object rows with no batch row are marked (the database's now());
 * 3. rows marked at least `deleteDelayMs` ago and still unreferenced are removed in one locked
 *    transaction, then their objects deleted from the bucket. The delay covers readers that
 *    already hold an object's location and zone-routed batches not yet committed by their leader;
 * 4. a bounded slice of the bucket under the cluster's prefix is listed (resuming where the last
 *    pass stopped): objects with no row, older than `orphanMinAgeMs` by the database's clock, are
 *    adopted (a row claims the name, already marked) and so go through step 3 in a later pass;
 *    objects whose row is a tombstone (deleted once, still listed) are deleted again.
 *
 * An object is deleted from the bucket only after its row left the index in step 3, so a crash
 * anywhere leaves at worst an orphan, which step 4 finds. Two collectors running at once (a lease
 * changing hands) are safe: the row locks give each row to one of them and deletes are idempotent.
 */
import type { ObjectStore } from '../object-store.ts';
import type { ClusterCatalog, CollectedObject } from './cluster-catalog.ts';
import type { LeaseKeeperLog } from './lease-keeper.ts';

export interface ObjectCollectorSettings {
  /** `cluster.object.delete.delay.ms`: grace between marking an object and deleting it. */
  deleteDelayMs: number;
  /** `cluster.orphan.object.min.age.ms`: an object with no row is an orphan from this age. */
  orphanMinAgeMs: number;
  /** `cluster.object.gc.interval.ms`: time between passes. */
  intervalMs: number;
  /** `cluster.object.gc.max.objects.per.pass`: objects marked, deleted and adopted per pass. */
  maxObjectsPerPass: number;
}

export const objectCollectorDefaults: ObjectCollectorSettings = {
  deleteDelayMs: 10 * 60_000,
  orphanMinAgeMs: 60 * 60_000,
  intervalMs: 60_000,
  maxObjectsPerPass: 1_000,
};

export interface ObjectCollectorOptions {
  catalog: ClusterCatalog;
  store: ObjectStore;
  clusterId: string;
  settings: ObjectCollectorSettings;
  /** Whether this broker is the collector now. */
  active: () => boolean;
  log?: LeaseKeeperLog;
}

/** Totals since start (metrics). */
export interface ObjectCollectionStats {
  passes: number;
  /** Objects deleted from the bucket, and their bytes. */
  objectsDeleted: number;
  bytesDeleted: number;
  /** Object rows marked unreferenced. */
  objectsMarked: number;
  /** Orphans adopted (each is deleted after the grace delay, counted in objectsDeleted). */
  orphansAdopted: number;
  /** Bucket deletes that failed (the object stays an orphan and is retried). */
  deleteFailures: number;
}

export interface PassResult {
  marked: number;
  deleted: number;
  bytes: number;
  adopted: number;
  listed: number;
}

/** Bucket keys one pass lists at most, as multiples of the objects limit (pages of 1000). */
const listedKeysPerObject = 10;
/** S3 returns at most this many keys per page. */
const maxKeysPerPage = 1_000;

export class ObjectCollector {
  readonly #options: ObjectCollectorOptions;
  readonly #stats: ObjectCollectionStats = {
    passes: 0,
    objectsDeleted: 0,
    bytesDeleted: 0,
    objectsMarked: 0,
    orphansAdopted: 0,
    deleteFailures: 0,
  };
  /** Where the orphan scan resumes; undefined: from the start of the prefix. */
  #scanAfter: string | undefined;
  /** Log starts moved or topics were deleted since the last pass (true at start). */
  #logStartsMoved = true;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<PassResult | undefined> | undefined;
  #stopped = false;

  constructor(options: ObjectCollectorOptions) {
    this.#options = options;
  }

  get stats(): Readonly<ObjectCollectionStats> {
    return this.#stats;
  }

  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.runPass().catch(() => undefined), this.interval);
    this.#timer.unref();
  }

  get interval(): number {
    return this.#options.settings.intervalMs;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** Topics changed or log starts moved: the next pass deletes the index rows below them. */
  logStartsMoved(): void {
    this.#logStartsMoved = true;
  }

  /** One pass if this broker is the collector and none is running; undefined otherwise. */
  runPass(): Promise<PassResult | undefined> {
    if (this.#stopped || this.#running !== undefined || !this.#options.active()) {
      return Promise.resolve(undefined);
    }
    this.#running = this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #pass(): Promise<PassResult> {
    const { catalog, settings } = this.#options;
    if (this.#logStartsMoved) {
      this.#logStartsMoved = false;
      try {
        await catalog.deleteBatchesBelowLogStart();
      } catch (error: unknown) {
        this.#logStartsMoved = true;
        throw error;
      }
    }
    const marked = await catalog.markUnreferencedObjects(settings.maxObjectsPerPass);
    const collected = await catalog.collectMarkedObjects(
      settings.deleteDelayMs,
      settings.maxObjectsPerPass,
    );
    const removed = await this.#deleteAll(collected);
    const scan = await this.#scanForOrphans();
    const result: PassResult = {
      marked,
      deleted: removed.count + scan.redeleted.count,
      bytes: removed.bytes + scan.redeleted.bytes,
      adopted: scan.adopted,
      listed: scan.listed,
    };
    this.#stats.passes += 1;
    this.#stats.objectsMarked += marked;
    this.#stats.orphansAdopted += scan.adopted;
    if (result.deleted > 0 || result.adopted > 0) {
      this.#options.log?.info(
        `cluster: object gc deleted ${result.deleted} objects (${result.bytes} bytes), ` +
          `marked ${marked} unreferenced, adopted ${scan.adopted} orphans`,
        { ...result },
      );
    }
    return result;
  }

  /** Deletes objects from the bucket; a failure leaves an orphan that a later scan finds. */
  async #deleteAll(
    objects: readonly Pick<CollectedObject, 'name' | 'sizeBytes'>[],
  ): Promise<{ count: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    for (const object of objects) {
      try {
        await this.#options.store.delete(object.name);
      } catch (error: unknown) {
        this.#stats.deleteFailures += 1;
        this.#options.log?.warn(`cluster: object gc could not delete ${object.name}`, {
          error: String(error),
        });
        continue;
      }
      count += 1;
      bytes += object.sizeBytes;
    }
    this.#stats.objectsDeleted += count;
    this.#stats.bytesDeleted += bytes;
    return { count, bytes };
  }

  /**
   * Lists up to a bounded number of keys under `<clusterId>/` from where the last scan stopped
   * (wrapping round at the end) and hands each page to the catalog, which adopts the orphans.
   */
  async #scanForOrphans(): Promise<{
    listed: number;
    adopted: number;
    redeleted: { count: number; bytes: number };
  }> {
    const { store, catalog, clusterId, settings } = this.#options;
    const outcome = { listed: 0, adopted: 0, redeleted: { count: 0, bytes: 0 } };
    if (store.listPage === undefined) return outcome;
    const prefix = `${clusterId}/`;
    const budget = settings.maxObjectsPerPass * listedKeysPerObject;
    while (outcome.listed < budget && outcome.adopted < settings.maxObjectsPerPass) {
      const page = await store.listPage({
        prefix,
        ...(this.#scanAfter === undefined ? {} : { startAfter: this.#scanAfter }),
        maxKeys: Math.min(maxKeysPerPage, budget - outcome.listed),
      });
      const slice = page.objects.slice(0, settings.maxObjectsPerPass - outcome.adopted);
      outcome.listed += slice.length;
      const found = await catalog.reconcileListedObjects(clusterId, slice, settings.orphanMinAgeMs);
      outcome.adopted += found.adopted.length;
      const sizes = new Map(page.objects.map((object) => [object.name, object.sizeBytes]));
      const again = await this.#deleteAll(
        found.tombstones.map((name) => ({ name, sizeBytes: sizes.get(name) ?? 0 })),
      );
      outcome.redeleted.count += again.count;
      outcome.redeleted.bytes += again.bytes;
      const more = page.truncated || slice.length < page.objects.length;
      this.#scanAfter = more ? slice.at(-1)?.name : undefined;
      if (this.#scanAfter === undefined) break;
    }
    return outcome;
  }
}
