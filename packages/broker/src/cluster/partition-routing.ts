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
