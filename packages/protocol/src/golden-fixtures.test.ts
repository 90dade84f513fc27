/**
 * Golden byte fixtures: messages built by hand, field by field, from Kafka's protocol spec, and
 * checked byte for byte against the generated encoders and decoded back by the generated
 * decoders. A fixture is independent of the generator, so a generator bug cannot hide itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  readApiVersionsRequest,
  readApiVersionsResponse,
  writeApiVersionsRequest,
  writeApiVersionsResponse,
} from './generated/api-versions.ts';
import { readFetchResponse, writeFetchResponse } from './generated/fetch.ts';
import { readMetadataResponse, writeMetadataResponse } from './generated/metadata.ts';
import { readProduceRequest, writeProduceRequest } from './generated/produce.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

const i8 = (v: number): Buffer => Buffer.of(v & 0xff);
const i16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
};
const i32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const i64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
};
/** Unsigned varint; every value used here is below 128, so one byte. */
const uv = (v: number): Buffer => {
  assert.ok(v >= 0 && v < 128);
  return Buffer.of(v);
};
const str = (s: string): Buffer => Buffer.concat([i16(Buffer.byteLength(s)), Buffer.from(s)]);
const cstr = (s: string): Buffer => Buffer.concat([uv(Buffer.byteLength(s) + 1), Buffer.from(s)]);
const noTags = uv(0);
const cat = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

function encode<T>(write: (w: Writer, v: number, m: T) => void, version: number, m: T): Buffer {
  const writer = new Writer();
  write(writer, version, m);
  return writer.toBuffer();
}

function decode<T>(read: (r: Reader, v: number) => T, version: number, bytes: Buffer): T {
  const reader = new Reader(bytes);
  const message = read(reader, version);
  assert.equal(reader.remaining, 0, 'decoder must consume the whole body');
  return message;
}

test('ApiVersions v0 request is empty, v3 carries the client software', () => {
  assert.deepEqual(encode(writeApiVersionsRequest, 0, {}), Buffer.alloc(0));
  const v3 = cat(cstr('tributary'), cstr('1.0'), noTags);
  const message = { clientSoftwareName: 'tributary', clientSoftwareVersion: '1.0' };
  assert.deepEqual(encode(writeApiVersionsRequest, 3, message), v3);
  assert.deepEqual(decode(readApiVersionsRequest, 3, v3), message);
  assert.deepEqual(decode(readApiVersionsRequest, 0, Buffer.alloc(0)), {
    clientSoftwareName: '',
    clientSoftwareVersion: '',
  });
});

test('ApiVersions v0 response', () => {
  const bytes = cat(i16(0), i32(2), i16(0), i16(0), i16(12), i16(18), i16(0), i16(4));
  const apiKeys = [
    { apiKey: 0, minVersion: 0, maxVersion: 12 },
    { apiKey: 18, minVersion: 0, maxVersion: 4 },
  ];
  assert.deepEqual(encode(writeApiVersionsResponse, 0, { errorCode: 0, apiKeys }), bytes);
  const decoded = decode(readApiVersionsResponse, 0, bytes);
  assert.deepEqual(decoded.apiKeys, apiKeys);
  assert.equal(decoded.throttleTimeMs, 0);
  assert.equal(decoded.finalizedFeaturesEpoch, -1n);
});

test('ApiVersions v3 response with a tagged field', () => {
  const bytes = cat(
    i16(0),
    uv(2), // compact array: 1 element
    i16(18),
    i16(0),
    i16(4),
    noTags,
    i32(100), // throttle
    uv(1), // one tagged field
    uv(1), // tag 1: FinalizedFeaturesEpoch
    uv(8),
    i64(7n),
  );
  const message = {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
    throttleTimeMs: 100,
    finalizedFeaturesEpoch: 7n,
  };
  assert.deepEqual(encode(writeApiVersionsResponse, 3, message), bytes);
  const decoded = decode(readApiVersionsResponse, 3, bytes);
  assert.equal(decoded.finalizedFeaturesEpoch, 7n);
  assert.equal(decoded.throttleTimeMs, 100);
  assert.deepEqual(decoded.supportedFeatures, []);
  assert.equal(decoded.zkMigrationReady, false);
});

const batch = Buffer.from('00000000000000000000003a', 'hex');

test('Produce v7 request', () => {
  const bytes = cat(
    i16(-1), // null transactional id
    i16(-1), // acks
    i32(30000),
    i32(1),
    str('orders'),
    i32(1),
    i32(3),
    i32(batch.length),
    batch,
  );
  const message = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'orders', partitionData: [{ index: 3, records: batch }] }],
  };
  assert.deepEqual(encode(writeProduceRequest, 7, message), bytes);
  assert.deepEqual(decode(readProduceRequest, 7, bytes), message);
});

test('Produce v9 request (flexible) with records given as two batches', () => {
  const half = batch.subarray(0, 5);
  const rest = batch.subarray(5);
  const bytes = cat(
    cstr('tx-1'),
    i16(1),
    i32(1000),
    uv(2),
    cstr('t'),
    uv(2),
    i32(0),
    uv(batch.length + 1),
    batch,
    noTags, // partition
    noTags, // topic
    noTags, // request
  );
  const init = {
    transactionalId: 'tx-1',
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records: [half, rest] }] }],
  };
  assert.deepEqual(encode(writeProduceRequest, 9, init), bytes);
  const decoded = decode(readProduceRequest, 9, bytes);
  const records = decoded.topicData[0]?.partitionData[0]?.records;
  assert.deepEqual(records, batch);
  assert.equal(records?.buffer, bytes.buffer, 'records are a view of the input, not a copy');
});

test('Metadata v1 response', () => {
  const bytes = cat(
    i32(1), // brokers
    i32(1),
    str('localhost'),
    i32(9092),
    i16(-1), // rack null
    i32(1), // controller id
    i32(1), // topics
    i16(0),
    str('orders'),
    i8(0), // is_internal
    i32(1), // partitions
    i16(0),
    i32(0),
    i32(1), // leader
    i32(1),
    i32(1), // replicas [1]
    i32(1),
    i32(1), // isr [1]
  );
  const message = {
    brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }],
    controllerId: 1,
    topics: [
      {
        errorCode: 0,
        name: 'orders',
        isInternal: false,
        partitions: [
          { errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] },
        ],
      },
    ],
  };
  assert.deepEqual(encode(writeMetadataResponse, 1, message), bytes);
  const decoded = decode(readMetadataResponse, 1, bytes);
  assert.equal(decoded.topics[0]?.name, 'orders');
  assert.equal(decoded.topics[0]?.topicId, 'AAAAAAAAAAAAAAAAAAAAAA');
  assert.equal(decoded.topics[0]?.partitions[0]?.leaderEpoch, -1);
  assert.equal(decoded.clusterId, null);
});

test('Metadata v12 response (flexible, topic id)', () => {
  const topicIdBytes = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  const topicId = topicIdBytes.toString('base64url');
  const bytes = cat(
    i32(0), // throttle
    uv(2),
    i32(1),
    cstr('localhost'),
    i32(9092),
    uv(0), // rack null
    noTags,
    cstr('cluster-a'),
    i32(1), // controller
    uv(2),
    i16(0),
    cstr('orders'),
    topicIdBytes,
    i8(0),
    uv(2),
    i16(0),
    i32(0),
    i32(1),
    i32(5), // leader epoch
    uv(2),
    i32(1),
    uv(2),
    i32(1),
    uv(1), // offline replicas []
    noTags,
    i32(-2147483648), // topic authorized operations
    noTags,
    noTags,
  );
  const partition = {
    errorCode: 0,
    partitionIndex: 0,
    leaderId: 1,
    leaderEpoch: 5,
    replicaNodes: [1],
    isrNodes: [1],
    offlineReplicas: [],
  };
  const message = {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }],
    clusterId: 'cluster-a',
    controllerId: 1,
    topics: [{ errorCode: 0, name: 'orders', topicId, isInternal: false, partitions: [partition] }],
  };
  assert.deepEqual(encode(writeMetadataResponse, 12, message), bytes);
  const decoded = decode(readMetadataResponse, 12, bytes);
  assert.equal(decoded.topics[0]?.topicId, topicId);
  assert.equal(decoded.topics[0]?.topicAuthorizedOperations, -2147483648);
  assert.deepEqual(decoded.topics[0]?.partitions[0], partition);
});

test('Fetch v4 response', () => {
  const bytes = cat(
    i32(0),
    i32(1),
    str('orders'),
    i32(1),
    i32(2),
    i16(0),
    i64(10n), // high watermark
    i64(10n), // last stable offset
    i32(1), // aborted transactions
    i64(42n),
    i64(3n),
    i32(batch.length),
    batch,
  );
  const partition = {
    partitionIndex: 2,
    errorCode: 0,
    highWatermark: 10n,
    lastStableOffset: 10n,
    abortedTransactions: [{ producerId: 42n, firstOffset: 3n }],
    records: batch,
  };
  const message = { throttleTimeMs: 0, responses: [{ topic: 'orders', partitions: [partition] }] };
  assert.deepEqual(encode(writeFetchResponse, 4, message), bytes);
  const decoded = decode(readFetchResponse, 4, bytes);
  assert.deepEqual(decoded.responses[0]?.partitions[0]?.records, batch);
  assert.equal(decoded.responses[0]?.partitions[0]?.logStartOffset, -1n);
});

test('Fetch v12 response with a tagged current leader and null aborted transactions', () => {
  const bytes = cat(
    i32(0),
    i16(0),
    i32(77), // session id
    uv(2),
    cstr('orders'),
    uv(2),
    i32(0),
    i16(6), // NOT_LEADER_OR_FOLLOWER
    i64(-1n),
    i64(-1n),
    i64(-1n),
    uv(0), // aborted transactions: null
    i32(-1), // preferred read replica
    uv(1), // records: empty
    uv(1), // one tagged field
    uv(1), // tag 1: CurrentLeader
    uv(9), // size: int32 + int32 + tags
    i32(2),
    i32(9),
    noTags,
    noTags, // topic
    noTags, // response
  );
  const message = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 77,
    responses: [
      {
        topic: 'orders',
        partitions: [
          {
            partitionIndex: 0,
            errorCode: 6,
            highWatermark: -1n,
            lastStableOffset: -1n,
            logStartOffset: -1n,
            abortedTransactions: null,
            currentLeader: { leaderId: 2, leaderEpoch: 9 },
          },
        ],
      },
    ],
  };
  assert.deepEqual(encode(writeFetchResponse, 12, message), bytes);
  const decoded = decode(readFetchResponse, 12, bytes);
  const partition = decoded.responses[0]?.partitions[0];
  assert.deepEqual(partition?.currentLeader, { leaderId: 2, leaderEpoch: 9 });
  assert.deepEqual(partition?.divergingEpoch, { epoch: -1, endOffset: -1n });
  assert.equal(partition?.abortedTransactions, null);
  assert.equal(partition?.records?.length, 0);
});
