/**
 * The small-producers workload's like-for-like client: a paced lane (peer-paced.ts) that speaks
 * Kafka's Produce v9 from the bench process, one connection per lane, one single-record batch
 * per request (acks=all), the answer matched by correlation id. The peers (Redis, NATS) are
 * loaded by the suite's own raw clients the same way, so this row compares the brokers with
 * the same client cost, while the librdkafka and platformatic rows add each client's own.
 *
 * It costs the bench process about what the peers' raw clients cost: each lane encodes one
 * request frame through the generated codec once, then per message copies it and patches the
 * correlation id, the record's value and timestamps and the batch CRC, and reads only the
 * correlation id and error code of each answer (no promise, no decoded objects per message).
 * With the whole client per message (KafkaConnection, a fresh batch and a decoded response) the
 * bench process's own garbage collection set the p99 of every row it loaded.
 */
import { connect } from 'node:net';
import { buildRecordBatch, crc32c, produceApi, encodeRequestFrame } from '@tributary/protocol';
import { firstBrokerOf } from './bench-context.ts';
import { socketLane, type OpenedLane, type PipelineProtocol } from './peer-paced.ts';

export const rawProducerClient = 'bench raw Kafka client (Produce v9)';

const produceVersion = 9;
const sizePrefixBytes = 4;
/** Where a record batch keeps its CRC, where the CRC'd part starts, and its two timestamps. */
const crcOffset = 17;
const crcFrom = 21;
const baseTimestampOffset = 27;
const maxTimestampOffset = 35;

/** One encoded request with the positions a message patches. */
interface FrameTemplate {
  frame: Buffer;
  batchOffset: number;
  batchEnd: number;
  valueOffset: number;
}

function encodeTemplate(topic: string, partition: number, valueBytes: number): FrameTemplate {
  // A value no other part of the frame can contain, to find where the codec put it.
  const marker = Buffer.alloc(valueBytes, 0xa5);
  const batch = buildRecordBatch({ records: [{ key: null, value: marker, timestamp: 0n }] });
  const header = { correlationId: 0, clientId: 'bench-raw-producer' };
  const frame = encodeRequestFrame(produceApi, produceVersion, header, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  });
  const batchOffset = frame.indexOf(batch);
  const valueOffset = frame.indexOf(marker, batchOffset);
  if (batchOffset < 0 || valueOffset < 0) throw new Error('Produce v9 template: batch not found');
  return { frame, batchOffset, batchEnd: batchOffset + batch.length, valueOffset };
}

/** Reads an unsigned varint at `offset`: [value, next offset]. */
function readUnsignedVarint(buffer: Buffer, offset: number): [number, number] {
  let value = 0;
  let shift = 0;
  let at = offset;
  for (;;) {
    const byte = buffer[at] ?? 0;
    at += 1;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0 || shift > 21) return [value >>> 0, at];
    shift += 7;
  }
}

/**
 * The error code of the first partition of a Produce v9 response frame (size prefix first), or
 * undefined when the frame lists none. Layout: correlation id, header tags, topic count, name,
 * partition count, index, error code.
 */
export function firstPartitionError(frame: Buffer): number | undefined {
  let at = sizePrefixBytes + 4 + 1;
  const [topics, afterTopics] = readUnsignedVarint(frame, at);
  if (topics < 2) return undefined;
  const [nameLength, afterLength] = readUnsignedVarint(frame, afterTopics);
  at = afterLength + Math.max(0, nameLength - 1);
  const [partitions, afterPartitions] = readUnsignedVarint(frame, at);
  if (partitions < 2 || afterPartitions + 6 > frame.length) return undefined;
  return frame.readInt16BE(afterPartitions + 4);
}

/** An int64 millisecond timestamp, without a BigInt per message. */
function writeTimestamp(frame: Buffer, offset: number, ms: number): void {
  frame.writeUInt32BE(Math.floor(ms / 2 ** 32), offset);
  frame.writeUInt32BE(ms % 2 ** 32, offset + 4);
}

/** Produce v9 over one connection: correlation id = the lane's message seq. */
function produceProtocol(topic: string, partition: number): PipelineProtocol {
  const templates = new Map<number, FrameTemplate>();
  return {
    request: (seq, payload) => {
      let template = templates.get(payload.length);
      if (template === undefined) {
        template = encodeTemplate(topic, partition, payload.length);
        templates.set(payload.length, template);
      }
      const { batchOffset, batchEnd, valueOffset } = template;
      const frame = Buffer.from(template.frame);
      frame.writeInt32BE(seq, sizePrefixBytes + 4);
      frame.write(payload, valueOffset, 'latin1');
      const now = Date.now();
      writeTimestamp(frame, batchOffset + baseTimestampOffset, now);
      writeTimestamp(frame, batchOffset + maxTimestampOffset, now);
      const crc = crc32c(frame.subarray(batchOffset + crcFrom, batchEnd));
      frame.writeUInt32BE(crc, batchOffset + crcOffset);
      return frame;
    },
    parse: (buffer) => {
      const acked: number[] = [];
      let errors = 0;
      let rest = buffer;
      while (rest.length >= sizePrefixBytes) {
        const end = sizePrefixBytes + rest.readInt32BE(0);
        if (rest.length < end) break;
        const frame = rest.subarray(0, end);
        if (firstPartitionError(frame) === 0) acked.push(frame.readInt32BE(sizePrefixBytes));
        else errors += 1;
        rest = rest.subarray(end);
      }
      return { acked, errors, rest };
    },
  };
}

/** Opens one lane producing to `partition` of `topic` through the broker at `bootstrap`. */
export async function openRawProduceLane(
  bootstrap: string,
  topic: string,
  partition: number,
): Promise<OpenedLane> {
  const { host, port } = firstBrokerOf(bootstrap);
  const socket = await new Promise<ReturnType<typeof connect>>((resolvePromise, reject) => {
    const opened = connect({ host, port }, () => resolvePromise(opened));
    opened.once('error', reject);
  });
  socket.setNoDelay(true);
  // A broker that goes away leaves its messages unanswered; the paced run's drain counts them.
  socket.on('error', () => socket.destroy());
  const protocol = produceProtocol(topic, partition);
  return {
    make: (acks) => socketLane(socket, protocol, acks),
    close: () => {
      socket.destroy();
      return Promise.resolve();
    },
  };
}
