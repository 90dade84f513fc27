/**
 * What the console's read API answers, gathered from the broker runtime: topics and partitions
 * from storage, groups and transactions through the coordinators' own APIs (in process), ACLs
 * and brokers from the metadata, schemas from the registry when one is served.
 */
import type {
  AclEntry,
  BrokersView,
  BrowsedMessage,
  BrowseResult,
  GroupMember,
  PartitionLag,
  PartitionSummary,
  RenderedBytes,
  SubjectView,
  TopicSummary,
  TransactionSummary,
} from '@tributary/console';
import {
  decodeRecords,
  describeClusterApi,
  describeTransactionsApi,
  listTransactionsApi,
  readBatchHeader,
  type KafkaRecord,
} from '@tributary/protocol';
import type { PartitionLog } from '@tributary/storage';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { AclOperation, clusterResourceName, ResourceType } from '../security/acl-codes.ts';
import { hostOf } from '../security/request-authorization.ts';
import { ConsoleRequestError } from './console-request-error.ts';
import { callApi, type ConsoleCaller } from './in-process-api.ts';
import type { PartitionSizes } from './partition-sizes.ts';

/** Bytes one browse reads from a partition at most (whole batches, KIP-74). */
export const browseReadMaxBytes = 4 * 1024 * 1024;
/** Messages one browse returns at most. */
export const browseMaxMessages = 500;

export function partitionLog(
  runtime: BrokerRuntime,
  topic: string,
  partition: number,
): PartitionLog | undefined {
  const record = runtime.storage.getTopic(topic);
  return record === undefined ? undefined : runtime.storage.partition(record.topicId, partition);
}

/**
 * What the authorizer says about the caller and one resource, for what the console reads from
 * storage itself (the handlers it calls check their own operations).
 */
export function consoleMay(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  operation: number,
  resource: { readonly type: number; readonly name: string },
): boolean {
  const subject = { principal: caller.principal, host: hostOf(caller.peer) };
  return runtime.authorizer.authorize(subject, operation, resource);
}

export async function topicSummaries(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  sizes: PartitionSizes,
  throughputOf: (topic: string) => readonly number[],
): Promise<TopicSummary[]> {
  const defaults = runtime.storage.topicConfigDefaults;
  const subjects = new Set(await registrySubjects(runtime));
  return runtime.storage
    .listTopics()
    .filter((topic) =>
      consoleMay(runtime, caller, AclOperation.DESCRIBE, {
        type: ResourceType.TOPIC,
        name: topic.name,
      }),
    )
    .toSorted((a, b) => a.name.localeCompare(b.name))
    .map((topic) => {
      const partitions: PartitionSummary[] = [];
      for (let index = 0; index < topic.partitionCount; index++) {
        partitions.push(partitionSummary(runtime, sizes, topic.topicId, index));
      }
      const setting = (name: string): string =>
        topic.configs[name] ?? defaults[name] ?? runtime.settings.topicDefaults[name] ?? '';
      const subject = `${topic.name}-value`;
      return {
        name: topic.name,
        internal: topic.name.startsWith('__'),
        partitions,
        records: sum(partitions.map((p) => (p.highWatermark ?? 0) - (p.logStartOffset ?? 0))),
        sizeBytes: sum(partitions.map((p) => p.sizeBytes ?? 0)),
        retentionMs: setting('retention.ms'),
        retentionBytes: setting('retention.bytes'),
        cleanupPolicy: setting('cleanup.policy'),
        configs: topic.configs,
        ...(subjects.has(subject) ? { schemaSubject: subject } : {}),
        throughput: throughputOf(topic.name),
      };
    });
}

function partitionSummary(
  runtime: BrokerRuntime,
  sizes: PartitionSizes,
  topicId: Parameters<BrokerRuntime['storage']['partition']>[0],
  index: number,
): PartitionSummary {
  const cluster = runtime.storage.cluster;
  const leader = cluster === undefined ? runtime.nodeId : cluster.leaderOf(topicId, index)?.nodeId;
  const log = runtime.storage.partition(topicId, index);
  if (log === undefined) {
    return { partition: index, ...(leader === undefined ? {} : { leader }) };
  }
  return {
    partition: index,
    logStartOffset: Number(log.logStartOffset),
    highWatermark: Number(log.highWatermark),
    sizeBytes: sizes.sizeOf(log),
    ...(leader === undefined ? {} : { leader }),
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Records from `offset` on (control records left out), key and value rendered for a page. */
export async function browse(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  request: { topic: string; partition: number; offset?: number; limit: number },
): Promise<BrowseResult | undefined> {
  if (
    !consoleMay(runtime, caller, AclOperation.READ, {
      type: ResourceType.TOPIC,
      name: request.topic,
    })
  ) {
    throw new ConsoleRequestError(`${caller.principal} may not read ${request.topic}`, 403);
  }
  const log = partitionLog(runtime, request.topic, request.partition);
  if (log === undefined) return undefined;
  const limit = Math.min(Math.max(1, request.limit), browseMaxMessages);
  const start =
    request.offset ?? Math.max(Number(log.logStartOffset), Number(log.highWatermark) - limit);
  const from = BigInt(Math.max(start, Number(log.logStartOffset)));
  const records: KafkaRecord[] = [];
  if (from < log.highWatermark) {
    const batches = await log.read(from, browseReadMaxBytes);
    for (const batch of batches) {
      if (readBatchHeader(batch).isControl) continue;
      const decoded = decodeRecords(batch, {
        maxDecompressedBytes: runtime.config.decompressedBatchMaxBytes,
      });
      records.push(...decoded.filter((record) => record.offset >= from));
      if (records.length >= limit) break;
    }
  }
  const messages: BrowsedMessage[] = [];
  for (const record of records.slice(0, limit)) {
    messages.push(await renderRecord(runtime, request.partition, record));
  }
  return {
    topic: request.topic,
    partition: request.partition,
    logStartOffset: Number(log.logStartOffset),
    highWatermark: Number(log.highWatermark),
    messages,
  };
}

async function renderRecord(
  runtime: BrokerRuntime,
  partition: number,
  record: KafkaRecord,
): Promise<BrowsedMessage> {
  const base = {
    partition,
    offset: Number(record.offset),
    timestamp: Number(record.timestamp),
    key: renderBytes(record.key),
    headers: record.headers.map((header) => ({
      key: header.key,
      value: header.value === null ? null : renderBytes(header.value).text,
    })),
  };
  const value = record.value;
  const registry = runtime.schemaRegistry;
  // The registry's wire format: magic byte 0, then a 4-byte schema id, then the payload.
  if (registry !== undefined && value !== null && value.length >= 5 && value[0] === 0) {
    const result = await registry.decode(value);
    if (result.ok) {
      return {
        ...base,
        value: { text: jsonText(result.value), encoding: 'schema' },
        schemaId: result.schemaId,
      };
    }
    return { ...base, value: renderBytes(value), decodeError: result.reason };
  }
  return { ...base, value: renderBytes(value) };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function renderBytes(bytes: Buffer | null): RenderedBytes {
  if (bytes === null) return { text: null, encoding: 'utf8' };
  try {
    return { text: strictUtf8.decode(bytes), encoding: 'utf8' };
  } catch {
    return { text: bytes.toString('base64'), encoding: 'base64' };
  }
}

function jsonText(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item: unknown) => {
      if (typeof item === 'bigint') return item.toString();
      if (Buffer.isBuffer(item)) return item.toString('base64');
      if (item instanceof Uint8Array) return Buffer.from(item).toString('base64');
      return item;
    },
    2,
  );
}

/**
 * Lag of one committed partition: records to the high watermark, and the age in seconds of the
 * record at the committed offset (the oldest unconsumed one), read from its batch.
 */
export async function partitionLag(
  runtime: BrokerRuntime,
  entry: { topic: string; partition: number; committedOffset: number },
): Promise<PartitionLag | undefined> {
  const log = partitionLog(runtime, entry.topic, entry.partition);
  if (log === undefined) return undefined;
  const endOffset = Number(log.highWatermark);
  const from = Math.max(entry.committedOffset, Number(log.logStartOffset));
  const lag = Math.max(0, endOffset - entry.committedOffset);
  let lagSeconds = 0;
  if (from < endOffset) {
    const timestamp = await timestampAt(runtime, log, BigInt(from));
    if (timestamp !== undefined) lagSeconds = Math.max(0, (runtime.now() - timestamp) / 1000);
  }
  return { ...entry, endOffset, lag, lagSeconds };
}

async function timestampAt(
  runtime: BrokerRuntime,
  log: PartitionLog,
  offset: bigint,
): Promise<number | undefined> {
  const [batch] = await log.read(offset, 1);
  if (batch === undefined) return undefined;
  const header = readBatchHeader(batch);
  if (header.isControl || header.timestampType === 'log-append') {
    return Number(header.isControl ? header.baseTimestamp : header.maxTimestamp);
  }
  const records = decodeRecords(batch, {
    maxDecompressedBytes: runtime.config.decompressedBatchMaxBytes,
  });
  const record = records.find((candidate) => candidate.offset >= offset) ?? records.at(-1);
  return record === undefined ? undefined : Number(record.timestamp);
}

/** The consumer protocol's assignment (version, [topic, [partition]], user data). */
export function decodeAssignment(bytes: Buffer): GroupMember['assignment'] {
  try {
    let at = 2;
    const topics: { topic: string; partitions: number[] }[] = [];
    const count = bytes.readInt32BE(at);
    at += 4;
    for (let i = 0; i < count; i++) {
      const length = bytes.readInt16BE(at);
      at += 2;
      const topic = bytes.toString('utf8', at, at + length);
      at += length;
      const partitionCount = bytes.readInt32BE(at);
      at += 4;
      const partitions: number[] = [];
      for (let p = 0; p < partitionCount; p++, at += 4) partitions.push(bytes.readInt32BE(at));
      topics.push({ topic, partitions });
    }
    return topics;
  } catch {
    // Not the consumer protocol (Connect, a custom protocol): nothing to show.
    return [];
  }
}

export async function transactionSummaries(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
): Promise<TransactionSummary[]> {
  const listed = await callApi(runtime, caller, listTransactionsApi, 1, {});
  const ids = listed.transactionStates.map((state) => state.transactionalId);
  if (ids.length === 0) return [];
  const described = await callApi(runtime, caller, describeTransactionsApi, 0, {
    transactionalIds: ids,
  });
  return described.transactionStates
    .filter((state) => state.errorCode === 0)
    .map((state) => ({
      transactionalId: state.transactionalId,
      state: state.transactionState,
      producerId: String(state.producerId),
      producerEpoch: state.producerEpoch,
      timeoutMs: state.transactionTimeoutMs,
      startTimeMs: Number(state.transactionStartTimeMs),
      partitions: state.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions,
      })),
    }))
    .toSorted((a, b) => a.transactionalId.localeCompare(b.transactionalId));
}

export async function brokersView(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
): Promise<BrokersView> {
  const cluster = await callApi(runtime, caller, describeClusterApi, 1, { endpointType: 1 });
  const leaders = new Map<number, number>();
  for (const topic of runtime.storage.listTopics()) {
    for (let index = 0; index < topic.partitionCount; index++) {
      const leader =
        runtime.storage.cluster === undefined
          ? runtime.nodeId
          : runtime.storage.cluster.leaderOf(topic.topicId, index)?.nodeId;
      if (leader !== undefined) leaders.set(leader, (leaders.get(leader) ?? 0) + 1);
    }
  }
  return {
    controllerId: cluster.controllerId,
    brokers: cluster.brokers
      .map((broker) => ({
        nodeId: broker.brokerId,
        host: broker.host,
        port: broker.port,
        rack: broker.rack,
        leaderOf: leaders.get(broker.brokerId) ?? 0,
      }))
      .toSorted((a, b) => a.nodeId - b.nodeId),
    ...(runtime.storage.cluster === undefined ? {} : { leaseMs: runtime.storage.cluster.leaseMs }),
  };
}

const resourceTypes: Record<number, string> = {
  2: 'TOPIC',
  3: 'GROUP',
  4: 'CLUSTER',
  5: 'TRANSACTIONAL_ID',
  6: 'DELEGATION_TOKEN',
  7: 'USER',
};
const patternTypes: Record<number, string> = { 3: 'LITERAL', 4: 'PREFIXED' };
const operations: Record<number, string> = {
  2: 'ALL',
  3: 'READ',
  4: 'WRITE',
  5: 'CREATE',
  6: 'DELETE',
  7: 'ALTER',
  8: 'DESCRIBE',
  9: 'CLUSTER_ACTION',
  10: 'DESCRIBE_CONFIGS',
  11: 'ALTER_CONFIGS',
  12: 'IDEMPOTENT_WRITE',
  13: 'CREATE_TOKENS',
  14: 'DESCRIBE_TOKENS',
};

export async function aclEntries(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
): Promise<AclEntry[]> {
  const cluster = { type: ResourceType.CLUSTER, name: clusterResourceName };
  if (!consoleMay(runtime, caller, AclOperation.DESCRIBE, cluster)) {
    throw new ConsoleRequestError(`${caller.principal} may not describe ACLs`, 403);
  }
  const bindings = await runtime.storage.listAcls();
  return bindings.map((binding) => ({
    resourceType: resourceTypes[binding.resourceType] ?? String(binding.resourceType),
    resourceName: binding.resourceName,
    patternType: patternTypes[binding.patternType] ?? String(binding.patternType),
    principal: binding.principal,
    host: binding.host,
    operation: operations[binding.operation] ?? String(binding.operation),
    permission: binding.permissionType === 2 ? 'DENY' : 'ALLOW',
  }));
}

async function registrySubjects(runtime: BrokerRuntime): Promise<string[]> {
  const registry = runtime.schemaRegistry;
  if (registry === undefined) return [];
  return registry.subjects({ prefix: '', includeDeleted: false });
}

export async function subjectViews(runtime: BrokerRuntime): Promise<SubjectView[]> {
  const registry = runtime.schemaRegistry;
  if (registry === undefined) return [];
  const views: SubjectView[] = [];
  for (const subject of (await registrySubjects(runtime)).toSorted()) {
    const versions = [];
    for (const version of await registry.versionNumbers(subject, false)) {
      const schema = await registry.version(subject, version, false);
      versions.push({
        version: schema.version,
        id: schema.id,
        schemaType: schema.schemaType,
        schema: schema.schema,
      });
    }
    views.push({ subject, versions });
  }
  return views;
}
