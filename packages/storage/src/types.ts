/**
 * Value types shared by every storage interface. Storage knows no Kafka wire types: a batch is
 * opaque bytes plus a BatchMeta taken from its header by the broker. The only wire fact used is
 * that a batch's first 8 bytes are its base offset (int64 big-endian), outside the batch CRC,
 * and, only when the caller vouches for it (BatchMeta.crcChecked), where the batch CRC lies.
 */
import { randomUUID } from 'node:crypto';

/** Kafka uuid display form: 16 bytes as unpadded base64url, 22 characters. */
export type TopicId = string & { readonly __brand: 'TopicId' };

export interface BatchMeta {
  /** From the batch header; the batch holds offsets base .. base + lastOffsetDelta. */
  lastOffsetDelta: number;
  /** Largest record timestamp in the batch, ms. */
  maxTimestamp: bigint;
  recordCount: number;
  /**
   * The idempotent producer that wrote the batch, from its header. Storage stores these numbers
   * with the batch and gives them back after a restart (PartitionLog.batches); it never
   * interprets them. Absent for batches without a producer id (stored as -1).
   */
  producer?: ProducerFields;
  /**
   * The batch's transaction facts, from its header (and a control batch's record). Stored with
   * the batch and given back after a restart (BatchEntry.txn) like `producer`; never
   * interpreted. Absent: not recorded, and BatchEntry.txn is undefined.
   */
  txn?: TxnFields;
  /**
   * Set only by a caller that has verified the batch's own CRC32C (record batch v2: the u32 at
   * byte 17 is the crc32c of bytes 21..end) and changes none of those bytes afterwards. Storage
   * then derives the frame crc from that field instead of reading the batch a second time; the
   * bytes written are the same. A wrong claim makes the entry unreadable after a restart.
   */
  crcChecked?: boolean;
}

/** Producer id, epoch and first sequence of a batch (-1n, -1, -1 when it has none). */
export interface ProducerFields {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
}

export const noProducerFields: Readonly<ProducerFields> = {
  producerId: -1n,
  producerEpoch: -1,
  baseSequence: -1,
};

/**
 * Whether a batch is transactional and whether it is a control batch (Kafka: attributes bits 4
 * and 5) and, for a control batch, its control record type (Kafka: 0 abort, 1 commit). Stored in
 * the WAL entry header and object index so the broker can rebuild its transaction index without
 * reading batches. Stored values of `controlType` are 0..254; anything else is stored, and read
 * back, as -1 (unknown or not a control batch).
 */
export interface TxnFields {
  readonly transactional: boolean;
  readonly control: boolean;
  readonly controlType: number;
}

export interface TopicRecord {
  name: string;
  topicId: TopicId;
  partitionCount: number;
  /** Only explicit overrides, by Kafka config name. */
  configs: Readonly<Record<string, string>>;
}

/** Injected record-level knowledge for log compaction (storage cannot parse records itself). */
export interface RecordCompactor {
  keysOf(
    batch: Buffer,
  ): { offset: bigint; key: Buffer | null; tombstone: boolean; timestamp: bigint }[];
  retain(batch: Buffer, keep: (offset: bigint) => boolean): Buffer | null;
}

export const topicIdBytes = 16;

/** A new random topic id (or cluster id): a v4 uuid in Kafka's base64url display form. */
export function newTopicId(): TopicId {
  const hex = randomUUID().replaceAll('-', '');
  return Buffer.from(hex, 'hex').toString('base64url') as TopicId;
}

export function topicIdToBytes(topicId: TopicId): Buffer {
  const bytes = Buffer.from(topicId, 'base64url');
  if (bytes.length !== topicIdBytes) throw new Error(`bad topic id ${topicId}`);
  return bytes;
}

export function topicIdFromBytes(bytes: Buffer): TopicId {
  return bytes.toString('base64url') as TopicId;
}

/** Key for maps indexed by partition. */
export function partitionKey(topicId: TopicId, index: number): string {
  return `${topicId}:${index}`;
}

/** Where a batch's bytes are: an object (by catalog id), a position and a length in it. */
export interface StoredBatchLocation {
  objectId: number;
  position: number;
  sizeBytes: number;
  entryVersion: number;
}
