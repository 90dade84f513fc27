/**
 * The audit log (issue 16): every admin and security action (who, what, when, from where, and
 * how it ended) appended to the internal topic `__tributary_audit` as one JSON record each,
 * keyed by principal. Clients may read the topic (with READ on it once ACLs are on) but never
 * write it, delete it or delete its records (internal-topics.ts); `tributary audit` prints it.
 *
 * Audited: topic, partition, record, config, ACL, SCRAM, quota, group and offset deletion
 * changes, and failed SASL authentications (never the bytes of an authentication, nor config
 * values: a config change lists the names it set). Recorded after the handler answered, so the
 * entry says whether the action succeeded (`result`: ok, or the Kafka error names).
 *
 * Entries queued in one turn of the event loop go out as one batch. In cluster mode a broker
 * that does not lead the topic's partition cannot append, so it writes the entry to its log
 * instead (one JSON line, `msg` "audit"), where log shipping keeps it.
 */
import { ErrorCode, buildRecordBatch, readBatchHeader } from '@tributary/protocol';
import { StorageError, type BrokerStorage } from '@tributary/storage';
import { batchMetaOf } from '../handlers/produce-answer.ts';
import type { Logger } from '../logger.ts';

export const auditTopic = '__tributary_audit';
/** How long audit entries are kept (retention.ms of the topic when it is created): 365 days. */
export const auditRetentionMs = 365 * 24 * 60 * 60 * 1000;
/** Entries waiting for their batch; past this, new ones go to the log only. */
export const auditQueueMaxEntries = 10_000;

export interface AuditEntry {
  /** ISO time the broker answered. */
  readonly time: string;
  readonly principal: string;
  readonly clientId: string | null;
  /** Client address and port. */
  readonly peer: string;
  /** The Kafka API (CreateTopics, SaslAuthenticate, ...). */
  readonly action: string;
  /** What it acted on: `topic:orders`, `acl:TOPIC:orders:User:bob:READ:ALLOW`, ... */
  readonly resources: readonly string[];
  /** `ok`, or the names of the errors the answer carried. */
  readonly result: string;
}

const errorNames = new Map<number, string>(
  Object.entries(ErrorCode).map(([name, code]) => [code as number, name]),
);

export class AuditLog {
  readonly #storage: BrokerStorage;
  readonly #log: Logger;
  #queue: AuditEntry[] = [];
  #flushing: Promise<void> | undefined;

  private constructor(storage: BrokerStorage, log: Logger) {
    this.#storage = storage;
    this.#log = log;
  }

  /**
   * Creates the audit topic when it is missing (embedded mode, or the first cluster broker).
   * Never fails the broker's start: without the topic, entries go to the log.
   */
  static async start(storage: BrokerStorage, log: Logger): Promise<AuditLog> {
    if (storage.getTopic(auditTopic) === undefined) {
      try {
        await storage.createTopic({
          name: auditTopic,
          partitionCount: 1,
          configs: { 'retention.ms': String(auditRetentionMs) },
        });
      } catch (error: unknown) {
        if (!(error instanceof StorageError) || error.code !== 'TOPIC_EXISTS') {
          const reason = error instanceof Error ? error.message : String(error);
          log.warn('audit topic not created: audit entries go to the log', { reason });
        }
      }
    }
    return new AuditLog(storage, log);
  }

  record(entry: AuditEntry): void {
    if (this.#queue.length >= auditQueueMaxEntries) {
      this.#toLog(entry, 'audit queue full');
      return;
    }
    this.#queue.push(entry);
    this.#schedule();
  }

  #schedule(): void {
    this.#flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.#flush(),
    );
  }

  /** Resolves once every entry recorded so far is stored (or logged). */
  async idle(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  async #flush(): Promise<void> {
    const entries = this.#queue;
    this.#queue = [];
    try {
      const topic = this.#storage.getTopic(auditTopic);
      const log = topic === undefined ? undefined : this.#storage.partition(topic.topicId, 0);
      if (log === undefined) throw new Error('the audit topic is missing');
      const now = BigInt(Date.now());
      const batch = buildRecordBatch({
        records: entries.map((entry) => ({
          key: Buffer.from(entry.principal),
          value: Buffer.from(JSON.stringify(entry)),
          timestamp: now,
        })),
      });
      await log.append(batch, batchMetaOf(readBatchHeader(batch), null));
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      for (const entry of entries) this.#toLog(entry, reason);
    } finally {
      this.#flushing = undefined;
      if (this.#queue.length > 0) this.#schedule();
    }
  }

  #toLog(entry: AuditEntry, reason: string): void {
    this.#log.warn('audit', {
      notStored: reason,
      time: entry.time,
      principal: entry.principal,
      clientId: entry.clientId ?? '',
      peer: entry.peer,
      action: entry.action,
      resources: entry.resources.join(' '),
      result: entry.result,
    });
  }
}

/** `ok`, or the names of the non-zero error codes anywhere in a response. */
export function resultOf(response: unknown): string {
  const codes = new Set<number>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 6 || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
      return;
    }
    for (const [key, field] of Object.entries(value)) {
      if (key === 'errorCode' && typeof field === 'number' && field !== 0) codes.add(field);
      else visit(field, depth + 1);
    }
  };
  visit(response, 0);
  if (codes.size === 0) return 'ok';
  return [...codes].map((code) => errorNames.get(code) ?? `error ${code}`).join(',');
}
