/**
 * Effective topic configs (Kafka's defaults, the broker's defaults, the topic's overrides),
 * computed once per TopicRecord and broker-defaults object. Storage replaces a topic's record
 * whenever its configs change, and the broker replaces its defaults object whenever a dynamic
 * broker config changes, so a cache keyed by both is always current and the produce path does
 * not rebuild the config map per request.
 */
import { effectiveTopicConfig, type TopicRecord } from '@tributary/storage';

type Configs = Readonly<Record<string, string>>;

const cache = new WeakMap<Configs, WeakMap<TopicRecord, Configs>>();

export function topicConfigOf(topic: TopicRecord, brokerDefaults: Configs): Configs {
  let byTopic = cache.get(brokerDefaults);
  if (byTopic === undefined) {
    byTopic = new WeakMap();
    cache.set(brokerDefaults, byTopic);
  }
  let config = byTopic.get(topic);
  if (config === undefined) {
    config = effectiveTopicConfig(topic, brokerDefaults);
    byTopic.set(topic, config);
  }
  return config;
}
