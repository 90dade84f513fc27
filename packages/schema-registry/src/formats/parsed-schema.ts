/**
 * ParsedSchema: one schema read by its format (Avro, JSON Schema, Protobuf), able to say whether
 * it can read what another schema of its format wrote, and to decode a payload. Schema texts are
 * client input: every parse failure is a RegistryError 42201, never a crash.
 */
import type { SchemaType } from '../schema-types.ts';

/** A referenced schema, already resolved: `name` as the referring schema imports it. */
export interface ResolvedReference {
  readonly name: string;
  readonly schemaType: SchemaType;
  readonly schema: string;
}

export type DecodeResult =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

export interface ParsedSchema {
  readonly schemaType: SchemaType;
  /** The text stored and compared for equality: whitespace-insensitive where the format is. */
  readonly canonical: string;
  /**
   * Why this schema, as the reader, cannot read data written with `writer` (Confluent's verdict
   * for a reader/writer pair); empty when it can.
   */
  readingProblems(writer: ParsedSchema): string[];
  /**
   * Decodes one payload without the Confluent framing (wire-format.ts strips it); for Protobuf
   * `messageIndexes` names the message type.
   */
  decode(payload: Buffer, messageIndexes: readonly number[]): DecodeResult;
  /**
   * The fully qualified name Confluent's RecordNameStrategy derives a subject from: the Avro
   * named type, the Protobuf message at `messageIndexes`, the JSON Schema's `title`; undefined
   * when the schema has none (an Avro primitive, an untitled JSON Schema).
   */
  recordName(messageIndexes: readonly number[]): string | undefined;
}
