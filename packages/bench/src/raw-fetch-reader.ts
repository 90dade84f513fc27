/**
 * The replay workload's second reader: Fetch v12 requests straight from the bench process over
 * one connection, each asking for up to 64 MiB of the partition, with nothing done per record:
 * the reader only walks batch headers to count records and find the next offset. librdkafka's
 * consumer (the first reader) spends most of a core on each record at these rates, so on a
 * 2-core machine its catch-up figure is the client's ceiling; this one measures what the
 * broker serves (issue 14 asks for replay at 1 GB/s or more).
 */
import { ErrorCode, fetchApi } from '@tributary/protocol';
import { firstBrokerOf, perCpu, resourceFigures, type CpuUse } from './bench-context.ts';
import type { BenchFigure } from './bench-report.ts';
import { FetchSocket } from './fetch-socket.ts';
import { acksDuring, librdkafkaClient, type PacedResult } from './kafka-drivers.ts';
import { summarizeMs } from './latency-summary.ts';

export const rawReaderClient = 'raw Fetch v12 reader (bench process, batch headers only)';

/** Bytes one Fetch asks for (the whole response and the one partition). */
const fetchMaxBytes = 64 * 1024 * 1024;
/** How long a read may go without progress before it gives up. */
const stallTimeoutMs = 30_000;

export interface RawRead {
  readonly client: string;
  readonly count: number;
  readonly bytes: number;
  /** process.hrtime.bigint() when the first Fetch left and when the last batch arrived. */
  readonly firstNs: bigint;
  readonly lastNs: bigint;
  readonly fetches: number;
}

/** Records and bytes of the whole batches in `records`, and the offset after the last. */
function walkBatches(
  records: Buffer,
  from: bigint,
): { count: number; bytes: number; next: bigint } {
  let position = 0;
  let count = 0;
  let next = from;
  // baseOffset(8) batchLength(4) ... lastOffsetDelta at 23, recordsCount at 57, header 61 bytes.
  while (position + 61 <= records.length) {
    const batchLength = records.readInt32BE(position + 8);
    const end = position + 12 + batchLength;
    if (batchLength < 49 || end > records.length) break;
    const baseOffset = records.readBigInt64BE(position);
    next = baseOffset + BigInt(records.readInt32BE(position + 23)) + 1n;
    count += records.readInt32BE(position + 57);
    position = end;
  }
  return { count, bytes: position, next };
}

/** Reads partition 0 of `topic` from offset 0 until `records` records have arrived. */
export async function rawReadAll(bootstrap: string, topic: string, records: number) {
  const { host, port } = firstBrokerOf(bootstrap);
  const connection = await FetchSocket.connect(host, port, fetchMaxBytes + 1024 * 1024);
  let offset = 0n;
  let count = 0;
  let bytes = 0;
  let fetches = 0;
  let firstNs = 0n;
  let lastNs = 0n;
  let progressAt = Date.now();
  const startNs = process.hrtime.bigint();
  try {
    while (count < records) {
      const response = await connection.request(fetchApi, 12, {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: fetchMaxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: fetchMaxBytes }],
          },
        ],
      });
      fetches += 1;
      const partition = response.responses[0]?.partitions[0];
      if (response.errorCode !== ErrorCode.NONE || partition === undefined) {
        throw new Error(`raw reader: Fetch error ${response.errorCode}`);
      }
      if (partition.errorCode !== ErrorCode.NONE) {
        throw new Error(`raw reader: partition error ${partition.errorCode}`);
      }
      const data = partition.records ?? Buffer.alloc(0);
      const walked = walkBatches(data, offset);
      if (walked.count > 0) {
        lastNs = process.hrtime.bigint();
        if (firstNs === 0n) firstNs = startNs;
        count += walked.count;
        bytes += walked.bytes;
        offset = walked.next;
        progressAt = Date.now();
      } else if (Date.now() - progressAt > stallTimeoutMs) {
        throw new Error(`raw reader: no progress at offset ${offset} for ${stallTimeoutMs} ms`);
      }
    }
  } finally {
    connection.close();
  }
  return { client: rawReaderClient, count, bytes, firstNs, lastNs, fetches } satisfies RawRead;
}

/**
 * The raw read's rows: its catch-up MB/s and CPU, and the live producer's ack p99 over the
 * records it meant to send while the raw read ran, against the baseline.
 */
export function rawReadFigures(
  read: RawRead,
  live: PacedResult,
  baselineP99: number,
  use: CpuUse,
): Array<Omit<BenchFigure, 'system'>> {
  const seconds = Number(read.lastNs - read.firstNs) / 1e9;
  const during = acksDuring(live, read);
  const duringP99 = summarizeMs(during).p99Ms;
  const live1 = { client: librdkafkaClient, unit: 'ms' };
  return [
    {
      client: read.client,
      metric: 'catch-up read',
      value: seconds > 0 ? read.bytes / 1e6 / seconds : 0,
      unit: 'MB/s',
      perCpuSecond: perCpu(read.count, use.brokerCpuSeconds),
    },
    { ...live1, metric: 'live ack p99, during the raw read', value: duringP99 },
    {
      ...live1,
      metric: 'live p99 during the raw read / baseline',
      value: baselineP99 > 0 && during.length > 0 ? duringP99 / baselineP99 : 0,
      unit: 'x',
    },
    ...resourceFigures({ system: '', client: read.client }, use, {
      producedBytes: during.length * 1024,
      fetchedBytes: read.bytes,
    }).map(({ system: _system, ...figure }) => figure),
  ];
}

/** One line on the raw read for the notes. */
export function rawReadNote(read: RawRead, use: CpuUse): string {
  const seconds = Number(read.lastNs - read.firstNs) / 1e9;
  return (
    `${read.client}: ${read.count} records (${(read.bytes / 1e6).toFixed(0)} MB) in ` +
    `${seconds.toFixed(2)} s over ${read.fetches} Fetches of up to 64 MiB, after the ` +
    `librdkafka read and still under the live producer; broker CPU ` +
    `${use.brokerCpuSeconds.toFixed(2)} s`
  );
}
