/**
 * Kafka's internal topics: the group and transaction coordinators' own logs, and the audit log
 * (security/audit-log.ts), which must stay append-only for the broker alone. Metadata flags them
 * internal; clients may read them but not append to them, delete them or delete their records,
 * since a stray record or a moved log start there would corrupt every group's offsets or every
 * transaction's state on the next replay (Kafka refuses the same with INVALID_TOPIC_EXCEPTION).
 */
import { consumerOffsetsTopic } from './groups/group-runtime.ts';
import { transactionStateTopic } from './transactions/transaction-runtime.ts';
import { auditTopic } from './security/audit-log.ts';

const internalTopics: ReadonlySet<string> = new Set([
  consumerOffsetsTopic,
  transactionStateTopic,
  auditTopic,
]);

export function isInternalTopic(name: string): boolean {
  return internalTopics.has(name);
}
