/**
 * OffsetForLeaderEpoch (key 23), v2-4: where a leader epoch ended (cluster/leader-epochs.ts), so
 * a consumer that changed leaders can tell whether the log it read was truncated (KIP-320). The
 * client's CurrentLeaderEpoch is checked first, as for Fetch: older is FENCED_LEADER_EPOCH,
 * newer UNKNOWN_LEADER_EPOCH. ReplicaId (v3+) is accepted from consumers (-1) and followers
 * alike; this broker answers from the shared catalog whichever broker leads, since zone routing
 * shows clients a broker of their own zone as the leader.
 */
import { ErrorCode, offsetForLeaderEpochApi } from '@tributary/protocol';
import type { EpochHistory, PartitionLog, TopicId } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { epochEndOf, undefinedEpoch, undefinedEpochOffset } from '../cluster/leader-epochs.ts';
import { epochCheck, leadershipOf } from '../cluster/partition-routing.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource, topicResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import { toKafkaError } from '../kafka-errors.ts';

interface EpochEndAnswer {
  partition: number;
  errorCode: number;
  leaderEpoch: number;
  endOffset: bigint;
}

function failed(partition: number, errorCode: number): EpochEndAnswer {
  return { partition, errorCode, leaderEpoch: undefinedEpoch, endOffset: undefinedEpochOffset };
}

export const offsetForLeaderEpochHandler = defineHandler(
  offsetForLeaderEpochApi,
  async (context, request) => {
    const { runtime } = context;
    // Kafka (KIP-320): CLUSTER_ACTION allows every topic, else DESCRIBE on each.
    const clusterAction = authorized(context, AclOperation.CLUSTER_ACTION, clusterResource, {
      logIfDenied: false,
    });
    const topics = await Promise.all(
      request.topics.map(async (wanted) => {
        const topic = runtime.storage.getTopic(wanted.topic);
        const refusal =
          clusterAction || authorized(context, AclOperation.DESCRIBE, topicResource(wanted.topic))
            ? undefined
            : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        const partitions = await Promise.all(
          wanted.partitions.map(async (query) => {
            if (refusal !== undefined) return failed(query.partition, refusal);
            const log =
              topic === undefined
                ? undefined
                : runtime.storage.partition(topic.topicId, query.partition);
            if (topic === undefined || log === undefined) {
              return failed(query.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            }
            const fenced = epochCheck(
              runtime,
              topic.topicId,
              query.partition,
              query.currentLeaderEpoch,
            );
            if (fenced !== undefined) return failed(query.partition, fenced.errorCode);
            if (leadershipOf(runtime, topic.topicId, query.partition).leaderId < 0) {
              return failed(query.partition, ErrorCode.NOT_LEADER_OR_FOLLOWER);
            }
            try {
              const history = await historyOf(runtime, topic.topicId, query.partition, log);
              if (history === undefined) {
                return failed(query.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
              }
              return {
                partition: query.partition,
                errorCode: ErrorCode.NONE,
                ...epochEndOf(history, query.leaderEpoch),
              };
            } catch (error: unknown) {
              return failed(query.partition, toKafkaError(error).errorCode);
            }
          }),
        );
        return { topic: wanted.topic, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
);

/** Embedded: one leader, epoch 0 since offset 0. Cluster mode: the catalog's history. */
function historyOf(
  runtime: BrokerRuntime,
  topicId: TopicId,
  partition: number,
  log: PartitionLog,
): Promise<EpochHistory | undefined> {
  const { cluster } = runtime.storage;
  if (cluster !== undefined) return cluster.epochHistory(topicId, partition);
  return Promise.resolve({
    leaderEpoch: 0,
    nextOffset: log.highWatermark,
    epochs: [{ leaderEpoch: 0, startOffset: 0n }],
  });
}
