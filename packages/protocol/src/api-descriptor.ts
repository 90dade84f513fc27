/**
 * What the generator emits for each Kafka API: its key, the versions the codec understands and
 * the four codec functions. `minVersion`..`maxVersion` is the union of Kafka 4.x and the legacy
 * 3.9 definitions; `currentMinVersion` is Kafka 4.x's floor. Which versions the broker actually
 * advertises is the broker's decision, not this descriptor's.
 */
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

export interface ApiDescriptor<Request, RequestInit, Response, ResponseInit> {
  readonly apiKey: number;
  /** Kafka's API name without the Request suffix, e.g. `Produce`. */
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly currentMinVersion: number;
  /** First version using compact encodings and tagged fields; null if none does. */
  readonly flexibleMinVersion: number | null;
  /** True when Kafka marks `maxVersion` as still unstable (not advertised by default). */
  readonly latestVersionUnstable: boolean;
  /** Decodes a request body; throws ProtocolError on malformed input. */
  readonly readRequest: (reader: Reader, version: number) => Request;
  readonly writeRequest: (writer: Writer, version: number, message: RequestInit) => void;
  /** Decodes a response body; throws ProtocolError on malformed input. */
  readonly readResponse: (reader: Reader, version: number) => Response;
  readonly writeResponse: (writer: Writer, version: number, message: ResponseInit) => void;
}

/** A descriptor of any API, for lookup by key; narrow it with the API's own descriptor. */
export type AnyApiDescriptor = ApiDescriptor<unknown, never, unknown, never>;
