/**
 * Kafka's rules for topic names: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
 * (Kafka also warns about names that collide once '.' and '_' are equated; so do we, by refusing
 * them at creation, because metric names would collide.)
 */
import type { BrokerStorage } from '@tributary/storage';

const LEGAL = /^[a-zA-Z0-9._-]+$/;
export const topicNameMaxLength = 249;

/** An error message for an illegal name, or undefined when the name is legal. */
export function topicNameError(name: string): string | undefined {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > topicNameMaxLength) {
    return `topic name is longer than ${topicNameMaxLength} characters`;
  }
  if (!LEGAL.test(name)) return `topic name "${name}" has characters outside [a-zA-Z0-9._-]`;
  return undefined;
}

/** The name of an existing topic that collides with `name` once '.' and '_' are equated. */
export function collidingTopic(storage: BrokerStorage, name: string): string | undefined {
  const key = name.replaceAll('.', '_');
  return storage
    .listTopics()
    .find((topic) => topic.name !== name && topic.name.replaceAll('.', '_') === key)?.name;
}
