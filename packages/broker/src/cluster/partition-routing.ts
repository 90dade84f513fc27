/**
 * Who serves what, in both modes. Embedded: this broker is every partition's leader at epoch 0.
 * Cluster mode: a partition's leader is the live holder of its lease, at the lease's epoch;
 * every live broker can serve its reads (they all read the same bucket), so each is listed as a
 * replica and in sync. A partition with no live leader (between a broker's death and the end
 * of its lease) has leader -1, which clients answer by asking Metadata again.
 */
import { ErrorCode } from '@tributary/protocol';
import type { TopicId } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';

export interface BrokerEntry {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionLeadership {
  leaderId: number;
  leaderEpoch: number;
}

/** The brokers to list in Metadata and DescribeCluster, by node id (this one always). */
export function liveBrokersOf(runtime: BrokerRuntime): BrokerEntry[] {
  const cluster = runtime.storage.cluster;
  const self = { nodeId: runtime.nodeId, ...runtime.advertised, rack: cluster?.rack ?? null };
  if (cluster === undefined) return [self];
  const brokers = cluster.liveBrokers().map((broker) => ({
    nodeId: broker.nodeId,
    host: broker.host,
    port: broker.port,
    rack: broker.rack,
  }));
  if (!brokers.some((broker) => broker.nodeId === runtime.nodeId)) brokers.push(self);
  return brokers.toSorted((a, b) => a.nodeId - b.nodeId);
}

export function leadershipOf(
  runtime: BrokerRuntime,
  topicId: TopicId,
  partition: number,
): PartitionLeadership {
  const cluster = runtime.storage.cluster;
  if (cluster === undefined) return { leaderId: runtime.nodeId, leaderEpoch: 0 };
  const leader = cluster.leaderOf(topicId, partition);
  return leader === undefined
    ? { leaderId: -1, leaderEpoch: -1 }
    : { leaderId: leader.nodeId, leaderEpoch: leader.epoch };
}

/**
 * Why this broker may not append to the partition (NOT_LEADER_OR_FOLLOWER, or
 * FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for a client's stale or future epoch), or
 * undefined when it may. `clientEpoch` -1 means the client did not say.
 */
export function leaderCheck(
  runtime: BrokerRuntime,
  topicId: TopicId,
  partition: number,
  clientEpoch = -1,
): { errorCode: number; message: string } | undefined {
  const cluster = runtime.storage.cluster;
  if (cluster === undefined) return undefined;
  if (!cluster.leads(topicId, partition)) {
    return {
      errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
      message: `broker ${runtime.nodeId} does not lead partition ${partition}`,
    };
  }
  return epochCheck(runtime, topicId, partition, clientEpoch);
}

/** A client's leader epoch against the current one (KIP-320); -1 skips the check. */
export function epochCheck(
  runtime: BrokerRuntime,
  topicId: TopicId,
  partition: number,
  clientEpoch: number,
): { errorCode: number; message: string } | undefined {
  if (clientEpoch < 0) return undefined;
  const { leaderEpoch } = leadershipOf(runtime, topicId, partition);
  if (leaderEpoch < 0) return undefined;
  if (clientEpoch < leaderEpoch) {
    return {
      errorCode: ErrorCode.FENCED_LEADER_EPOCH,
      message: `leader epoch ${clientEpoch} is older than ${leaderEpoch}`,
    };
  }
  if (clientEpoch > leaderEpoch) {
    return {
      errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH,
      message: `leader epoch ${clientEpoch} is newer than ${leaderEpoch}`,
    };
  }
  return undefined;
}

/**
 * The client's zone: `client.rack` when the request carries it (Fetch v11+), else a
 * `zone=<name>` part of client.id (`orders-service,zone=a`), else undefined.
 */
export function clientZoneOf(clientId: string | null, clientRack?: string): string | undefined {
  if (clientRack !== undefined && clientRack !== '') return clientRack;
  const match = /(?:^|[,;\s])zone=([^,;\s]+)/.exec(clientId ?? '');
  return match?.[1];
}

/** The racks of the live brokers, by node id (cluster mode). */
function racksOf(runtime: BrokerRuntime): Map<number, string | null> {
  return new Map(liveBrokersOf(runtime).map((broker) => [broker.nodeId, broker.rack]));
}

/**
 * Zone routing, Metadata: the leader a client in `zone` is shown. The real one when it is in
 * that zone (or the client has no zone, or no live broker is in it); else a live broker of the
 * client's zone, picked by partition so the load spreads, which takes the client's produce and
 * has the leader commit it without the data crossing zones (handlers/forward-append.ts), and
 * serves its fetches from the bucket.
 */
export function shownLeadershipOf(
  runtime: BrokerRuntime,
  zone: string | undefined,
  topicId: TopicId,
  partition: number,
): PartitionLeadership {
  const real = leadershipOf(runtime, topicId, partition);
  if (zone === undefined || real.leaderId < 0 || runtime.storage.cluster === undefined) return real;
  const racks = racksOf(runtime);
  if (racks.get(real.leaderId) === zone) return real;
  const inZone = [...racks].filter(([, rack]) => rack === zone).map(([nodeId]) => nodeId);
  const stand = inZone[partition % Math.max(1, inZone.length)];
  return stand === undefined ? real : { leaderId: stand, leaderEpoch: real.leaderEpoch };
}

/**
 * Zone routing, Produce: the real leader's node id when this broker takes the produce for it
 * (it does not lead the partition, the client is in this broker's zone and the leader is in
 * another); undefined when the produce is answered NOT_LEADER_OR_FOLLOWER as usual.
 */
export function forwardTargetOf(
  runtime: BrokerRuntime,
  clientId: string | null,
  topicId: TopicId,
  partition: number,
): number | undefined {
  const cluster = runtime.storage.cluster;
  if (cluster === undefined || cluster.rack === null || cluster.leads(topicId, partition)) {
    return undefined;
  }
  if (clientZoneOf(clientId) !== cluster.rack) return undefined;
  const leader = cluster.leaderOf(topicId, partition);
  if (leader === undefined) return undefined;
  return racksOf(runtime).get(leader.nodeId) === cluster.rack ? undefined : leader.nodeId;
}
