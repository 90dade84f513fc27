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
 * Entries queued in one turn of the event loop go out as one batch. In cluster mode only the
 * leader of the topic's one partition may append, so a broker that does not lead it hands the
 * batch to the leader (AuditAppend, cluster/audit-append-api.ts), retrying while leadership
 * moves. An entry that cannot be stored (no topic, no leader within auditForwardMaxWaitMs, a
 * full queue, a closing broker) is written to the broker's log instead (one JSON line, `msg`
 * "audit"), where log shipping keeps it: an audit entry is never silently dropped.
 */
import { ErrorCode, buildRecordBatch, readBatchHeader } from '@tributary/protocol';
import { StorageError, type BrokerStorage, type PartitionLog } from '@tributary/storage';
import { auditAppendApi } from '../cluster/audit-append-api.ts';
import type { BrokerClients } from '../cluster/broker-clients.ts';
import { batchMetaOf } from '../handlers/produce-answer.ts';
import type { AuditEntry } from './audit-entry.ts';
import type { Logger } from '../logger.ts';

export type { AuditEntry } from './audit-entry.ts';

export const auditTopic = '__tributary_audit';
/** How long audit entries are kept (retention.ms of the topic when it is created): 365 days. */
export const auditRetentionMs = 365 * 24 * 60 * 60 * 1000;
/** Entries waiting for their batch; past this, new ones go to the log only. */
export const auditQueueMaxEntries = 10_000;
/** How long a non-leader keeps trying to hand a batch to the audit topic's leader (cluster mode):
 * long enough for a dead leader's lease to expire and another broker to take it. */
export const auditForwardMaxWaitMs = 30_000;
/** Pause between attempts to reach the audit topic's leader. */
const auditForwardRetryMs = 250;

/** Answers of AuditAppend after which another attempt (at the new leader) may succeed. */
const retriableCodes = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.KAFKA_STORAGE_ERROR,
]);

const errorNames = new Map<number, string>(
  Object.entries(ErrorCode).map(([name, code]) => [code as number, name]),
);

/** Why an audit batch could not be stored here; `retriable` when another broker may take it. */
export class AuditNotStored extends Error {
  readonly retriable: boolean;

  constructor(message: string, retriable: boolean) {
    super(message);
    this.retriable = retriable;
  }
}

export class AuditLog {
  readonly #storage: BrokerStorage;
  readonly #log: Logger;
  readonly #clients: BrokerClients | undefined;
  #queue: AuditEntry[] = [];
  #flushing: Promise<void> | undefined;
  #closing = false;

  private constructor(storage: BrokerStorage, log: Logger, clients: BrokerClients | undefined) {
    this.#storage = storage;
    this.#log = log;
    this.#clients = clients;
  }

  /**
   * Creates the audit topic when it is missing (embedded mode, or the first cluster broker).
   * Never fails the broker's start: without the topic, entries go to the log. `clients` reach
   * the topic's leader in cluster mode.
   */
  static async start(
    storage: BrokerStorage,
    log: Logger,
    clients?: BrokerClients,
  ): Promise<AuditLog> {
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
    return new AuditLog(storage, log, clients);
  }

  record(entry: AuditEntry): void {
    if (this.#queue.length >= auditQueueMaxEntries) {
      this.#toLog(entry, 'audit queue full');
      return;
    }
    this.#queue.push(entry);
    this.#schedule();
  }

  /**
   * Appends entries here as one batch, resolving once stored: the leader's side of AuditAppend.
   * Throws AuditNotStored when this broker does not lead the topic's partition.
   */
  async append(entries: readonly AuditEntry[]): Promise<void> {
    const log = this.#partition();
    const cluster = this.#storage.cluster;
    if (cluster !== undefined && !cluster.leads(log.topicId, 0)) {
      throw new AuditNotStored(`broker ${this.#storage.nodeId} does not lead ${auditTopic}`, true);
    }
    const now = BigInt(Date.now());
    const batch = buildRecordBatch({
      records: entries.map((entry) => ({
        key: Buffer.from(entry.principal),
        value: Buffer.from(JSON.stringify(entry)),
        timestamp: now,
      })),
    });
    await log.append(batch, batchMetaOf(readBatchHeader(batch), null));
  }

  /** Stops waiting for a leader: what is queued or arrives from now on is stored or logged. */
  close(): Promise<void> {
    this.#closing = true;
    return this.idle();
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
      await this.#store(entries);
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      for (const entry of entries) this.#toLog(entry, reason);
    } finally {
      this.#flushing = undefined;
      if (this.#queue.length > 0) this.#schedule();
    }
  }

  /** Here when this broker leads the partition, else at the leader, retrying as it moves. */
  async #store(entries: readonly AuditEntry[]): Promise<void> {
    const giveUpAt = Date.now() + auditForwardMaxWaitMs;
    for (;;) {
      try {
        const leader = this.#leader();
        if (leader === this.#storage.nodeId || this.#clients === undefined) {
          await this.append(entries);
        } else await this.#forward(leader, entries);
        return;
      } catch (error: unknown) {
        // Embedded, nobody else can take the batch; in a cluster, the leader may move or return.
        const retriable =
          this.#storage.cluster !== undefined &&
          (error instanceof AuditNotStored ? error.retriable : true);
        if (!retriable || this.#closing || Date.now() >= giveUpAt) throw error;
        await new Promise((resolve) => setTimeout(resolve, auditForwardRetryMs));
      }
    }
  }

  async #forward(leader: number, entries: readonly AuditEntry[]): Promise<void> {
    const clients = this.#clients as BrokerClients;
    const answer = await clients.request(leader, auditAppendApi, 0, { entries });
    if (answer.errorCode !== ErrorCode.NONE) {
      const message = answer.errorMessage ?? `error ${answer.errorCode}`;
      throw new AuditNotStored(
        `broker ${leader}: ${message}`,
        retriableCodes.has(answer.errorCode),
      );
    }
  }

  /** The node leading the topic's partition: this one when embedded. */
  #leader(): number {
    const cluster = this.#storage.cluster;
    if (cluster === undefined) return this.#storage.nodeId;
    const leader = cluster.leaderOf(this.#partition().topicId, 0);
    if (leader === undefined) throw new AuditNotStored(`${auditTopic} has no leader`, true);
    return leader.nodeId;
  }

  #partition(): PartitionLog {
    const topic = this.#storage.getTopic(auditTopic);
    const log = topic === undefined ? undefined : this.#storage.partition(topic.topicId, 0);
    if (log === undefined) throw new AuditNotStored('the audit topic is missing', false);
    return log;
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
