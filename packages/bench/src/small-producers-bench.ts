/**
 * Workload 6: many small producers. 200 @platformatic/kafka producers, each on its own
 * connection, each sending one 1 KiB record every 20 ms (50 records/s; 10,000 records/s in
 * total), acks=all; ack latency from the intended send time.
 */
import {
  bottleneckNote,
  cpuUseWindow,
  perCpu,
  uniqueTopic,
  withBroker,
  type BenchContext,
} from './bench-context.ts';
import type { WorkloadReport } from './bench-report.ts';
import { createTopic } from './kafka-drivers.ts';
import { platformaticClient, runSmallProducers } from './platformatic-load.ts';

export async function runSmallProducersBench(context: BenchContext): Promise<WorkloadReport> {
  const producers = 200;
  const ratePerProducer = 50;
  const seconds = context.quick ? 6 : 20;
  return withBroker(context, {}, async (broker) => {
    const topic = uniqueTopic('bench-small');
    await createTopic(broker.bootstrap, topic, 8);
    context.log(`small producers: ${producers} x ${ratePerProducer}/s for ${seconds} s`);
    const cpu = cpuUseWindow(broker.pid);
    const generator = process.cpuUsage();
    const result = await runSmallProducers({
      bootstrap: broker.bootstrap,
      topic,
      producers,
      ratePerProducer,
      seconds,
      valueBytes: 1024,
    });
    const use = cpu();
    const cpuSeconds = use.brokerCpuSeconds;
    const used = process.cpuUsage(generator);
    const generatorSeconds = (used.user + used.system) / 1e6;
    const rate = result.acked / result.seconds;
    const base = { system: 'tributary', client: platformaticClient };
    return {
      name: 'small-producers',
      title: `${producers} producers x ${ratePerProducer} records/s (1 KiB, acks=all)`,
      figures: [
        {
          ...base,
          metric: 'acked rate',
          value: rate,
          unit: `rec/s of ${producers * ratePerProducer}`,
          perCpuSecond: perCpu(result.acked, cpuSeconds),
        },
        { ...base, metric: 'ack p50 (from intended)', value: result.ackLatency.p50Ms, unit: 'ms' },
        { ...base, metric: 'ack p99 (from intended)', value: result.ackLatency.p99Ms, unit: 'ms' },
        { ...base, metric: 'ack max', value: result.ackLatency.maxMs, unit: 'ms' },
      ],
      notes: [
        `${producers} Producer instances in the suite's own Node process (one connection each), ` +
          `8 partitions, ${seconds} s; errors ${result.errors}` +
          (result.firstError === null ? '' : ` (first: ${result.firstError})`) +
          `; broker CPU ${cpuSeconds.toFixed(2)} s, load generator CPU ${generatorSeconds.toFixed(2)} s.`,
        generatorSeconds / use.wallSeconds >= 0.85
          ? `Bottleneck: the load generator, one Node process at ` +
            `${(generatorSeconds / use.wallSeconds).toFixed(2)} cores, saturates before the ` +
            `broker (${bottleneckNote(use).replace(/^Bottleneck: /, '')}). Splitting the 200 ` +
            'producers over processes needs cores this machine does not have.'
          : bottleneckNote(use),
      ],
      chart: {
        title: `Workload 6: ${producers} small producers, ack latency (ms)`,
        unit: 'ms',
        bars: [
          { label: 'ack p50', value: result.ackLatency.p50Ms },
          { label: 'ack p99', value: result.ackLatency.p99Ms },
          { label: 'ack max', value: result.ackLatency.maxMs },
        ],
      },
    };
  });
}
