import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TopicPolicy } from './topic-policy.ts';

describe('TopicPolicy', () => {
  it('names an authenticated creator as the owner, never ANONYMOUS', () => {
    const topic = { name: 't', partitionCount: 1, configs: {} };
    assert.deepEqual(TopicPolicy.none.checkCreate(topic, 'User:alice'), {
      configs: { 'tributary.owner': 'User:alice' },
    });
    assert.deepEqual(TopicPolicy.none.checkCreate(topic, 'User:ANONYMOUS'), { configs: {} });
    const owned = { ...topic, configs: { 'tributary.owner': 'team-a' } };
    assert.deepEqual(TopicPolicy.none.checkCreate(owned, 'User:alice'), {
      configs: { 'tributary.owner': 'team-a' },
    });
  });

  it('reads its settings and refuses with POLICY_VIOLATION', () => {
    const values: Record<string, string> = {
      'create.topic.policy.name.pattern': 'a|b',
      'create.topic.policy.require.cloudevents': 'true',
    };
    const policy = TopicPolicy.fromSettings((name) => values[name]);
    const refused = policy.checkCreate({ name: 'ab', partitionCount: 1, configs: {} }, 'x');
    assert.ok('errorCode' in refused && refused.errorCode === 44, JSON.stringify(refused));
    const cloud = policy.checkCreate({ name: 'a', partitionCount: 1, configs: {} }, 'x');
    assert.ok('errorMessage' in cloud && /cloudevents/.test(cloud.errorMessage));
    const ok = policy.checkCreate(
      { name: 'b', partitionCount: 1, configs: { 'tributary.cloudevents.required': 'true' } },
      'x',
    );
    assert.ok('configs' in ok);
  });
});
