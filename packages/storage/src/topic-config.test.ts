import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  effectiveTopicConfig,
  topicConfigDefinitions,
  validateTopicConfig,
} from './topic-config.ts';
import { newTopicId } from './types.ts';

describe('topic configs', () => {
  it("has Kafka's names and defaults", () => {
    const defaults = Object.fromEntries(
      [...topicConfigDefinitions.values()].map((d) => [d.name, d.defaultValue]),
    );
    assert.equal(defaults['cleanup.policy'], 'delete');
    assert.equal(defaults['retention.ms'], '604800000');
    assert.equal(defaults['retention.bytes'], '-1');
    assert.equal(defaults['segment.bytes'], '1073741824');
    assert.equal(defaults['max.message.bytes'], '1048588');
    assert.equal(defaults['max.compaction.lag.ms'], '9223372036854775807');
    assert.equal(defaults['message.timestamp.type'], 'CreateTime');
    assert.equal(defaults['unclean.leader.election.enable'], 'false');
  });

  it('validates type and range', () => {
    assert.equal(validateTopicConfig('retention.ms', '-1'), undefined);
    assert.match(validateTopicConfig('retention.ms', '-2') ?? '', /at least -1/);
    assert.match(validateTopicConfig('retention.ms', 'soon') ?? '', /Not a number/);
    assert.match(validateTopicConfig('max.message.bytes', '3000000000') ?? '', /type int/);
    assert.equal(validateTopicConfig('cleanup.policy', 'compact,delete'), undefined);
    assert.match(validateTopicConfig('cleanup.policy', 'forever') ?? '', /one of/);
    assert.equal(validateTopicConfig('min.cleanable.dirty.ratio', '0.9'), undefined);
    assert.match(validateTopicConfig('min.cleanable.dirty.ratio', '1.5') ?? '', /no more than/);
    assert.match(validateTopicConfig('preallocate', 'yes') ?? '', /boolean/);
    assert.match(validateTopicConfig('no.such.config', '1') ?? '', /Unknown/);
    assert.match(validateTopicConfig('compression.type', 'brotli') ?? '', /one of/);
  });

  it('overlays overrides on defaults', () => {
    const topic = {
      name: 't',
      topicId: newTopicId(),
      partitionCount: 1,
      configs: { 'retention.ms': '5' },
    };
    const effective = effectiveTopicConfig(topic);
    assert.equal(effective['retention.ms'], '5');
    assert.equal(effective['segment.ms'], '604800000');
  });
});
