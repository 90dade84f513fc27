/**
 * The API versions this broker advertises in ApiVersions, and therefore accepts. Each range is
 * chosen from what the real clients send, and the librdkafka 2.0.2 feature
 * checks that switch whole features off when a range does not overlap an exact version.
 * docs/protocol-support.md explains each choice; keep the two in step.
 */
import { ApiKey } from '@tributary/protocol';
import { auditAppendApiKey } from './cluster/audit-append-api.ts';
import { forwardAppendApiKey } from './cluster/forward-append-api.ts';

export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

const ranges: readonly ApiVersionRange[] = [
  // Produce: v3 is the first with record batches v2; min 0 is advertised because librdkafka's
  // feature map (and KAFKA-18659) expects it; v0-2 carry message formats 0/1, refused per batch.
  // v12: transactional batches add their partition to the transaction (KIP-890 part 2); no
  // target client goes past 11.
  { apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 12 },
  // Fetch: v4 is the first that returns record batches v2; v13+ address topics by id.
  { apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 17 },
  // ListOffsets: librdkafka needs v1 in range for offsets-by-time.
  { apiKey: ApiKey.ListOffsets, minVersion: 1, maxVersion: 10 },
  { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 12 },
  // OffsetForLeaderEpoch: consumers check for log truncation after a leader change (KIP-320);
  // Kafka 4 serves 2-4, librdkafka 2.12+ sends 2, platformatic 4 (handlers/offset-for-leader-epoch.ts).
  { apiKey: ApiKey.OffsetForLeaderEpoch, minVersion: 2, maxVersion: 4 },
  { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 },
  { apiKey: ApiKey.CreateTopics, minVersion: 2, maxVersion: 7 },
  { apiKey: ApiKey.DeleteTopics, minVersion: 1, maxVersion: 6 },
  { apiKey: ApiKey.DeleteRecords, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.DescribeConfigs, minVersion: 1, maxVersion: 4 },
  { apiKey: ApiKey.AlterConfigs, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.CreatePartitions, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.IncrementalAlterConfigs, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.DescribeCluster, minVersion: 0, maxVersion: 1 },
  // InitProducerId: librdkafka's IDEMPOTENT_PRODUCER feature needs v0 in range (it sends 0-4,
  // platformatic 3-5, kafkajs 0-1); v6 (KIP-939) is unstable.
  { apiKey: ApiKey.InitProducerId, minVersion: 0, maxVersion: 5 },
  // Classic consumer groups (groups/). librdkafka 2.0.2's BROKER_BALANCED_CONSUMER feature needs
  // JoinGroup, SyncGroup, Heartbeat, LeaveGroup and FindCoordinator v0, OffsetCommit [1,2] and
  // OffsetFetch v1 in range (CLIENTS.md §3.1), so every group API starts at 0; the codecs serve
  // v0-1 from Kafka 3.9's definitions.
  { apiKey: ApiKey.FindCoordinator, minVersion: 0, maxVersion: 6 },
  { apiKey: ApiKey.JoinGroup, minVersion: 0, maxVersion: 9 },
  { apiKey: ApiKey.SyncGroup, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.Heartbeat, minVersion: 0, maxVersion: 4 },
  { apiKey: ApiKey.LeaveGroup, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.OffsetCommit, minVersion: 0, maxVersion: 9 },
  { apiKey: ApiKey.OffsetFetch, minVersion: 0, maxVersion: 9 },
  { apiKey: ApiKey.DescribeGroups, minVersion: 0, maxVersion: 6 },
  { apiKey: ApiKey.ListGroups, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.DeleteGroups, minVersion: 0, maxVersion: 2 },
  { apiKey: ApiKey.OffsetDelete, minVersion: 0, maxVersion: 0 },
  // KIP-848 consumer groups (groups/consumer-group-heartbeat.ts); v1 adds topic regexes.
  { apiKey: ApiKey.ConsumerGroupHeartbeat, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.ConsumerGroupDescribe, minVersion: 0, maxVersion: 1 },
  // Transactions (transactions/). AddPartitionsToTxn max 3: v4+ is the batched broker form, which
  // platformatic would send if advertised (CLIENTS.md §3.3); transaction version 2 clients add
  // partitions through Produce v12 instead. EndTxn v5 and TxnOffsetCommit v5 are KIP-890 part 2
  // (the feature `transaction.version` 2 that ApiVersions finalizes); the target clients stop at 4.
  { apiKey: ApiKey.AddPartitionsToTxn, minVersion: 0, maxVersion: 3 },
  // Broker to broker in cluster mode: the transaction coordinator writing markers on leaders.
  { apiKey: ApiKey.WriteTxnMarkers, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.AddOffsetsToTxn, minVersion: 0, maxVersion: 4 },
  { apiKey: ApiKey.EndTxn, minVersion: 0, maxVersion: 5 },
  { apiKey: ApiKey.TxnOffsetCommit, minVersion: 0, maxVersion: 5 },
  // Transaction operator APIs (kafka-transactions.sh, `tributary transactions`).
  { apiKey: ApiKey.DescribeProducers, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.DescribeTransactions, minVersion: 0, maxVersion: 0 },
  { apiKey: ApiKey.ListTransactions, minVersion: 0, maxVersion: 1 },
  // ACL and SCRAM credential admin (security/), enforced by the authorizer. ACLs from v0, which
  // librdkafka 2.0.2 sends (CLIENTS.md); Kafka 4 serves 1-3.
  { apiKey: ApiKey.DescribeAcls, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.CreateAcls, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.DeleteAcls, minVersion: 0, maxVersion: 3 },
  { apiKey: ApiKey.DescribeUserScramCredentials, minVersion: 0, maxVersion: 0 },
  // Client quotas (security/client-quotas.ts): kafka-configs.sh and the admin clients send v0-1.
  { apiKey: ApiKey.DescribeClientQuotas, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.AlterClientQuotas, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.AlterUserScramCredentials, minVersion: 0, maxVersion: 0 },
  // SASL (security/connection-authentication.ts): librdkafka 2.0.2's SASL feature needs
  // SaslHandshake 0 and 1 and SaslAuthenticate 0 in range; kafka-python sends handshake v0.
  { apiKey: ApiKey.SaslHandshake, minVersion: 0, maxVersion: 1 },
  { apiKey: ApiKey.SaslAuthenticate, minVersion: 0, maxVersion: 2 },
];

export const advertisedApiVersions: ReadonlyMap<number, ApiVersionRange> = new Map(
  ranges.map((range) => [range.apiKey, range]),
);

/**
 * Versions served but never advertised: what brokers send each other in cluster mode. A client
 * picks its version from ApiVersions, so it never sends these; AddPartitionsToTxn v4-5 (the
 * batched broker form) is how a partition leader adds a partition to a transaction whose
 * coordinator is another broker (handlers/add-partitions-to-txn.ts).
 */
export const interBrokerApiVersions: ReadonlyMap<number, ApiVersionRange> = new Map([
  [ApiKey.AddPartitionsToTxn, { apiKey: ApiKey.AddPartitionsToTxn, minVersion: 4, maxVersion: 5 }],
  // Zone routing: a broker hands a leader in another zone the batches it stored for it.
  [forwardAppendApiKey, { apiKey: forwardAppendApiKey, minVersion: 0, maxVersion: 0 }],
  // The audit topic's leader appends what other brokers audited (security/audit-log.ts).
  [auditAppendApiKey, { apiKey: auditAppendApiKey, minVersion: 0, maxVersion: 0 }],
]);
