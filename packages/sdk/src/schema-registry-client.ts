/**
 * The few calls of Confluent's schema registry REST API the SDK needs: register a schema under
 * a subject (which answers the id of an identical schema already there) and look a schema up by
 * id. Both are cached for the life of the client: an id never changes meaning in a registry.
 * Also the registry's wire format: magic byte 0, the schema id as a 4-byte big-endian integer,
 * then the payload (JSON text or Avro binary).
 */
import type { SchemaFormat } from './event-contract.ts';

export const wireFormatMagicByte = 0;
const wireFormatHeaderBytes = 5;
const registryRequestTimeoutMs = 10_000;
/** How much of a body that is not JSON an error message quotes. */
const registryBodyQuotedChars = 200;

export interface RegisteredSchema {
  readonly id: number;
  readonly schemaType: SchemaFormat | 'PROTOBUF';
  readonly schema: string;
}

/** The registry refused a request (incompatible schema, unknown id) or could not be reached. */
export class SchemaRegistryError extends Error {
  readonly code = 'SCHEMA_REGISTRY';
  readonly status: number | undefined;
  readonly registryErrorCode: number | undefined;

  constructor(message: string, details: { status?: number; errorCode?: number; cause?: unknown }) {
    super(message, details.cause === undefined ? {} : { cause: details.cause });
    this.name = 'SchemaRegistryError';
    this.status = details.status;
    this.registryErrorCode = details.errorCode;
  }
}

export class SchemaRegistryClient {
  readonly url: string;
  readonly #ids = new Map<string, Promise<number>>();
  readonly #schemas = new Map<number, Promise<RegisteredSchema>>();

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  /** The id of `schema` under `subject`, registering it when new (a compatibility check). */
  register(subject: string, schemaType: SchemaFormat, schema: string): Promise<number> {
    const cacheKey = `${subject}\u0000${schemaType}\u0000${schema}`;
    let id = this.#ids.get(cacheKey);
    if (id === undefined) {
      id = this.#request(`/subjects/${encodeURIComponent(subject)}/versions`, {
        method: 'POST',
        body: JSON.stringify({ schemaType, schema }),
      }).then((answer) => Number((answer as { id: number }).id));
      // A failure is not cached: the next publish asks again.
      id.catch(() => this.#ids.delete(cacheKey));
      this.#ids.set(cacheKey, id);
    }
    return id;
  }

  /** The schema registered with `id`. */
  schemaById(id: number): Promise<RegisteredSchema> {
    let found = this.#schemas.get(id);
    if (found === undefined) {
      found = this.#request(`/schemas/ids/${id}`, { method: 'GET' }).then((answer) => {
        const body = answer as { schema: string; schemaType?: RegisteredSchema['schemaType'] };
        return { id, schema: body.schema, schemaType: body.schemaType ?? 'AVRO' };
      });
      found.catch(() => this.#schemas.delete(id));
      this.#schemas.set(id, found);
    }
    return found;
  }

  async #request(path: string, init: { method: string; body?: string }): Promise<unknown> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.url}${path}`, {
        ...init,
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        signal: AbortSignal.timeout(registryRequestTimeoutMs),
      });
      text = await response.text();
    } catch (error: unknown) {
      throw new SchemaRegistryError(`schema registry ${this.url} unreachable`, { cause: error });
    }
    // A proxy's or a starting server's page is the registry's failure, not the record's: it
    // must not surface as a SyntaxError, which a consumer takes for a malformed record.
    let body: unknown = {};
    try {
      if (text !== '') body = JSON.parse(text);
    } catch (error: unknown) {
      throw new SchemaRegistryError(
        `schema registry ${init.method} ${path}: ${response.status} with a body that is not ` +
          `JSON (${JSON.stringify(text.slice(0, registryBodyQuotedChars))})`,
        { status: response.status, cause: error },
      );
    }
    if (!response.ok) {
      const { error_code: errorCode, message } = body as { error_code?: number; message?: string };
      throw new SchemaRegistryError(
        `schema registry ${init.method} ${path}: ${response.status} ${message ?? text}`,
        { status: response.status, ...(errorCode === undefined ? {} : { errorCode }) },
      );
    }
    return body;
  }
}

/** `payload` framed in the registry's wire format for schema `id`. */
export function frameWireFormat(id: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(wireFormatHeaderBytes);
  header.writeUInt8(wireFormatMagicByte, 0);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, payload]);
}

/** The schema id and payload of a framed value, or undefined when it is not framed. */
export function unframeWireFormat(bytes: Buffer): { id: number; payload: Buffer } | undefined {
  if (bytes.length < wireFormatHeaderBytes || bytes[0] !== wireFormatMagicByte) return undefined;
  return { id: bytes.readUInt32BE(1), payload: bytes.subarray(wireFormatHeaderBytes) };
}
