/**
 * Broker settings, named after Kafka's broker configs, with Kafka's defaults where Kafka has one.
 * Every limit carries its unit in its name. Values are plain data, derived from the settings
 * catalogue (config/setting-catalogue.ts); a dynamic change (max.connections) replaces the whole
 * object, so one read of `runtime.config` is always consistent.
 */

export interface BrokerConfig {
  /** Largest request frame accepted (`socket.request.max.bytes`); bigger frames close the connection. */
  readonly socketRequestMaxBytes: number;
  /** Requests read from one connection but not yet answered before reading pauses (`queued.max.requests`). */
  readonly connectionInFlightMaxRequests: number;
  /** Client connections open at once; more are closed on accept (`max.connections`). */
  readonly maxConnections: number;
  /** Connections open at once from one IP address (`max.connections.per.ip`). */
  readonly maxConnectionsPerIp: number;
  /** Bytes of requests being read or processed, all connections (`queued.max.request.bytes`). */
  readonly queuedMaxRequestBytes: number;
  /** Partitions one topic may have (`max.partitions.per.topic`). */
  readonly maxPartitionsPerTopic: number;
  /** Partitions of all topics together (`max.partitions`). */
  readonly maxPartitions: number;
  /** Idle connections are closed after this long (`connections.max.idle.ms`). */
  readonly connectionsMaxIdleMs: number;
  /** Metadata requests create unknown topics (`auto.create.topics.enable`). */
  readonly autoCreateTopicsEnable: boolean;
  /** Partitions of an auto-created topic, or of CreateTopics with -1 (`num.partitions`). */
  readonly numPartitions: number;
  /** Upper bound on a Fetch long poll, whatever the client asks for. */
  readonly fetchMaxWaitMs: number;
  /** Cap on the bytes one Fetch response carries (`fetch.max.bytes`). */
  readonly fetchMaxBytes: number;
  /** Decompression cap when the broker must look inside a batch (timestamps, compaction). */
  readonly decompressedBatchMaxBytes: number;
}

export const defaultBrokerConfig: BrokerConfig = {
  socketRequestMaxBytes: 104_857_600,
  connectionInFlightMaxRequests: 500,
  maxConnections: 2_147_483_647,
  maxConnectionsPerIp: 2_147_483_647,
  queuedMaxRequestBytes: 536_870_912,
  maxPartitionsPerTopic: 100_000,
  maxPartitions: 200_000,
  connectionsMaxIdleMs: 600_000,
  autoCreateTopicsEnable: true,
  numPartitions: 1,
  fetchMaxWaitMs: 30_000,
  fetchMaxBytes: 57_671_680,
  decompressedBatchMaxBytes: 64 * 1024 * 1024,
};
