/**
 * Confluent's wire format, which every Confluent-compatible serializer writes: magic byte 0,
 * the schema id as a 4-byte big-endian integer, then (Protobuf only) the message indexes as
 * zigzag varints (a count, then the indexes; a lone 0 means [0]), then the encoded payload.
 */

export const wireMagicByte = 0;
/** Message indexes a Protobuf payload may carry; more is a malformed record, not a schema. */
export const messageIndexesMax = 100;

export interface FramedPayload {
  readonly schemaId: number;
  /** Message indexes (Protobuf); empty for Avro and JSON Schema. */
  readonly messageIndexes: readonly number[];
  readonly payload: Buffer;
}

export type FrameResult =
  | { readonly ok: true; readonly frame: FramedPayload }
  | { readonly ok: false; readonly reason: string };

/** Splits a record value into schema id and payload; `withIndexes` for Protobuf. */
export function readFrame(bytes: Buffer, withIndexes: boolean): FrameResult {
  if (bytes.length < 5)
    return { ok: false, reason: `${bytes.length} bytes: too short for a frame` };
  if (bytes[0] !== wireMagicByte) {
    return { ok: false, reason: `unknown magic byte ${bytes[0]}` };
  }
  const schemaId = bytes.readInt32BE(1);
  if (!withIndexes)
    return { ok: true, frame: { schemaId, messageIndexes: [], payload: bytes.subarray(5) } };
  const reader = { offset: 5 };
  const count = readZigzagVarint(bytes, reader);
  if (count === undefined || count < 0 || count > messageIndexesMax) {
    return { ok: false, reason: 'malformed message indexes' };
  }
  const messageIndexes: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const index = readZigzagVarint(bytes, reader);
    if (index === undefined || index < 0) return { ok: false, reason: 'malformed message indexes' };
    messageIndexes.push(index);
  }
  return {
    ok: true,
    frame: { schemaId, messageIndexes, payload: bytes.subarray(reader.offset) },
  };
}

/** The schema id of a framed value without reading further; undefined when not framed. */
export function schemaIdOf(bytes: Buffer): number | undefined {
  return bytes.length >= 5 && bytes[0] === wireMagicByte ? bytes.readInt32BE(1) : undefined;
}

function readZigzagVarint(bytes: Buffer, reader: { offset: number }): number | undefined {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = bytes[reader.offset];
    if (byte === undefined) return undefined;
    reader.offset += 1;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }
  return undefined;
}
