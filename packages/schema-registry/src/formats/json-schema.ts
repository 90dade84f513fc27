/**
 * JSON Schema with ajv: draft-07 by default, 2019-09 and 2020-12 when `$schema` names them.
 * References are added to the same ajv instance under their reference name, so `"$ref":
 * "other.json"` finds them. Compatibility is json-schema-compatibility.ts. ajv runs
 * non-strict: Confluent accepts schemas with keywords JSON Schema does not define.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { registryErrors } from '../registry-error.ts';
import { jsonReadingProblems, type JsonNode } from './json-schema-compatibility.ts';
import type { DecodeResult, ParsedSchema, ResolvedReference } from './parsed-schema.ts';

type AnyAjv = Ajv | Ajv2019 | Ajv2020;

function ajvFor(schema: unknown): AnyAjv {
  const dialect =
    typeof schema === 'object' && schema !== null && '$schema' in schema
      ? String(schema.$schema)
      : '';
  const options = { strict: false, allErrors: false, validateFormats: true };
  const ajv = dialect.includes('2020-12')
    ? new Ajv2020(options)
    : dialect.includes('2019-09')
      ? new Ajv2019(options)
      : new Ajv(options);
  (addFormats as unknown as (ajv: AnyAjv) => void)(ajv);
  return ajv;
}

export class JsonSchema implements ParsedSchema {
  readonly schemaType = 'JSON';
  readonly canonical: string;
  readonly root: JsonNode;
  readonly references: ReadonlyMap<string, JsonNode>;
  readonly #validate: ValidateFunction;

  private constructor(
    canonical: string,
    parts: { root: JsonNode; references: Map<string, JsonNode>; validate: ValidateFunction },
  ) {
    this.canonical = canonical;
    this.root = parts.root;
    this.references = parts.references;
    this.#validate = parts.validate;
  }

  static parse(text: string, references: readonly ResolvedReference[]): JsonSchema {
    try {
      const root = JSON.parse(text) as JsonNode;
      if (typeof root !== 'boolean' && (typeof root !== 'object' || root === null)) {
        throw new Error('a JSON schema is an object or a boolean');
      }
      const ajv = ajvFor(root);
      const referenced = new Map<string, JsonNode>();
      for (const reference of references) {
        const schema = JSON.parse(reference.schema) as JsonNode;
        referenced.set(reference.name, schema);
        ajv.addSchema(schema as object, reference.name);
      }
      const validate = ajv.compile(root as object);
      return new JsonSchema(JSON.stringify(root), { root, references: referenced, validate });
    } catch (error: unknown) {
      throw registryErrors.invalidSchema(error instanceof Error ? error.message : String(error));
    }
  }

  readingProblems(writer: ParsedSchema): string[] {
    if (!(writer instanceof JsonSchema)) return [`writer schema is ${writer.schemaType}`];
    return jsonReadingProblems(
      { root: this.root, references: this.references },
      { root: writer.root, references: writer.references },
    );
  }

  decode(payload: Buffer): DecodeResult {
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch (error: unknown) {
      return { ok: false, reason: `not JSON: ${(error as Error).message}` };
    }
    if (this.#validate(value)) return { ok: true, value };
    const first = this.#validate.errors?.[0];
    const where = first?.instancePath === '' ? '(root)' : (first?.instancePath ?? '(root)');
    return { ok: false, reason: `${where} ${first?.message ?? 'does not match the schema'}` };
  }

  recordName(): string | undefined {
    const title = typeof this.root === 'boolean' ? undefined : this.root['title'];
    return typeof title === 'string' && title !== '' ? title : undefined;
  }
}
