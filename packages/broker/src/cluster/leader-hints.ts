/**
 * KIP-951: a partition answered NOT_LEADER_OR_FOLLOWER (or FENCED_LEADER_EPOCH, for Fetch) names
 * the leader the client should use next, and the response lists where those leaders listen, so
 * the client moves at once instead of after a Metadata round trip (Produce v10+, Fetch v16+).
 * The leader named is the one Metadata shows this client: with zone routing, a broker of the
 * client's own zone, so following the hint never sends record bytes across zones.
 */
import type { TopicId } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import {
  liveBrokersOf,
  shownLeadershipOf,
  type BrokerEntry,
  type PartitionLeadership,
} from './partition-routing.ts';

export class LeaderHints {
  readonly #runtime: BrokerRuntime;
  readonly #zone: string | undefined;
  readonly #named = new Map<number, BrokerEntry>();
  #live: BrokerEntry[] | undefined;

  constructor(runtime: BrokerRuntime, zone: string | undefined) {
    this.#runtime = runtime;
    this.#zone = zone;
  }

  /** The leader to name for a partition, or undefined while it has none (the client re-asks). */
  leaderOf(topicId: TopicId, partition: number): PartitionLeadership | undefined {
    const shown = shownLeadershipOf(this.#runtime, this.#zone, topicId, partition);
    this.#live ??= liveBrokersOf(this.#runtime);
    const broker = this.#live.find((entry) => entry.nodeId === shown.leaderId);
    if (broker === undefined) return undefined;
    this.#named.set(broker.nodeId, broker);
    return shown;
  }

  /** The endpoints of every leader named so far, for the response's NodeEndpoints. */
  endpoints(): BrokerEntry[] {
    return [...this.#named.values()].toSorted((a, b) => a.nodeId - b.nodeId);
  }
}
