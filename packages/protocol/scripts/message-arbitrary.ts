/**
 * fast-check arbitraries for any Kafka message at any version, driven by the same merged schema
 * the generator uses. Test support only: it interprets the schema at run time, which the
 * generated codecs never do. Values stay inside what the wire can carry (int16 range, string
 * byte lengths, valid uuids), and fields absent from the version are left out.
 */
import fc from 'fast-check';
import {
  loadMessageSchema,
  type FieldSchema,
  type MessageSchema,
  type StructSchema,
} from './message-schema.ts';
import { legacySpecDirectory, specDirectory } from './spec-directory.ts';

export function loadSchema(fileName: string): MessageSchema {
  return loadMessageSchema({
    directory: specDirectory,
    legacyDirectory: legacySpecDirectory,
    fileName,
  });
}

type Value = unknown;

const maxArrayLength = 3;

function primitiveArbitrary(field: FieldSchema): fc.Arbitrary<Value> {
  switch (field.primitive) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int32':
      return fc.integer();
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64':
      return fc.double({ noNaN: true });
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ maxLength: 12, unit: 'grapheme' });
    case 'uuid':
      return fc
        .uint8Array({ minLength: 16, maxLength: 16 })
        .map((bytes) => Buffer.from(bytes).toString('base64url'));
    default:
      return fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes));
  }
}

function fieldArbitrary(field: FieldSchema, version: number, depth: number): fc.Arbitrary<Value> {
  let base: fc.Arbitrary<Value>;
  const element = (): fc.Arbitrary<Value> =>
    field.struct !== null
      ? structArbitrary(field.struct, version, depth + 1)
      : primitiveArbitrary(field);
  if (field.kind === 'array') {
    base = depth > 4 ? fc.constant([]) : fc.array(element(), { maxLength: maxArrayLength });
  } else {
    base = element();
  }
  return field.nullable.has(version) ? fc.option(base, { nil: null, freq: 4 }) : base;
}

export function structArbitrary(
  struct: StructSchema,
  version: number,
  depth = 0,
): fc.Arbitrary<Record<string, Value>> {
  const shape: Record<string, fc.Arbitrary<Value>> = {};
  for (const field of struct.fields) {
    if (field.versions.has(version)) shape[field.property] = fieldArbitrary(field, version, depth);
  }
  return fc.record(shape);
}
