/**
 * Child process for the crash-recovery test: opens LogStorage on argv[2] and produces to three
 * partitions as fast as acknowledgements return, printing `partition offset label` for every
 * acknowledged batch, until the parent SIGKILLs it.
 */
import { LogStorage } from '../log-storage.ts';
import { fakeBatch, metaOf } from './fake-batch.ts';

const dataDir = process.argv[2];
const round = process.argv[3] ?? '0';
if (dataDir === undefined) throw new Error('usage: crash-writer <dataDir> <round>');

const storage = await LogStorage.open({ dataDir, walSegmentMaxBytes: 16 * 1024 });
const topic =
  storage.getTopic('crash') ?? (await storage.createTopic({ name: 'crash', partitionCount: 3 }));

async function producer(partition: number, worker: number): Promise<never> {
  const log = storage.partition(topic.topicId, partition);
  if (log === undefined) throw new Error('no partition');
  for (let i = 0; ; i++) {
    const label = `r${round}-p${partition}-w${worker}-${i}`;
    const batch = fakeBatch(label, 1 + (i % 3), i % 200);
    const { baseOffset } = await log.append(batch, metaOf(batch, BigInt(Date.now())));
    process.stdout.write(`${partition} ${baseOffset} ${label}\n`);
  }
}

process.stdout.write('ready\n');
await Promise.all([0, 1, 2].flatMap((p) => [producer(p, 0), producer(p, 1)]));
