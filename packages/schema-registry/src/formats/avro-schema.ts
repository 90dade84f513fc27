/**
 * Avro schemas with avsc. Compatibility is Avro's schema resolution (avsc's createResolver),
 * the rules Confluent applies through Avro's SchemaCompatibility: field defaults, type
 * promotions (int -> long -> float -> double, string <-> bytes), enum symbols, union branches,
 * and named types matched by unqualified name or alias (ignoreNamespaces), as Avro's Java
 * implementation does.
 */
import avro from 'avsc';
import { registryErrors } from '../registry-error.ts';
import { avroPayloadProblem } from './avro-payload-check.ts';
import type { DecodeResult, ParsedSchema, ResolvedReference } from './parsed-schema.ts';

export class AvroSchema implements ParsedSchema {
  readonly schemaType = 'AVRO';
  readonly canonical: string;
  readonly type: avro.Type;

  private constructor(canonical: string, type: avro.Type) {
    this.canonical = canonical;
    this.type = type;
  }

  static parse(text: string, references: readonly ResolvedReference[]): AvroSchema {
    const registry: Record<string, avro.Type> = {};
    try {
      for (const reference of references) {
        avro.Type.forSchema(JSON.parse(reference.schema) as avro.Schema, { registry });
      }
      const json: unknown = JSON.parse(text);
      const type = avro.Type.forSchema(json as avro.Schema, { registry });
      return new AvroSchema(JSON.stringify(json), type);
    } catch (error: unknown) {
      throw registryErrors.invalidSchema(error instanceof Error ? error.message : String(error));
    }
  }

  readingProblems(writer: ParsedSchema): string[] {
    if (!(writer instanceof AvroSchema)) return [`writer schema is ${writer.schemaType}`];
    try {
      this.type.createResolver(writer.type, { ignoreNamespaces: true });
      return [];
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      return [`{errorType:'READER_CANNOT_READ_WRITER', description:'${reason}'}`];
    }
  }

  decode(payload: Buffer): DecodeResult {
    // Checked first: avsc would trust a huge block count and allocate without bound.
    const problem = avroPayloadProblem(this.type, payload);
    if (problem !== undefined) return { ok: false, reason: problem };
    try {
      return { ok: true, value: this.type.fromBuffer(payload) as unknown };
    } catch (error: unknown) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  recordName(): string | undefined {
    return this.type.name;
  }
}
