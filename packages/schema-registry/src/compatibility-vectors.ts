/**
 * Compatibility test vectors: schema pairs per format with Confluent Schema Registry's verdict,
 * as its compatibility rules decide them (Avro's SchemaCompatibility, Confluent's JSON Schema
 * and Protobuf diffs). `backward`: the new schema reads data written with the old one; `forward`:
 * the old schema reads data written with the new one. Every level follows from these two (FULL
 * is both, NONE always passes); the chains hold three versions whose newest passes against the
 * latest but not against the first, which is what the _TRANSITIVE levels add.
 * docs/schema-registry.md shows the same table; compatibility-vectors.test.ts checks each.
 */
import type { SchemaType } from './schema-types.ts';

export interface CompatibilityVector {
  readonly schemaType: SchemaType;
  readonly change: string;
  readonly previous: string;
  readonly next: string;
  readonly backward: boolean;
  readonly forward: boolean;
}

export interface CompatibilityChain {
  readonly schemaType: SchemaType;
  readonly change: string;
  /** Oldest first; the last is checked against the others. */
  readonly versions: readonly [string, string, string];
  /** Verdict of the last against the one before it only (BACKWARD / FORWARD). */
  readonly latest: { readonly backward: boolean; readonly forward: boolean };
  /** Verdict of the last against every earlier version (the _TRANSITIVE levels). */
  readonly all: { readonly backward: boolean; readonly forward: boolean };
}

const record = (...fields: object[]): string =>
  JSON.stringify({ type: 'record', name: 'User', namespace: 'shop', fields });
const name = { name: 'name', type: 'string' };

const avro: CompatibilityVector[] = [
  [
    'add a field with a default',
    record(name),
    record(name, { name: 'age', type: 'int', default: 0 }),
    true,
    true,
  ],
  [
    'add a field without a default',
    record(name),
    record(name, { name: 'age', type: 'int' }),
    false,
    true,
  ],
  [
    'remove a field that had a default',
    record(name, { name: 'age', type: 'int', default: 0 }),
    record(name),
    true,
    true,
  ],
  [
    'remove a field without a default',
    record(name, { name: 'age', type: 'int' }),
    record(name),
    true,
    false,
  ],
  [
    'promote int to long',
    record({ name: 'n', type: 'int' }),
    record({ name: 'n', type: 'long' }),
    true,
    false,
  ],
  [
    'narrow long to int',
    record({ name: 'n', type: 'long' }),
    record({ name: 'n', type: 'int' }),
    false,
    true,
  ],
  [
    'string to bytes',
    record({ name: 'n', type: 'string' }),
    record({ name: 'n', type: 'bytes' }),
    true,
    true,
  ],
  [
    'string to int',
    record({ name: 'n', type: 'string' }),
    record({ name: 'n', type: 'int' }),
    false,
    false,
  ],
  [
    'make a field nullable (union with null)',
    record(name),
    record({ name: 'name', type: ['null', 'string'] }),
    true,
    false,
  ],
  [
    'add an enum symbol',
    record({ name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] } }),
    record({ name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B', 'C'] } }),
    true,
    false,
  ],
  [
    'rename the record',
    record(name),
    JSON.stringify({ type: 'record', name: 'Person', namespace: 'shop', fields: [name] }),
    false,
    false,
  ],
  [
    'rename the record with an alias',
    record(name),
    JSON.stringify({
      type: 'record',
      name: 'Person',
      namespace: 'shop',
      aliases: ['User'],
      fields: [name],
    }),
    true,
    false,
  ],
  [
    'change only the namespace',
    record(name),
    JSON.stringify({ type: 'record', name: 'User', namespace: 'store', fields: [name] }),
    true,
    true,
  ],
  [
    'array items int to long',
    record({ name: 'xs', type: { type: 'array', items: 'int' } }),
    record({ name: 'xs', type: { type: 'array', items: 'long' } }),
    true,
    false,
  ],
].map(([change, previous, next, backward, forward]) => ({
  schemaType: 'AVRO',
  change: String(change),
  previous: String(previous),
  next: String(next),
  backward: backward === true,
  forward: forward === true,
}));

const object = (properties: object, extra: object = {}): string =>
  JSON.stringify({ type: 'object', properties, ...extra });
const closed = { additionalProperties: false };
const str = { type: 'string' };

const json: CompatibilityVector[] = [
  [
    'add an optional property (open content model)',
    object({ a: str }),
    object({ a: str, b: str }),
    false,
    true,
  ],
  [
    'add an optional property (closed content model)',
    object({ a: str }, closed),
    object({ a: str, b: str }, closed),
    true,
    false,
  ],
  [
    'add a required property (closed content model)',
    object({ a: str }, closed),
    object({ a: str, b: str }, { ...closed, required: ['b'] }),
    false,
    false,
  ],
  [
    'remove a property (open content model)',
    object({ a: str, b: str }),
    object({ a: str }),
    true,
    false,
  ],
  [
    'remove a property (closed content model)',
    object({ a: str, b: str }, closed),
    object({ a: str }, closed),
    false,
    true,
  ],
  [
    'change a property type string to number',
    object({ a: str }),
    object({ a: { type: 'number' } }),
    false,
    false,
  ],
  [
    'widen integer to number',
    object({ a: { type: 'integer' } }),
    object({ a: { type: 'number' } }),
    true,
    false,
  ],
  [
    'lower maxLength',
    object({ a: { type: 'string', maxLength: 10 } }),
    object({ a: { type: 'string', maxLength: 5 } }),
    false,
    true,
  ],
  [
    'add a value to an enum',
    object({ a: { enum: ['x', 'y'] } }),
    object({ a: { enum: ['x', 'y', 'z'] } }),
    true,
    false,
  ],
  [
    'make a property required',
    object({ a: str }),
    object({ a: str }, { required: ['a'] }),
    false,
    true,
  ],
  ['close the content model', object({ a: str }), object({ a: str }, closed), false, true],
  [
    'add a oneOf branch',
    JSON.stringify({ oneOf: [{ type: 'string' }] }),
    JSON.stringify({ oneOf: [{ type: 'string' }, { type: 'number' }] }),
    true,
    false,
  ],
  [
    'add a property covered by a partially open model',
    object({ a: str }, { additionalProperties: str }),
    object({ a: str, b: str }, { additionalProperties: str }),
    true,
    true,
  ],
].map(([change, previous, next, backward, forward]) => ({
  schemaType: 'JSON',
  change: String(change),
  previous: String(previous),
  next: String(next),
  backward: backward === true,
  forward: forward === true,
}));

const proto = (body: string, packageName = 'shop'): string =>
  `syntax = "proto3";\npackage ${packageName};\n${body}\n`;

const protobuf: CompatibilityVector[] = [
  [
    'add a field',
    proto('message Order { string id = 1; }'),
    proto('message Order { string id = 1; int64 total = 2; }'),
    true,
    true,
  ],
  [
    'remove a field',
    proto('message Order { string id = 1; int64 total = 2; }'),
    proto('message Order { string id = 1; }'),
    true,
    true,
  ],
  [
    'rename a field (same number)',
    proto('message Order { string id = 1; }'),
    proto('message Order { string order_id = 1; }'),
    true,
    true,
  ],
  [
    'int32 to int64 (same wire group)',
    proto('message Order { int32 n = 1; }'),
    proto('message Order { int64 n = 1; }'),
    true,
    true,
  ],
  [
    'int32 to sint32',
    proto('message Order { int32 n = 1; }'),
    proto('message Order { sint32 n = 1; }'),
    false,
    false,
  ],
  [
    'int32 to string',
    proto('message Order { int32 n = 1; }'),
    proto('message Order { string n = 1; }'),
    false,
    false,
  ],
  [
    'string to bytes',
    proto('message Order { string n = 1; }'),
    proto('message Order { bytes n = 1; }'),
    true,
    true,
  ],
  [
    'scalar to message',
    proto('message Order { string n = 1; }\nmessage Money { int64 units = 1; }'),
    proto('message Order { Money n = 1; }\nmessage Money { int64 units = 1; }'),
    false,
    false,
  ],
  [
    'remove a message',
    proto('message Order { string id = 1; }\nmessage Line { string sku = 1; }'),
    proto('message Order { string id = 1; }'),
    false,
    true,
  ],
  [
    'add a message',
    proto('message Order { string id = 1; }'),
    proto('message Order { string id = 1; }\nmessage Line { string sku = 1; }'),
    true,
    false,
  ],
  [
    'change the package',
    proto('message Order { string id = 1; }'),
    proto('message Order { string id = 1; }', 'store'),
    false,
    false,
  ],
  [
    'add an enum value',
    proto('message Order { Status s = 1; }\nenum Status { NEW = 0; }'),
    proto('message Order { Status s = 1; }\nenum Status { NEW = 0; PAID = 1; }'),
    true,
    true,
  ],
  [
    'move one field into a new oneof',
    proto('message Order { string a = 1; }'),
    proto('message Order { oneof pick { string a = 1; } }'),
    true,
    true,
  ],
  [
    'move two fields into a new oneof',
    proto('message Order { string a = 1; string b = 2; }'),
    proto('message Order { oneof pick { string a = 1; string b = 2; } }'),
    false,
    true,
  ],
  [
    'add a required field (proto2)',
    'syntax = "proto2";\nmessage Order { optional string a = 1; }',
    'syntax = "proto2";\nmessage Order { optional string a = 1; required string b = 2; }',
    false,
    false,
  ],
].map(([change, previous, next, backward, forward]) => ({
  schemaType: 'PROTOBUF',
  change: String(change),
  previous: String(previous),
  next: String(next),
  backward: backward === true,
  forward: forward === true,
}));

export const compatibilityVectors: readonly CompatibilityVector[] = [...avro, ...json, ...protobuf];

export const compatibilityChains: readonly CompatibilityChain[] = [
  {
    schemaType: 'AVRO',
    change: 'add age with a default, then drop the default',
    versions: [
      record(name),
      record(name, { name: 'age', type: 'int', default: 0 }),
      record(name, { name: 'age', type: 'int' }),
    ],
    latest: { backward: true, forward: true },
    all: { backward: false, forward: true },
  },
  {
    schemaType: 'AVRO',
    change: 'remove a field with a default, then remove one without',
    versions: [
      record(name, { name: 'age', type: 'int' }, { name: 'city', type: 'string', default: '' }),
      record(name, { name: 'age', type: 'int' }),
      record(name),
    ],
    latest: { backward: true, forward: false },
    all: { backward: true, forward: false },
  },
  {
    schemaType: 'PROTOBUF',
    change: 'remove field 2, then reuse number 2 as a string',
    versions: [
      proto('message Order { string id = 1; int64 total = 2; }'),
      proto('message Order { string id = 1; }'),
      proto('message Order { string id = 1; string note = 2; }'),
    ],
    latest: { backward: true, forward: true },
    all: { backward: false, forward: false },
  },
  {
    schemaType: 'JSON',
    change: 'drop a property (open model), then add it back as a number',
    versions: [
      object({ a: str, b: str }),
      object({ a: str }),
      object({ a: str, b: { type: 'number' } }),
    ],
    latest: { backward: false, forward: true },
    all: { backward: false, forward: false },
  },
];
