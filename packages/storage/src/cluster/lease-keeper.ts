/**
 * LeaseKeeper: one broker's side of membership and partition leadership. A pass runs every third
 * of the lease time and whenever a notice says leases or topics changed:
 *
 * 1. heartbeat (this broker stays in the live set), then read the live brokers;
 * 2. renew every lease held; a partition led here whose lease is gone (or has another epoch) is
 *    demoted at once — its next commit would be fenced anyway (CLUSTER.md, invariant 1);
 * 3. move towards this broker's share: the partitions spread evenly over the live brokers
 *    ordered by node id (the first `total % live` brokers take one more). Short of it, claim
 *    free or expired leases; over it, and only while another live broker is short, hand leases
 *    off cleanly: stop appending, let the window in flight finish, release (epoch-checked).
 *
 * Passes never overlap. A failed pass is logged and retried by the next; a broker that cannot
 * renew loses its leases by expiry, which is the point.
 */
import { StorageError } from '../storage-error.ts';
import { partitionKey } from '../types.ts';
import type { BrokerRegistration, ClusterCatalog, PartitionLease } from './cluster-catalog.ts';

export interface LeaseKeeperLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface LeaseKeeperOptions {
  catalog: ClusterCatalog;
  nodeId: number;
  incarnation: string;
  rack: string | null;
  leaseMs: number;
  log?: LeaseKeeperLog;
  /** The epoch of the lease this broker holds for a partition, undefined if it leads none. */
  leaderEpochOf(key: string): number | undefined;
  /** The partitions this broker leads now (partitionKey form). */
  ledKeys(): Iterable<string>;
  promote(lease: PartitionLease): Promise<void>;
  demote(key: string): void;
  /** Resolves once every append handed to the writer so far is committed or failed. */
  drainWrites(): Promise<void>;
  /** Runs first in every pass (topics another broker created must be known before claims). */
  beforePass(): Promise<void>;
  /**
   * Pairs [leader, follower] of partition keys whose leases go together: the follower's lease is
   * taken by whoever holds the leader's, and given up by anyone else (the transaction
   * coordinator's partition follows the group coordinator's, so both coordinators share a broker).
   */
  companions?(): readonly (readonly [string, string])[];
}

export class LeaseKeeper {
  readonly #options: LeaseKeeperOptions;
  #live: BrokerRegistration[] = [];
  #leaders = new Map<string, { nodeId: number; epoch: number }>();
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  #passAgain = false;
  #stopped = false;
  #failures = 0;

  constructor(options: LeaseKeeperOptions) {
    this.#options = options;
  }

  get liveBrokers(): readonly BrokerRegistration[] {
    return this.#live;
  }

  /** The live leader of a partition, as of the last pass. */
  leaderOf(key: string): { nodeId: number; epoch: number } | undefined {
    return this.#leaders.get(key);
  }

  async start(endpoint: { host: string; port: number }): Promise<void> {
    const { catalog, nodeId, incarnation, rack, leaseMs } = this.#options;
    await catalog.registerBroker(
      { nodeId, rack, host: endpoint.host, port: endpoint.port, incarnation },
      leaseMs,
    );
    await this.#runPass();
    this.#timer = setInterval(() => this.kick(), Math.max(100, Math.floor(leaseMs / 3)));
    this.#timer.unref();
  }

  /** Runs a pass soon (after the current one, if any). */
  kick(): void {
    if (this.#stopped) return;
    void this.#runPass().catch(() => undefined);
  }

  /** Clean shutdown: hand every lease off, then leave the live set. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#pass?.catch(() => undefined);
    const { catalog, nodeId, incarnation } = this.#options;
    try {
      const held = await catalog.renewLeases(nodeId, this.#options.leaseMs);
      await this.#handOff(held);
      await catalog.deregisterBroker(nodeId, incarnation);
    } catch (error: unknown) {
      this.#options.log?.warn('cluster: clean hand-off failed; leases expire instead', {
        error: String(error),
      });
    }
  }

  #runPass(): Promise<void> {
    if (this.#pass !== undefined) {
      this.#passAgain = true;
      return this.#pass;
    }
    this.#pass = (async () => {
      do {
        this.#passAgain = false;
        try {
          await this.#passOnce();
          if (this.#failures > 0) this.#options.log?.info('cluster: lease pass recovered');
          this.#failures = 0;
        } catch (error: unknown) {
          this.#failures++;
          if (this.#failures === 1 || this.#failures % 10 === 0) {
            this.#options.log?.warn('cluster: lease pass failed', {
              error: String(error),
              failures: this.#failures,
            });
          }
          if (error instanceof StorageError && error.code === 'NODE_ID_IN_USE') throw error;
        }
      } while (this.#passAgain && !this.#stopped);
    })().finally(() => {
      this.#pass = undefined;
    });
    return this.#pass;
  }

  async #passOnce(): Promise<void> {
    if (this.#stopped) return;
    const { catalog, nodeId, leaseMs } = this.#options;
    await this.#options.beforePass();
    await catalog.heartbeat(nodeId, this.#options.incarnation);
    const live = await catalog.liveBrokers(leaseMs);
    this.#live = live.toSorted((a, b) => a.nodeId - b.nodeId);
    const held = await catalog.renewLeases(nodeId, leaseMs);
    this.#dropLost(held);
    let leases = await catalog.listLeases();
    const heldKeys = new Set(held.map(keyOf));
    // A lease held but not yet promoted (a pass that failed halfway): promote it now.
    for (const lease of held) {
      if (this.#options.leaderEpochOf(keyOf(lease)) === undefined) await this.#promote(lease);
    }
    const target = this.#targetOf(nodeId, leases.length);
    if (heldKeys.size < target) {
      const claimed = await catalog.claimLeases({
        nodeId,
        max: target - heldKeys.size,
        leaseMs,
        liveNodes: this.#live.map((broker) => broker.nodeId),
      });
      for (const lease of claimed) await this.#promote(lease);
      if (claimed.length > 0) leases = await catalog.listLeases();
    } else if (heldKeys.size > target && this.#someoneShort(leases)) {
      const companions = new Set((this.#options.companions?.() ?? []).flat());
      const surplus = held
        .filter((lease) => !companions.has(keyOf(lease)))
        .slice(0, heldKeys.size - target);
      await this.#handOff(surplus);
      leases = await catalog.listLeases();
    }
    if (await this.#followCompanions(leases)) leases = await catalog.listLeases();
    this.#remember(leases);
  }

  /** Moves each companion lease to the holder of its leader lease; true if anything moved. */
  async #followCompanions(leases: readonly PartitionLease[]): Promise<boolean> {
    const { catalog, nodeId, leaseMs } = this.#options;
    const byKey = new Map(leases.map((lease) => [keyOf(lease), lease]));
    const liveNodes = this.#live.map((broker) => broker.nodeId);
    let moved = false;
    for (const [leaderKey, followerKey] of this.#options.companions?.() ?? []) {
      const leader = byKey.get(leaderKey);
      const follower = byKey.get(followerKey);
      if (leader === undefined || follower === undefined) continue;
      const leadsLeader = this.#options.leaderEpochOf(leaderKey) !== undefined;
      const leadsFollower = this.#options.leaderEpochOf(followerKey) !== undefined;
      const leaderElsewhere =
        leader.live && leader.leaderNode !== null && leader.leaderNode !== nodeId;
      if (leadsFollower && !leadsLeader && leaderElsewhere) {
        await this.#handOff([follower]);
        moved = true;
      } else if (leadsLeader && !leadsFollower) {
        const claimable =
          follower.leaderNode === null ||
          !follower.live ||
          !liveNodes.includes(follower.leaderNode);
        if (!claimable) continue;
        const [claimed] = await catalog.claimLeases({
          nodeId,
          max: 1,
          leaseMs,
          liveNodes,
          preferred: [{ topicId: follower.topicId, partition: follower.partition }],
        });
        if (claimed !== undefined) await this.#promote(claimed);
        moved = true;
      }
    }
    return moved;
  }

  /** Demotes partitions led here whose lease this broker no longer holds at the same epoch. */
  #dropLost(held: readonly PartitionLease[]): void {
    const heldEpochs = new Map(held.map((lease) => [keyOf(lease), lease.leaderEpoch]));
    for (const key of Array.from(this.#options.ledKeys())) {
      const mine = this.#options.leaderEpochOf(key);
      if (mine !== undefined && heldEpochs.get(key) !== mine) {
        this.#options.log?.warn('cluster: lease lost', { partition: key, epoch: mine });
        this.#options.demote(key);
      }
    }
  }

  async #promote(lease: PartitionLease): Promise<void> {
    try {
      await this.#options.promote(lease);
    } catch (error: unknown) {
      // Could not take the partition over: give the lease back for another broker to try.
      this.#options.log?.warn('cluster: taking a partition over failed', {
        partition: keyOf(lease),
        error: String(error),
      });
      await this.#options.catalog.releaseLease({ ...lease, nodeId: this.#options.nodeId });
    }
  }

  async #handOff(leases: readonly PartitionLease[]): Promise<void> {
    if (leases.length === 0) return;
    for (const lease of leases) this.#options.demote(keyOf(lease));
    await this.#options.drainWrites();
    for (const lease of leases) {
      await this.#options.catalog.releaseLease({ ...lease, nodeId: this.#options.nodeId });
    }
    this.#options.log?.info('cluster: leases handed off', { count: leases.length });
  }

  /** This broker's share of `total` partitions among the live brokers. */
  #targetOf(nodeId: number, total: number): number {
    const nodes = this.#live.map((broker) => broker.nodeId);
    const rank = nodes.indexOf(nodeId);
    if (rank < 0 || nodes.length === 0) return 0;
    return Math.floor(total / nodes.length) + (rank < total % nodes.length ? 1 : 0);
  }

  #someoneShort(leases: readonly PartitionLease[]): boolean {
    const counts = new Map<number, number>();
    for (const lease of leases) {
      if (lease.leaderNode !== null && lease.live) {
        counts.set(lease.leaderNode, (counts.get(lease.leaderNode) ?? 0) + 1);
      }
    }
    return this.#live.some(
      (broker) =>
        broker.nodeId !== this.#options.nodeId &&
        (counts.get(broker.nodeId) ?? 0) < this.#targetOf(broker.nodeId, leases.length),
    );
  }

  #remember(leases: readonly PartitionLease[]): void {
    const liveNodes = new Set(this.#live.map((broker) => broker.nodeId));
    const leaders = new Map<string, { nodeId: number; epoch: number }>();
    for (const lease of leases) {
      if (lease.leaderNode === null || !lease.live || !liveNodes.has(lease.leaderNode)) continue;
      leaders.set(keyOf(lease), { nodeId: lease.leaderNode, epoch: lease.leaderEpoch });
    }
    this.#leaders = leaders;
  }
}

function keyOf(lease: { topicId: string; partition: number }): string {
  return partitionKey(lease.topicId as Parameters<typeof partitionKey>[0], lease.partition);
}
