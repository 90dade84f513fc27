/**
 * Effective topic configs (defaults plus overrides), computed once per TopicRecord. Storage
 * replaces a topic's record whenever its configs change, so a WeakMap keyed by the record is
 * always current and the produce path does not rebuild the config map per request.
 */
import { effectiveTopicConfig, type TopicRecord } from '@tributary/storage';

const cache = new WeakMap<TopicRecord, Readonly<Record<string, string>>>();

export function topicConfigOf(topic: TopicRecord): Readonly<Record<string, string>> {
  let config = cache.get(topic);
  if (config === undefined) {
    config = effectiveTopicConfig(topic);
    cache.set(topic, config);
  }
  return config;
}
