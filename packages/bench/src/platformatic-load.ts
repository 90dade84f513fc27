/**
 * Node-side Kafka load with @platformatic/kafka (the Node view of the broker): many small
 * producers on their own connections, each at a fixed rate with ack latency measured from the
 * intended send time; and a single-record pipelined producer, the same request shape as the
 * peers' pipelined XADD / JetStream publish, for a like-with-like comparison. And a filler that
 * puts one record into every partition of a topic, many partitions per Produce request.
 */
import { ProduceAcks, Producer } from '@platformatic/kafka';
import { summarizeMs, type LatencySummary } from './latency-summary.ts';

export const platformaticClient = '@platformatic/kafka 2.12';

export interface SmallProducersOptions {
  bootstrap: string;
  topic: string;
  producers: number;
  ratePerProducer: number;
  /** Measured seconds, after `warmupSeconds` sent at the same rate and left out. */
  seconds: number;
  warmupSeconds?: number;
  /** Called once when the warm-up is over (at the start when there is none). */
  onMeasuring?: () => void;
  valueBytes: number;
}

export interface SmallProducersResult {
  acked: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  ackLatency: LatencySummary;
}

function newProducer(
  bootstrap: string,
  index: number,
  maxInflights = 5,
): Producer<Buffer, Buffer, Buffer, Buffer> {
  return new Producer({
    // The client's own cap on requests in flight per connection (default 5).
    maxInflights,
    clientId: `bench-small-${index}`,
    bootstrapBrokers: [bootstrap],
    acks: ProduceAcks.ALL,
    idempotent: false,
    autocreateTopics: true,
  });
}

/** Each producer owns its own connection; sends are scheduled on a fixed grid, staggered. */
export async function runSmallProducers(
  options: SmallProducersOptions,
): Promise<SmallProducersResult> {
  const producers = Array.from({ length: options.producers }, (_, index) =>
    newProducer(options.bootstrap, index),
  );
  const value = Buffer.alloc(options.valueBytes, 0x76);
  const latencies: number[] = [];
  const state = { acked: 0, errors: 0, firstError: null as string | null };
  try {
    // Warm up: connect and fetch metadata before the clock starts.
    await Promise.all(
      producers.map((producer) => producer.send({ messages: [{ topic: options.topic, value }] })),
    );
    const intervalMs = 1000 / options.ratePerProducer;
    const start = performance.now() + 100;
    const measuredFrom = start + (options.warmupSeconds ?? 0) * 1000;
    const end = measuredFrom + options.seconds * 1000;
    const measuring = setTimeout(() => options.onMeasuring?.(), measuredFrom - performance.now());
    await Promise.all(
      producers.map(async (producer, index) => {
        const inFlight: Array<Promise<void>> = [];
        let intended = start + (index / options.producers) * intervalMs;
        while (intended < end) {
          const wait = intended - performance.now();
          if (wait > 0) await new Promise((done) => setTimeout(done, wait));
          const sentFor = intended;
          inFlight.push(
            producer.send({ messages: [{ topic: options.topic, value }] }).then(
              () => {
                if (sentFor < measuredFrom) return;
                state.acked += 1;
                latencies.push(performance.now() - sentFor);
              },
              // Errors count in the warm-up too: a refused message is never acceptable.
              (error: unknown) => {
                state.errors += 1;
                state.firstError ??= String(error);
              },
            ),
          );
          intended += intervalMs;
        }
        await Promise.all(inFlight);
      }),
    );
    clearTimeout(measuring);
    return {
      ...state,
      seconds: (performance.now() - measuredFrom) / 1000,
      ackLatency: summarizeMs(latencies),
    };
  } finally {
    await Promise.allSettled(producers.map((producer) => producer.close(true)));
  }
}

export interface PipelinedKafkaResult {
  acked: number;
  errors: number;
  seconds: number;
  ackLatency: LatencySummary;
}

/** One producer, `window` single-record sends in flight (maxInflights raised to match). */
export async function runPipelinedKafka(
  bootstrap: string,
  topic: string,
  seconds: number,
  window: number,
): Promise<PipelinedKafkaResult> {
  const producer = newProducer(bootstrap, 0, window);
  const value = Buffer.alloc(1024, 0x76);
  const latencies: number[] = [];
  let acked = 0;
  let errors = 0;
  try {
    await producer.send({ messages: [{ topic, value }] });
    const start = performance.now();
    const end = start + seconds * 1000;
    const lane = async (): Promise<void> => {
      while (performance.now() < end) {
        const sent = performance.now();
        try {
          await producer.send({ messages: [{ topic, value }] });
          acked += 1;
          latencies.push(performance.now() - sent);
        } catch {
          errors += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
    return {
      acked,
      errors,
      seconds: (performance.now() - start) / 1000,
      ackLatency: summarizeMs(latencies),
    };
  } finally {
    await producer.close(true);
  }
}

/**
 * One record of `valueBytes` into each of `partitions` partitions, `perRequest` partitions per
 * send (one Produce request each, one batch per partition). A librdkafka 2.0.2 producer spread
 * over 100,000 partitions uses a full core and times most records out even at 5,000 records/s,
 * so the scale workload fills with this. Resolves with the records acked.
 */
export async function fillPartitions(options: {
  bootstrap: string;
  topic: string;
  partitions: number;
  valueBytes: number;
  perRequest: number;
}): Promise<number> {
  const producer = newProducer(options.bootstrap, 0);
  const value = Buffer.alloc(options.valueBytes, 0x76);
  let acked = 0;
  try {
    for (let first = 0; first < options.partitions; first += options.perRequest) {
      const count = Math.min(options.perRequest, options.partitions - first);
      const messages = Array.from({ length: count }, (_, i) => ({
        topic: options.topic,
        partition: first + i,
        value,
      }));
      await producer.send({ messages });
      acked += count;
    }
    return acked;
  } finally {
    await producer.close(true);
  }
}
