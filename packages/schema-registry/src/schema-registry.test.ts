/**
 * SchemaRegistry's decode path (what produce validation calls) and the Protobuf forms: framed
 * values with Confluent's magic byte, schema id and message indexes; .proto text and base64
 * FileDescriptorProto turning into each other; and a property test that no byte string makes
 * the decode path throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { ProtobufSchema } from './formats/protobuf-schema.ts';
import { SchemaRegistry } from './schema-registry.ts';
import { SqliteSchemaStore } from './sqlite-schema-store.ts';
import { readFrame } from './wire-format.ts';

const shopProto = `syntax = "proto3";
package shop;
message Order {
  string id = 1;
  map<string, int64> lines = 2;
  message Line { string sku = 1; }
}
message Refund { string order = 1; }
`;

/** One zigzag varint byte, enough for the small indexes of these tests. */
const zigzag = (value: number): Buffer => Buffer.from([value * 2]);

function framed(id: number, payload: Buffer, indexes?: readonly number[]): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  if (indexes === undefined) return Buffer.concat([header, payload]);
  const encoded =
    indexes.length === 0 ? [zigzag(0)] : [zigzag(indexes.length), ...indexes.map(zigzag)];
  return Buffer.concat([header, ...encoded, payload]);
}

describe('SchemaRegistry.decode', () => {
  it('decodes Avro, JSON and Protobuf values by schema id and says why others fail', async () => {
    const registry = new SchemaRegistry(SqliteSchemaStore.open(':memory:'));
    try {
      const avro = await registry.register('a', {
        schema: '{"type":"record","name":"R","fields":[{"name":"n","type":"long"}]}',
        schemaType: 'AVRO',
        references: [],
      });
      const json = await registry.register('j', {
        schema: '{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}',
        schemaType: 'JSON',
        references: [],
      });
      const proto = await registry.register('p', {
        schema: shopProto,
        schemaType: 'PROTOBUF',
        references: [],
      });
      const avroValue = await registry.decode(framed(avro.id, Buffer.from([0x54])));
      assert.deepEqual(avroValue.ok && { ...(avroValue.value as object) }, { n: 42 });
      assert.equal((await registry.decode(framed(json.id, Buffer.from('{"n":1}')))).ok, true);
      const invalid = await registry.decode(framed(json.id, Buffer.from('{"n":"x"}')));
      assert.deepEqual(invalid, { ok: false, schemaId: json.id, reason: '/n must be integer' });

      const refund = protobuf.parse(shopProto).root.lookupType('shop.Refund');
      const bytes = Buffer.from(refund.encode(refund.create({ order: 'o-9' })).finish());
      const decoded = await registry.decode(framed(proto.id, bytes, [1]));
      assert.deepEqual(decoded, { ok: true, schemaId: proto.id, value: { order: 'o-9' } });
      const nested = await registry.decode(framed(proto.id, Buffer.alloc(0), [0, 0]));
      assert.equal(nested.ok, true, 'shop.Order.Line, empty');
      const missing = await registry.decode(framed(proto.id, bytes, [7]));
      assert.deepEqual(missing, {
        ok: false,
        schemaId: proto.id,
        reason: 'no message at index [7]',
      });

      const unknown = await registry.decode(framed(9999, Buffer.from('x')));
      assert.deepEqual(unknown, { ok: false, schemaId: 9999, reason: 'Schema 9999 not found' });
      assert.deepEqual(await registry.decode(Buffer.from([1, 0, 0, 0, 1])), {
        ok: false,
        reason: 'unknown magic byte 1',
      });
      assert.equal((await registry.decode(Buffer.from([0, 0]))).ok, false);
    } finally {
      await registry.close();
    }
  });

  it('refuses an Avro block count its bytes cannot hold instead of allocating it', async () => {
    const registry = new SchemaRegistry(SqliteSchemaStore.open(':memory:'));
    try {
      const strings = await registry.register('s', {
        schema: '{"type":"array","items":"string"}',
        schemaType: 'AVRO',
        references: [],
      });
      // 2^31 - 1 items claimed in five bytes: avsc alone would allocate until out of memory.
      const bomb = framed(strings.id, Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f]));
      assert.deepEqual(await registry.decode(bomb), {
        ok: false,
        schemaId: strings.id,
        reason: 'too many items',
      });
      const claimed = framed(strings.id, Buffer.from([0x14, 0x02, 0x61]));
      assert.deepEqual(await registry.decode(claimed), {
        ok: false,
        schemaId: strings.id,
        reason: 'block of 10 items in 2 bytes',
      });
    } finally {
      await registry.close();
    }
  });

  it('never throws, whatever the bytes', async () => {
    const registry = new SchemaRegistry(SqliteSchemaStore.open(':memory:'));
    try {
      const ids = [];
      for (const [subject, schemaType, schema] of [
        ['a', 'AVRO', '{"type":"array","items":"string"}'],
        ['m', 'AVRO', '{"type":"map","values":{"type":"array","items":"null"}}'],
        ['j', 'JSON', '{"type":"array"}'],
        ['p', 'PROTOBUF', shopProto],
      ] as const) {
        ids.push((await registry.register(subject, { schema, schemaType, references: [] })).id);
      }
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ids),
          fc.uint8Array({ maxLength: 64 }),
          async (id, tail) => {
            const result = await registry.decode(framed(id, Buffer.from(tail)));
            assert.equal(typeof result.ok, 'boolean');
          },
        ),
        { numRuns: 2000 },
      );
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 32 }), fc.boolean(), (bytes, withIndexes) => {
          assert.equal(typeof readFrame(Buffer.from(bytes), withIndexes).ok, 'boolean');
        }),
      );
    } finally {
      await registry.close();
    }
  });
});

describe('JSON Schema dialects', () => {
  it('reads draft-07 by default and 2020-12 when $schema names it', async () => {
    const registry = new SchemaRegistry(SqliteSchemaStore.open(':memory:'));
    try {
      const pair = {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'array',
        prefixItems: [{ type: 'string' }, { $ref: '#/$defs/count' }],
        items: false,
        $defs: { count: { type: 'integer', minimum: 0 } },
      };
      const modern = await registry.register('pair', {
        schema: JSON.stringify(pair),
        schemaType: 'JSON',
        references: [],
      });
      const ok = await registry.decode(framed(modern.id, Buffer.from('["tea", 2]')));
      assert.deepEqual(ok, { ok: true, schemaId: modern.id, value: ['tea', 2] });
      // prefixItems is a 2020-12 keyword: the third item is refused by items: false.
      const extra = await registry.decode(framed(modern.id, Buffer.from('["tea", 2, 3]')));
      assert.equal(extra.ok, false);
      const negative = await registry.decode(framed(modern.id, Buffer.from('["tea", -1]')));
      assert.deepEqual(negative, {
        ok: false,
        schemaId: modern.id,
        reason: '/1 must be >= 0',
      });
      const draft7 = await registry.register('d7', {
        schema: JSON.stringify({ type: 'string', format: 'email' }),
        schemaType: 'JSON',
        references: [],
      });
      const email = await registry.decode(framed(draft7.id, Buffer.from('"not an address"')));
      assert.deepEqual(email, {
        ok: false,
        schemaId: draft7.id,
        reason: '(root) must match format "email"',
      });
    } finally {
      await registry.close();
    }
  });
});

describe('ProtobufSchema forms', () => {
  it('turns .proto text into a FileDescriptorProto and back without a change', () => {
    const text = ProtobufSchema.parse(shopProto, []);
    const serialized = text.serialized();
    assert.match(serialized, /^[A-Za-z0-9+/]+={0,2}$/);
    const fromDescriptor = ProtobufSchema.parse(serialized, []);
    assert.equal(fromDescriptor.serialized(), serialized, 'stored as given');
    const printed = fromDescriptor.text();
    assert.match(printed, /map<string, int64> lines = 2;/);
    const reparsed = ProtobufSchema.parse(printed, []);
    for (const [a, b] of [
      [text, fromDescriptor],
      [fromDescriptor, reparsed],
      [reparsed, text],
    ] as const) {
      assert.deepEqual(a.readingProblems(b), []);
      assert.deepEqual(b.readingProblems(a), []);
    }
  });

  it('refuses text that is neither .proto nor a descriptor with 42201', () => {
    assert.throws(
      () => ProtobufSchema.parse('message {', []),
      (error: unknown) => (error as { errorCode?: number }).errorCode === 42201,
    );
  });
});
