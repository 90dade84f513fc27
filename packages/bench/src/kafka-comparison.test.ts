import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaRatioCell, renderTextTable, type WorkloadReport } from './bench-report.ts';
import { addKafkaPeer, kafkaRatioGoals } from './kafka-comparison.ts';
import { kafkaSystem } from './kafka-peer.ts';

const context = { quick: true, dataParentDir: '/tmp', log: () => undefined, kafka: true };

const report: WorkloadReport = {
  name: 'scale',
  title: 't',
  figures: [{ system: 'tributary', client: 'c', metric: 'm', value: 1, unit: 'ms' }],
  notes: [],
  chart: { title: 't', unit: 'ms', bars: [] },
};

test('the vs kafka cell names each configuration with tributary / kafka', () => {
  assert.equal(kafkaRatioCell(undefined), '');
  assert.equal(kafkaRatioCell({ durable: 1.234 }), 'durable x1.23');
  assert.equal(kafkaRatioCell({ pageCache: 0.0000198 }), 'page cache x0.000020');
  assert.equal(
    kafkaRatioCell({ durable: 0.5, pageCache: 0.25 }),
    'durable x0.50, page cache x0.25',
  );
  const text = renderTextTable([
    { ...report, figures: [{ ...report.figures[0]!, vsKafka: { pageCache: 2 } }] },
  ]);
  assert.match(text, /vs kafka/);
  assert.match(text, /page cache x2\.00/);
});

test('a workload Kafka cannot run says why and keeps its figures', async () => {
  const out = await addKafkaPeer('scale', context, report);
  assert.deepEqual(out.figures, report.figures);
  assert.match(out.notes.join('\n'), /Kafka: not run against Kafka/);
});

test('a failed workload is left as it is, without starting Kafka', async () => {
  const failed = { ...report, name: 'produce', figures: [] };
  assert.equal(await addKafkaPeer('produce', context, failed), failed);
});

test('the e2e p99 goal against Kafka is a row per configuration that ran, at most 1', () => {
  const figure = { system: 'tributary', client: 'C', metric: 'e2e p99', value: 4, unit: 'ms' };
  const latency: WorkloadReport = {
    ...report,
    name: 'latency',
    figures: [
      { ...figure, vsKafka: { durable: 0.5, pageCache: 2 } },
      { ...figure, client: 'C at 50000/s', vsKafka: { durable: 0.9 } },
      { ...figure, client: 'Python' },
      { ...figure, metric: 'e2e p50', vsKafka: { durable: 0.1 } },
    ],
  };
  const goals = kafkaRatioGoals(latency, 'e2e p99').figures.slice(4);
  assert.deepEqual(
    goals.map((goal) => [goal.client, goal.metric, goal.value, goal.unit, goal.target]),
    [
      ['C', `e2e p99 / ${kafkaSystem('durable')}'s`, 0.5, 'x', { value: 1, atLeast: false }],
      ['C', `e2e p99 / ${kafkaSystem('page-cache')}'s`, 2, 'x', { value: 1, atLeast: false }],
      [
        'C at 50000/s',
        `e2e p99 / ${kafkaSystem('durable')}'s`,
        0.9,
        'x',
        { value: 1, atLeast: false },
      ],
    ],
  );
  const text = renderTextTable([{ ...latency, figures: goals }]);
  assert.match(text, /met \(<= 1\.00/);
  assert.match(text, /MISSED \(<= 1\.00/);
});
