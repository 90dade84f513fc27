/**
 * The broker over TCP with the project's own codecs as the client: response ordering under
 * pipelining, acks=0, the fetch long poll woken by an append, and ApiVersions negotiation.
 * Real Kafka clients are exercised in packages/testing; these pin the broker's own contracts.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import {
  ErrorCode,
  Reader,
  Writer,
  apiVersionsApi,
  buildRecordBatch,
  describeClusterApi,
  describeConfigsApi,
  incrementalAlterConfigsApi,
  fetchApi,
  metadataApi,
  offsetForLeaderEpochApi,
  produceApi,
  readResponseHeader,
  splitBatches,
  responseHeaderVersion,
  type ApiDescriptor,
  encodeRequestFrame,
} from '@tributary/protocol';
import { startBroker, type RunningBroker } from './broker.ts';

class WireClient {
  readonly #socket: Socket;
  #buffered = Buffer.alloc(0);
  #waiters: ((frame: Buffer) => void)[] = [];
  #frames: Buffer[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk]);
      while (
        this.#buffered.length >= 4 &&
        this.#buffered.length >= 4 + this.#buffered.readInt32BE(0)
      ) {
        const size = this.#buffered.readInt32BE(0);
        const frame = this.#buffered.subarray(4, 4 + size);
        this.#buffered = this.#buffered.subarray(4 + size);
        const waiter = this.#waiters.shift();
        if (waiter === undefined) this.#frames.push(frame);
        else waiter(frame);
      }
    });
  }

  static connect(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  send<Request, RequestInit, Response, ResponseInit>(
    api: ApiDescriptor<Request, RequestInit, Response, ResponseInit>,
    version: number,
    correlationId: number,
    body: RequestInit,
  ): void {
    this.#socket.write(
      encodeRequestFrame(api, version, { correlationId, clientId: 'broker-test' }, body),
    );
  }

  nextFrame(): Promise<Buffer> {
    const ready = this.#frames.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async receive<Request, RequestInit, Response, ResponseInit>(
    api: ApiDescriptor<Request, RequestInit, Response, ResponseInit>,
    version: number,
  ): Promise<{ correlationId: number; body: Response }> {
    const reader = new Reader(await this.nextFrame());
    const header = readResponseHeader(reader, responseHeaderVersion(api.apiKey, version));
    return { correlationId: header.correlationId, body: api.readResponse(reader, version) };
  }

  close(): void {
    this.#socket.destroy();
  }
}

let broker: RunningBroker;
const clients: WireClient[] = [];

before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', inMemory: true, quiet: true });
  await broker.storage.createTopic({ name: 'wire', partitionCount: 2 });
});

after(async () => {
  for (const open of clients) open.close();
  await broker.close();
});

async function client(): Promise<WireClient> {
  const created = await WireClient.connect(broker.port);
  clients.push(created);
  return created;
}

function produceBody(acks: number, partition: number, value: string) {
  const records = buildRecordBatch({ records: [{ key: null, value: Buffer.from(value) }] });
  return {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: 'wire', partitionData: [{ index: partition, records }] }],
  };
}

test('pipelined requests are answered in request order', async () => {
  const wire = await client();
  wire.send(produceApi, 9, 1, produceBody(-1, 0, 'first'));
  wire.send(apiVersionsApi, 3, 2, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  wire.send(metadataApi, 12, 3, { topics: null, allowAutoTopicCreation: false });
  const first = await wire.receive(produceApi, 9);
  assert.equal(first.correlationId, 1);
  assert.equal(first.body.responses[0]?.partitionResponses[0]?.errorCode, 0);
  assert.equal((await wire.receive(apiVersionsApi, 3)).correlationId, 2);
  const metadata = await wire.receive(metadataApi, 12);
  assert.equal(metadata.correlationId, 3);
  assert.ok(metadata.body.topics.some((topic) => topic.name === 'wire'));
});

test(
  'a response larger than a write slice arrives whole, before the next one',
  { timeout: 30_000 },
  async () => {
    await broker.storage.createTopic({ name: 'large', partitionCount: 1 });
    const wire = await client();
    const values = [1, 2, 3, 4, 5].map((fill) => Buffer.alloc(700_000, fill));
    for (const [i, value] of values.entries()) {
      const records = buildRecordBatch({ records: [{ key: null, value }] });
      wire.send(produceApi, 9, 30 + i, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: 'large', partitionData: [{ index: 0, records }] }],
      });
      assert.equal((await wire.receive(produceApi, 9)).correlationId, 30 + i);
    }
    wire.send(fetchApi, 11, 40, {
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 8 << 20,
      isolationLevel: 0,
      topics: [
        {
          topic: 'large',
          partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 8 << 20 }],
        },
      ],
    });
    wire.send(apiVersionsApi, 3, 41, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    const fetched = await wire.receive(fetchApi, 11);
    assert.equal(fetched.correlationId, 40);
    const records = fetched.body.responses[0]?.partitions[0]?.records ?? Buffer.alloc(0);
    assert.ok(records.length > 3 * 1024 * 1024, `${records.length} bytes: several slices`);
    const { batches } = splitBatches(records) as { batches: Buffer[] };
    assert.equal(batches.length, values.length);
    for (const [i, value] of values.entries()) {
      assert.ok((batches[i] as Buffer).includes(value), `batch ${i} holds its value`);
    }
    assert.equal((await wire.receive(apiVersionsApi, 3)).correlationId, 41);
  },
);

test('acks=0 produce gets no response, and the record is stored', async () => {
  const wire = await client();
  wire.send(produceApi, 7, 10, produceBody(0, 1, 'fire-and-forget'));
  wire.send(apiVersionsApi, 0, 11, {});
  assert.equal((await wire.receive(apiVersionsApi, 0)).correlationId, 11);
  const topic = broker.storage.getTopic('wire');
  assert.ok(topic !== undefined);
  assert.equal(broker.storage.partition(topic.topicId, 1)?.highWatermark, 1n);
});

test('a fetch waiting at the end of the log is woken by an append', async () => {
  const topic = broker.storage.getTopic('wire');
  assert.ok(topic !== undefined);
  const log = broker.storage.partition(topic.topicId, 0);
  assert.ok(log !== undefined);
  const end = log.highWatermark;
  const consumer = await client();
  consumer.send(fetchApi, 11, 20, {
    maxWaitMs: 20_000,
    minBytes: 1,
    isolationLevel: 1,
    topics: [
      {
        topic: 'wire',
        partitions: [{ partition: 0, fetchOffset: end, partitionMaxBytes: 1 << 20 }],
      },
    ],
  });
  const pending = consumer.receive(fetchApi, 11);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const producer = await client();
  producer.send(produceApi, 7, 21, produceBody(1, 0, 'wake up'));
  const started = Date.now();
  const fetched = await pending;
  // Well inside the 20 s wait: the append, not the timeout, ended the poll.
  assert.ok(Date.now() - started < 10_000);
  const partition = fetched.body.responses[0]?.partitions[0];
  assert.equal(partition?.errorCode, 0);
  assert.equal(partition?.highWatermark, end + 1n);
  assert.ok((partition?.records?.length ?? 0) > 0);
});

test('an unsupported ApiVersions version gets a v0 answer with UNSUPPORTED_VERSION', async () => {
  const writer = new Writer();
  writer.writeInt32(0);
  writer.writeInt16(apiVersionsApi.apiKey);
  writer.writeInt16(99);
  writer.writeInt32(31);
  writer.writeNullableString('x');
  const frame = writer.toBuffer();
  frame.writeInt32BE(frame.length - 4, 0);
  const socket = connect({ host: '127.0.0.1', port: broker.port });
  await new Promise((resolve) => socket.once('connect', resolve));
  const answer = new Promise<Buffer>((resolve) => socket.once('data', resolve));
  socket.write(frame);
  const bytes = await answer;
  socket.destroy();
  const reader = new Reader(bytes.subarray(4));
  assert.equal(readResponseHeader(reader, 0).correlationId, 31);
  const body = apiVersionsApi.readResponse(reader, 0);
  assert.equal(body.errorCode, 35);
  assert.ok(
    body.apiKeys.some((key) => key.apiKey === apiVersionsApi.apiKey && key.maxVersion === 4),
  );
});

test('DescribeCluster names this broker; controller endpoints are refused', async () => {
  const wire = await client();
  wire.send(describeClusterApi, 1, 40, {
    includeClusterAuthorizedOperations: false,
    endpointType: 1,
  });
  const { body } = await wire.receive(describeClusterApi, 1);
  assert.equal(body.errorCode, 0);
  assert.equal(body.clusterId, broker.clusterId);
  assert.deepEqual(
    body.brokers.map((entry) => [entry.brokerId, entry.port]),
    [[broker.nodeId, broker.port]],
  );
  wire.send(describeClusterApi, 1, 41, {
    includeClusterAuthorizedOperations: false,
    endpointType: 2,
  });
  assert.equal(
    (await wire.receive(describeClusterApi, 1)).body.errorCode,
    ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
  );
});

test('OffsetForLeaderEpoch: epoch 0 ends at the log end; other epochs are unknown', async () => {
  const wire = await client();
  wire.send(produceApi, 7, 50, produceBody(-1, 1, 'epoch'));
  await wire.receive(produceApi, 7);
  const ask = (correlationId: number, currentLeaderEpoch: number, leaderEpoch: number) => {
    wire.send(offsetForLeaderEpochApi, 4, correlationId, {
      replicaId: -1,
      topics: [{ topic: 'wire', partitions: [{ partition: 1, currentLeaderEpoch, leaderEpoch }] }],
    });
    return wire.receive(offsetForLeaderEpochApi, 4);
  };
  const topic = broker.storage.getTopic('wire');
  assert.ok(topic !== undefined);
  const end = broker.storage.partition(topic.topicId, 1);
  const answer = (await ask(51, 0, 0)).body.topics[0]?.partitions[0];
  assert.deepEqual(
    [answer?.errorCode, answer?.leaderEpoch, answer?.endOffset],
    [0, 0, end?.highWatermark],
  );
  const unknown = (await ask(52, -1, 3)).body.topics[0]?.partitions[0];
  assert.deepEqual([unknown?.errorCode, unknown?.leaderEpoch, unknown?.endOffset], [0, -1, -1n]);
  const future = (await ask(53, 2, 0)).body.topics[0]?.partitions[0];
  assert.equal(future?.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  wire.send(offsetForLeaderEpochApi, 2, 54, {
    replicaId: -1,
    topics: [
      { topic: 'nope', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] },
    ],
  });
  const missing = (await wire.receive(offsetForLeaderEpochApi, 2)).body.topics[0]?.partitions[0];
  assert.equal(missing?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test('IncrementalAlterConfigs sets, appends to, subtracts from and deletes topic configs', async () => {
  const wire = await client();
  const alter = async (
    configs: { name: string; configOperation: number; value: string | null }[],
  ) => {
    wire.send(incrementalAlterConfigsApi, 1, 50, {
      resources: [{ resourceType: 2, resourceName: 'wire', configs }],
      validateOnly: false,
    });
    return (await wire.receive(incrementalAlterConfigsApi, 1)).body.responses[0]?.errorCode;
  };
  const describe = async (name: string) => {
    wire.send(describeConfigsApi, 4, 51, {
      resources: [{ resourceType: 2, resourceName: 'wire', configurationKeys: [name] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const { body } = await wire.receive(describeConfigsApi, 4);
    const entry = body.results[0]?.configs[0];
    return { value: entry?.value, source: entry?.configSource };
  };
  assert.equal(await alter([{ name: 'retention.ms', configOperation: 0, value: '1000' }]), 0);
  assert.deepEqual(await describe('retention.ms'), { value: '1000', source: 1 });
  assert.equal(await alter([{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }]), 0);
  assert.equal((await describe('cleanup.policy')).value, 'delete,compact');
  assert.equal(await alter([{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }]), 0);
  assert.equal((await describe('cleanup.policy')).value, 'compact');
  assert.equal(await alter([{ name: 'retention.ms', configOperation: 1, value: null }]), 0);
  assert.deepEqual(await describe('retention.ms'), { value: '604800000', source: 5 });
  // Unknown names, bad values and login-module settings are refused.
  assert.equal(
    await alter([{ name: 'sasl.jaas.config', configOperation: 0, value: 'x' }]),
    ErrorCode.INVALID_CONFIG,
  );
  assert.equal(
    await alter([{ name: 'retention.ms', configOperation: 0, value: 'soon' }]),
    ErrorCode.INVALID_CONFIG,
  );
});
