import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaRecord } from '@tributary/protocol';
import { AvroSchema, JsonSchema, ProtobufSchema } from '@tributary/schema-registry';
import { cloudEventProblem, subjectOf, validationRulesOf } from './record-validation.ts';

function record(headers: Record<string, string>, value: string | null): KafkaRecord {
  return {
    offset: 0n,
    timestamp: 0n,
    key: null,
    value: value === null ? null : Buffer.from(value),
    headers: Object.entries(headers).map(([key, v]) => ({ key, value: Buffer.from(v) })),
  };
}

const binary = { ce_specversion: '1.0', ce_id: '1', ce_source: '/s', ce_type: 't' };
const structured = { specversion: '1.0', id: '1', source: '/s', type: 't' };
const json = { 'content-type': 'application/cloudevents+json' };

describe('cloudEventProblem', () => {
  it('accepts the binary and structured modes of the Kafka protocol binding', () => {
    assert.equal(cloudEventProblem(record(binary, 'anything')), undefined);
    assert.equal(cloudEventProblem(record(binary, null)), undefined);
    assert.equal(cloudEventProblem(record(json, JSON.stringify(structured))), undefined);
  });

  it('names what is missing or wrong', () => {
    const { ce_source: _s, ce_type: _t, ...partial } = binary;
    assert.match(cloudEventProblem(record(partial, '')) ?? '', /needs ce_source, ce_type header/);
    assert.match(
      cloudEventProblem(record({ ...binary, ce_specversion: '0.3' }, '')) ?? '',
      /specversion 0.3 is not 1.0/,
    );
    const { id: _id, ...anonymous } = structured;
    assert.match(
      cloudEventProblem(record(json, JSON.stringify(anonymous))) ?? '',
      /structured CloudEvent lacks id/,
    );
    assert.match(cloudEventProblem(record(json, '[1]')) ?? '', /not a JSON object/);
    assert.match(cloudEventProblem(record(json, '{')) ?? '', /not JSON/);
    assert.match(cloudEventProblem(record(json, null)) ?? '', /without a value/);
  });
});

describe('validationRulesOf', () => {
  it('is undefined unless a rule is on, so other topics decode nothing', () => {
    assert.equal(validationRulesOf({ 'tributary.validation.policy': 'dlq' }), undefined);
    assert.deepEqual(validationRulesOf({ 'confluent.value.schema.validation': 'TRUE' }), {
      keySchema: false,
      valueSchema: true,
      keySubjectStrategy: undefined,
      valueSubjectStrategy: undefined,
      decode: false,
      cloudEvents: false,
      policy: 'reject',
    });
  });

  it("reads Confluent's subject name strategies by class name", () => {
    const rules = validationRulesOf({
      'confluent.value.schema.validation': 'true',
      'confluent.value.subject.name.strategy':
        'io.confluent.kafka.serializers.subject.RecordNameStrategy',
      'confluent.key.subject.name.strategy': 'TopicRecordNameStrategy',
    });
    assert.equal(rules?.valueSubjectStrategy, 'RecordNameStrategy');
    assert.equal(rules?.keySubjectStrategy, 'TopicRecordNameStrategy');
  });
});

describe('subjectOf', () => {
  it('names the subject each strategy checks', () => {
    const schema = AvroSchema.parse(
      '{"type":"record","name":"Order","namespace":"shop","fields":[]}',
      [],
    );
    const where = { topic: 'orders', part: 'value' as const, schema, indexes: [] };
    assert.equal(subjectOf('TopicNameStrategy', where), 'orders-value');
    assert.equal(subjectOf('RecordNameStrategy', where), 'shop.Order');
    assert.equal(subjectOf('TopicRecordNameStrategy', where), 'orders-shop.Order');
    const primitive = AvroSchema.parse('"string"', []);
    assert.equal(subjectOf('RecordNameStrategy', { ...where, schema: primitive }), undefined);
    const proto = ProtobufSchema.parse(
      'syntax = "proto3";\npackage shop;\nmessage A { message B {} }\nmessage C {}\n',
      [],
    );
    assert.equal(
      subjectOf('RecordNameStrategy', { ...where, schema: proto, indexes: [0, 0] }),
      'shop.A.B',
    );
    assert.equal(
      subjectOf('RecordNameStrategy', { ...where, schema: proto, indexes: [1] }),
      'shop.C',
    );
    const titled = JsonSchema.parse('{"title":"shop.Stock","type":"object"}', []);
    assert.equal(subjectOf('RecordNameStrategy', { ...where, schema: titled }), 'shop.Stock');
  });
});
