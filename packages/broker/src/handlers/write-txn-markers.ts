/**
 * WriteTxnMarkers (key 27), v0-1: the transaction coordinator asks a partition leader to append
 * COMMIT or ABORT markers (cluster mode, when the coordinator and the leader are different
 * brokers). Each partition is answered on its own: NOT_LEADER_OR_FOLLOWER when this broker does
 * not lead it (the coordinator re-reads the leases and retries), else NONE once the marker is
 * durable and the partition's transaction index (LSO, aborted list) has moved past it.
 * A marker for an internal topic is refused: group offsets of a transaction are applied by the
 * group coordinator, which runs beside the transaction coordinator.
 */
import { ErrorCode, writeTxnMarkersApi } from '@tributary/protocol';
import { leaderCheck } from '../cluster/partition-routing.ts';
import { AclOperation } from '../security/acl-codes.ts';
import { authorized, clusterResource } from '../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import { isInternalTopic } from '../internal-topics.ts';
import { toKafkaError } from '../kafka-errors.ts';
import { writeMarker } from '../transactions/transaction-runtime.ts';

export const writeTxnMarkersHandler = defineHandler(
  writeTxnMarkersApi,
  async (context, request) => {
    const { runtime } = context;
    const { storage } = runtime;
    // Kafka: sent by the transaction coordinator only, and needs CLUSTER_ACTION.
    const allowed = authorized(context, AclOperation.CLUSTER_ACTION, clusterResource);
    const markers = await Promise.all(
      request.markers.map(async (marker) => {
        const result = marker.transactionResult ? 'commit' : 'abort';
        const written = { ...marker, result } as const;
        const topics = await Promise.all(
          marker.topics.map(async (wanted) => {
            const topic = storage.getTopic(wanted.name);
            const partitions = await Promise.all(
              wanted.partitionIndexes.map(async (partitionIndex) => {
                if (!allowed) {
                  return { partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED };
                }
                const log =
                  topic === undefined
                    ? undefined
                    : storage.partition(topic.topicId, partitionIndex);
                if (topic === undefined || log === undefined) {
                  return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
                }
                if (isInternalTopic(topic.name)) {
                  return { partitionIndex, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION };
                }
                const refusal = leaderCheck(runtime, topic.topicId, partitionIndex);
                if (refusal !== undefined) return { partitionIndex, errorCode: refusal.errorCode };
                try {
                  await writeMarker(log, written, runtime.now());
                  return { partitionIndex, errorCode: ErrorCode.NONE };
                } catch (error: unknown) {
                  return { partitionIndex, errorCode: toKafkaError(error).errorCode };
                }
              }),
            );
            return { name: wanted.name, partitions };
          }),
        );
        return { producerId: marker.producerId, topics };
      }),
    );
    return { markers };
  },
);
