/**
 * Idempotence with real clients (issue 3 proof): the client produces through a CuttingProxy
 * that drops the connection instead of delivering some Produce responses, so the client retries
 * writes that already happened. With idempotence on, every record must be stored exactly once,
 * and in send order within each partition. Checked on the broker's own log, not via a consumer.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startBroker, type RunningBroker } from '@tributary/broker';
import { decodeRecords } from '@tributary/protocol';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { clientCell, compatibilityScenarios, recordStep, runCommand } from '../../src/index.ts';
import { CuttingProxy } from './cutting-proxy.ts';

const partitionCount = 3;
const cell = (client: 'confluentKafka' | 'kafkajs' | 'platformatic') => () =>
  clientCell(client, compatibilityScenarios.idempotence);
const pythonPath = '/usr/bin/python3';
const producerScript = join(
  dirname(fileURLToPath(import.meta.url)),
  'python',
  'idempotent_produce.py',
);

/** Every record value in partition order, read straight from the broker's log. */
async function storedValues(broker: RunningBroker, topic: string): Promise<string[][]> {
  const topicId = broker.storage.getTopic(topic)?.topicId;
  assert.ok(topicId !== undefined, `topic ${topic}`);
  const partitions: string[][] = [];
  for (let index = 0; index < partitionCount; index++) {
    const log = broker.storage.partition(topicId, index);
    assert.ok(log !== undefined);
    const values: string[] = [];
    for (const batch of await log.read(0n, 256 * 1024 * 1024)) {
      for (const record of decodeRecords(batch, { maxDecompressedBytes: 64 << 20 })) {
        values.push(record.value?.toString() ?? '');
      }
    }
    partitions.push(values);
  }
  return partitions;
}

/** Record i went to partition i % partitionCount with value `${prefix}-${i}`. */
function expectedValues(prefix: string, count: number): string[][] {
  const partitions: string[][] = Array.from({ length: partitionCount }, () => []);
  for (let i = 0; i < count; i++) partitions[i % partitionCount]?.push(`${prefix}-${i}`);
  return partitions;
}

describe(
  'idempotent producers retrying through a connection-cutting proxy',
  { timeout: 300_000 },
  () => {
    let proxy: CuttingProxy;
    let broker: RunningBroker;

    before(async () => {
      proxy = await CuttingProxy.start({
        upstreamHost: '127.0.0.1',
        upstreamPort: 0,
        cutEvery: 7,
        maxCuts: 6,
      });
      broker = await startBroker({
        port: 0,
        host: '127.0.0.1',
        inMemory: true,
        quiet: true,
        advertisedListener: { host: '127.0.0.1', port: proxy.port },
      });
      proxy.upstreamPort = broker.port;
    });

    after(async () => {
      await proxy.close();
      await broker.close();
    });

    /** Creates the topic and lets the proxy cut connections again; returns the cuts so far. */
    async function startCutting(topic: string): Promise<number> {
      await broker.storage.createTopic({ name: topic, partitionCount, configs: {} });
      const cutsBefore = proxy.cuts;
      proxy.allowMoreCuts();
      return cutsBefore;
    }

    /**
     * The proxy must have cut a connection since `cutsBefore` (else the test proved nothing) and
     * the log must hold `${prefix}-0` .. `${prefix}-${count - 1}` once each, in send order per
     * partition.
     */
    async function assertStoredOnce(
      t: TestContext,
      cutsBefore: number,
      topic: string,
      prefix: string,
      count: number,
    ): Promise<void> {
      t.diagnostic(`proxy cut ${proxy.cuts - cutsBefore} connections`);
      assert.ok(proxy.cuts > cutsBefore, 'the proxy cut no connection: the test proved nothing');
      assert.deepEqual(await storedValues(broker, topic), expectedValues(prefix, count));
    }

    const librdkafkaTitle = 'librdkafka (confluent-kafka, enable.idempotence): once, in order';
    it(librdkafkaTitle, (t) =>
      recordStep(t, cell('confluentKafka'), async () => {
        const topic = 'idempotent-librdkafka';
        const cutsBefore = await startCutting(topic);
        const count = 3000;
        const result = await runCommand(
          pythonPath,
          [
            producerScript,
            `127.0.0.1:${proxy.port}`,
            topic,
            String(partitionCount),
            String(count),
            'r',
          ],
          { timeoutMs: 150_000 },
        );
        t.diagnostic(result.stderr.slice(-500));
        assert.equal(result.code, 0, result.stderr);
        const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as {
          delivered: number;
          errors: string[];
        };
        assert.deepEqual(summary.errors, []);
        assert.equal(summary.delivered, count);
        await assertStoredOnce(t, cutsBefore, topic, 'r', count);
      }),
    );

    for (const maxInFlightRequests of [1, 5]) {
      const title = `kafkajs (idempotent, maxInFlightRequests ${maxInFlightRequests}), in order`;
      it(title, (t) =>
        recordStep(t, cell('kafkajs'), async () => {
          const topic = `idempotent-kafkajs-${maxInFlightRequests}`;
          const cutsBefore = await startCutting(topic);
          const kafka = new Kafka({
            clientId: 'idempotence-test',
            brokers: [`127.0.0.1:${proxy.port}`],
            logLevel: logLevel.NOTHING,
            retry: { initialRetryTime: 20, retries: 30 },
          });
          const producer = kafka.producer({ idempotent: true, maxInFlightRequests });
          await producer.connect();
          const count = 600;
          const batchSize = 10;
          try {
            // One send at a time: kafkajs serialises idempotent requests per broker anyway, and
            // concurrent send() calls are unsafe in kafkajs 2.2.4 (a send whose connection broke
            // gives its sequence numbers back while another send already took the broker lock,
            // so the next batch reuses sequences of a batch the broker stored).
            for (let start = 0; start < count; start += batchSize) {
              const messages = [];
              for (let i = start; i < start + batchSize; i++) {
                messages.push({ value: `k-${i}`, partition: i % partitionCount });
              }
              await producer.send({ topic, acks: -1, messages });
            }
          } finally {
            await producer.disconnect();
          }
          await assertStoredOnce(t, cutsBefore, topic, 'k', count);
        }),
      );
    }

    it('@platformatic/kafka (idempotent) stores every record once, in order', (t) =>
      recordStep(t, cell('platformatic'), async () => {
        const topic = 'idempotent-platformatic';
        const cutsBefore = await startCutting(topic);
        const producer = new Producer({
          clientId: 'idempotence-test',
          bootstrapBrokers: [`127.0.0.1:${proxy.port}`],
          idempotent: true,
          retries: 30,
          retryDelay: 20,
          serializers: stringSerializers,
        });
        const count = 600;
        const batchSize = 10;
        try {
          for (let start = 0; start < count; start += batchSize) {
            const messages = [];
            for (let i = start; i < start + batchSize; i++) {
              messages.push({ topic, value: `p-${i}`, partition: i % partitionCount });
            }
            await producer.send({ messages });
          }
        } finally {
          await producer.close();
        }
        await assertStoredOnce(t, cutsBefore, topic, 'p', count);
      }));
  },
);
