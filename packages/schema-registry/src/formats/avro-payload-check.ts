/**
 * Checks that bytes are one well-formed Avro value of a type before avsc decodes them. avsc
 * trusts an array or map block count: ten bytes claiming 2^31 items make it allocate until the
 * process runs out of memory. This walk reads only lengths, counts and union branches and
 * refuses a count that the remaining bytes cannot hold (each item of a type that takes at least
 * one byte), more than `avroDecodedItemsMax` items in all, or nesting deeper than
 * `avroNestingMax`, so decoding a record value costs time and memory bounded by its size.
 */
import type avro from 'avsc';

export const avroDecodedItemsMax = 1_000_000;
export const avroNestingMax = 1_000;

interface Walk {
  readonly bytes: Buffer;
  offset: number;
  items: number;
}

class MalformedAvro extends Error {}

/** Why the bytes are not one value of `type`, or undefined when they are. */
export function avroPayloadProblem(type: avro.Type, bytes: Buffer): string | undefined {
  const walk: Walk = { bytes, offset: 0, items: 0 };
  try {
    skip(walk, type, 0);
    if (walk.offset !== bytes.length) return `${bytes.length - walk.offset} bytes after the value`;
    return undefined;
  } catch (error: unknown) {
    if (error instanceof MalformedAvro) return error.message;
    throw error;
  }
}

function need(walk: Walk, size: number): void {
  if (size < 0 || walk.offset + size > walk.bytes.length) {
    throw new MalformedAvro(`truncated at byte ${walk.offset}`);
  }
  walk.offset += size;
}

/** A zigzag varint long, as a number (exact up to 2^53; larger only ever fails a bound). */
function readLong(walk: Walk): number {
  let value = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    const byte = walk.bytes[walk.offset];
    if (byte === undefined) throw new MalformedAvro(`truncated at byte ${walk.offset}`);
    walk.offset += 1;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }
  throw new MalformedAvro(`varint too long at byte ${walk.offset}`);
}

interface TypeShape {
  readonly typeName: string;
  readonly itemsType?: avro.Type;
  readonly valuesType?: avro.Type;
  readonly fields?: readonly { readonly type: avro.Type }[];
  readonly types?: readonly avro.Type[];
  readonly size?: number;
  readonly symbols?: readonly string[];
  readonly underlyingType?: avro.Type;
}

function skip(walk: Walk, type: avro.Type, depth: number): void {
  if (depth > avroNestingMax) throw new MalformedAvro('nested too deep');
  const shape = type as unknown as TypeShape;
  const name = shape.typeName;
  if (name.startsWith('logical:') && shape.underlyingType !== undefined) {
    return skip(walk, shape.underlyingType, depth);
  }
  switch (name) {
    case 'null':
      return;
    case 'boolean':
      return need(walk, 1);
    case 'int':
    case 'long':
      readLong(walk);
      return;
    case 'float':
      return need(walk, 4);
    case 'double':
      return need(walk, 8);
    case 'bytes':
    case 'string':
      return need(walk, readLong(walk));
    case 'fixed':
      return need(walk, shape.size ?? 0);
    case 'enum': {
      const index = readLong(walk);
      if (index < 0 || index >= (shape.symbols ?? []).length) {
        throw new MalformedAvro(`enum index ${index} out of range`);
      }
      return;
    }
    case 'array':
    case 'map':
      return skipBlocks(walk, shape, depth);
    case 'record':
    case 'error':
      for (const field of shape.fields ?? []) skip(walk, field.type, depth + 1);
      return;
    default:
      return skipUnion(walk, shape, depth);
  }
}

function skipUnion(walk: Walk, shape: TypeShape, depth: number): void {
  if (!shape.typeName.startsWith('union') || shape.types === undefined) {
    throw new MalformedAvro(`cannot check Avro type ${shape.typeName}`);
  }
  const index = readLong(walk);
  const branch = shape.types[index];
  if (branch === undefined) throw new MalformedAvro(`union branch ${index} out of range`);
  skip(walk, branch, depth + 1);
}

function skipBlocks(walk: Walk, shape: TypeShape, depth: number): void {
  const item = (shape.typeName === 'array' ? shape.itemsType : shape.valuesType) as avro.Type;
  const isMap = shape.typeName === 'map';
  for (;;) {
    let count = readLong(walk);
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      readLong(walk); // the block's size in bytes, which a reader may use to skip it
    }
    walk.items += count;
    const remaining = walk.bytes.length - walk.offset;
    if (walk.items > avroDecodedItemsMax) throw new MalformedAvro('too many items');
    if ((isMap || takesBytes(item)) && count > remaining) {
      throw new MalformedAvro(`block of ${count} items in ${remaining} bytes`);
    }
    for (let i = 0; i < count; i += 1) {
      if (isMap) need(walk, readLong(walk));
      skip(walk, item, depth + 1);
    }
  }
}

/** Whether every value of the type takes at least one byte. */
function takesBytes(type: avro.Type): boolean {
  const shape = type as unknown as TypeShape;
  switch (shape.typeName) {
    case 'null':
      return false;
    case 'fixed':
      return (shape.size ?? 0) > 0;
    case 'record':
    case 'error':
      return (shape.fields ?? []).some((field) => takesBytes(field.type));
    default:
      if (shape.typeName.startsWith('logical:') && shape.underlyingType !== undefined) {
        return takesBytes(shape.underlyingType);
      }
      return true;
  }
}
