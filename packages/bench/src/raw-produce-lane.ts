/**
 * The small-producers workload's like-for-like client: a paced lane (peer-paced.ts) that speaks
 * Kafka's Produce v9 from the bench process, one connection per lane, one single-record batch
 * per request (acks=all), the answer matched by correlation id. The peers (Redis, NATS) are
 * loaded by the suite's own raw clients the same way, so this row compares the brokers with
 * the same client cost, while the librdkafka and platformatic rows add each client's own.
 */
import { KafkaConnection } from '@tributary/broker';
import { buildRecordBatch, ErrorCode, produceApi } from '@tributary/protocol';
import { firstBrokerOf } from './bench-context.ts';
import type { OpenedLane } from './peer-paced.ts';

export const rawProducerClient = 'bench raw Kafka client (Produce v9)';

/** Opens one lane producing to `partition` of `topic` through the broker at `bootstrap`. */
export async function openRawProduceLane(
  bootstrap: string,
  topic: string,
  partition: number,
): Promise<OpenedLane> {
  const connection = await KafkaConnection.connect(firstBrokerOf(bootstrap), {
    clientId: 'bench-raw-producer',
    requestTimeoutMs: 30_000,
  });
  return {
    make: (acks) => ({
      send: (items) => {
        for (const { seq, payload } of items) {
          const records = buildRecordBatch({
            records: [{ key: null, value: Buffer.from(payload) }],
          });
          const body = {
            transactionalId: null,
            acks: -1,
            timeoutMs: 30_000,
            topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
          };
          connection.request(produceApi, 9, body).then(
            (response) => {
              const code = response.responses[0]?.partitionResponses[0]?.errorCode;
              if (code === ErrorCode.NONE) acks.acked(seq);
              else acks.failed();
            },
            () => acks.failed(),
          );
        }
      },
    }),
    close: () => {
      connection.close();
      return Promise.resolve();
    },
  };
}
