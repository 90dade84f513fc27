/**
 * The records the transaction coordinator persists in the internal compacted topic
 * `__transaction_state`, and their byte codec. One record per transactional id holds its whole
 * state, so log compaction keeps exactly what replay needs (the latest record per key); a null
 * value is a tombstone.
 *
 * Key:   int16 key version (0), then the transactional id as int16 length + UTF-8.
 * Value: int16 value version (0), then a UTF-8 JSON body; 64-bit numbers are decimal strings.
 *        The record batch around it carries the CRC (docs/FORMATS.md).
 */
import assert from 'node:assert/strict';

export type TransactionState =
  'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** An offset committed inside a transaction: applied to the group only if it commits. */
export interface PendingOffset {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface TransactionMetadata {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** transaction.timeout.ms the producer asked for. */
  readonly timeoutMs: number;
  readonly state: TransactionState;
  /** Partitions of the open (or completing) transaction, in the order they were added. */
  readonly partitions: readonly TopicPartition[];
  /** Groups added with AddOffsetsToTxn. */
  readonly groupIds: readonly string[];
  readonly pendingOffsets: readonly PendingOffset[];
  /** When the transaction became Ongoing; -1 outside a transaction. */
  readonly txnStartTimestampMs: number;
  readonly lastUpdateTimestampMs: number;
  /**
   * The transaction protocol of the client driving it: 0 (classic) or 2 (KIP-890 part 2, every
   * EndTxn bumps the epoch). Set when a transaction starts or completes.
   */
  readonly transactionVersion: number;
  /** While completing a version-2 transaction whose epoch ran out: the id it continues with. */
  readonly nextProducerId: bigint;
  /** After such a completion: the id before it, so a retried EndTxn is still recognised. */
  readonly previousProducerId: bigint;
}

export interface TransactionRecord {
  readonly transactionalId: string;
  readonly value: TransactionMetadata | null;
}

const KEY_VERSION = 0;
const VALUE_VERSION = 0;

export function encodeTransactionRecordKey(record: TransactionRecord): Buffer {
  const id = Buffer.from(record.transactionalId, 'utf8');
  assert.ok(id.length <= 0x7fff, 'transactional id too long');
  const head = Buffer.alloc(4);
  head.writeInt16BE(KEY_VERSION, 0);
  head.writeInt16BE(id.length, 2);
  return Buffer.concat([head, id]);
}

export function encodeTransactionRecordValue(record: TransactionRecord): Buffer | null {
  if (record.value === null) return null;
  const value = record.value;
  const body = {
    ...value,
    producerId: value.producerId.toString(),
    nextProducerId: value.nextProducerId.toString(),
    previousProducerId: value.previousProducerId.toString(),
    pendingOffsets: value.pendingOffsets.map((o) => ({ ...o, offset: o.offset.toString() })),
  };
  const version = Buffer.alloc(2);
  version.writeInt16BE(VALUE_VERSION);
  return Buffer.concat([version, Buffer.from(JSON.stringify(body), 'utf8')]);
}

/** Decodes a stored record; throws on bytes this version cannot read (never skip silently). */
export function decodeTransactionRecord(key: Buffer, value: Buffer | null): TransactionRecord {
  assert.equal(key.readInt16BE(0), KEY_VERSION, 'unknown transaction record key version');
  const length = key.readInt16BE(2);
  const transactionalId = key.toString('utf8', 4, 4 + length);
  if (value === null) return { transactionalId, value: null };
  const version = value.readInt16BE(0);
  assert.equal(version, VALUE_VERSION, `unknown transaction record value version ${version}`);
  const body = JSON.parse(value.toString('utf8', 2)) as Record<string, unknown>;
  const offsets = body['pendingOffsets'] as Record<string, unknown>[];
  return {
    transactionalId,
    value: {
      transactionalId,
      producerId: BigInt(String(body['producerId'])),
      producerEpoch: Number(body['producerEpoch']),
      timeoutMs: Number(body['timeoutMs']),
      state: String(body['state']) as TransactionState,
      partitions: (body['partitions'] as Record<string, unknown>[]).map((p) => ({
        topic: String(p['topic']),
        partition: Number(p['partition']),
      })),
      groupIds: (body['groupIds'] as unknown[]).map(String),
      pendingOffsets: offsets.map((o) => ({
        groupId: String(o['groupId']),
        topic: String(o['topic']),
        partition: Number(o['partition']),
        offset: BigInt(String(o['offset'])),
        leaderEpoch: Number(o['leaderEpoch']),
        metadata: typeof o['metadata'] === 'string' ? o['metadata'] : null,
      })),
      txnStartTimestampMs: Number(body['txnStartTimestampMs']),
      lastUpdateTimestampMs: Number(body['lastUpdateTimestampMs']),
      // Absent in records written before KIP-890 part 2 was served.
      transactionVersion: Number(body['transactionVersion'] ?? 0),
      nextProducerId: BigInt(String(body['nextProducerId'] ?? -1)),
      previousProducerId: BigInt(String(body['previousProducerId'] ?? -1)),
    },
  };
}
