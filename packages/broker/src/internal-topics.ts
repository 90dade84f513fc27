/**
 * Kafka's internal topics: the group and transaction coordinators' own logs. Metadata flags them
 * internal; clients may read them but not append to them, delete them or delete their records,
 * since a stray record or a moved log start there would corrupt every group's offsets or every
 * transaction's state on the next replay (Kafka refuses the same with INVALID_TOPIC_EXCEPTION).
 */
import { consumerOffsetsTopic } from './groups/group-runtime.ts';
import { transactionStateTopic } from './transactions/transaction-runtime.ts';

const internalTopics: ReadonlySet<string> = new Set([consumerOffsetsTopic, transactionStateTopic]);

export function isInternalTopic(name: string): boolean {
  return internalTopics.has(name);
}
