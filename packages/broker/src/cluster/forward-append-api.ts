/**
 * ForwardAppend: a Tributary-only API between brokers of one cluster (zone routing, CLUSTER.md
 * "the produce path"). A broker that took a produce for a partition led in another zone has
 * already written the batches into its own WAL object; it sends the leader only their headers
 * and locations, and the leader checks them (producer sequences, transactions), assigns offsets
 * and commits them under its lease: the record bytes never cross zones.
 *
 * Framed as any Kafka request (header v1, response header v0) under an API key Kafka does not
 * use, served but never advertised (api-version-ranges.ts, interBrokerApiVersions). The body is
 * one `bytes` field holding JSON: this API changes with the cluster's code, never with clients.
 */
import { ProtocolError, type ApiDescriptor, type Reader, type Writer } from '@tributary/protocol';

/** Outside Kafka's range of API keys (0-99 so far). */
export const forwardAppendApiKey = 32_001;
export const forwardAppendVersion = 0;

export interface ForwardedBatch {
  /** The record batch's first 61 bytes (its header), base64. */
  readonly header: string;
  readonly objectId: number;
  readonly position: number;
  readonly sizeBytes: number;
  readonly entryVersion: number;
}

export interface ForwardAppendRequest {
  readonly topicId: string;
  readonly partition: number;
  readonly transactionalId: string | null;
  /** The client's Produce version (v12+ adds transactional partitions implicitly). */
  readonly produceVersion: number;
  /** LogAppendTime the forwarding broker wrote into the batches, ms; "-1" when not used. */
  readonly appendTimeMs: string;
  readonly batches: readonly ForwardedBatch[];
}

export interface ForwardAppendResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** Decimal strings (JSON has no 64-bit integers). */
  readonly baseOffset: string;
  readonly logStartOffset: string;
}

/** Longest JSON body accepted: a produce request's batch headers and locations. */
const bodyMaxBytes = 4 * 1024 * 1024;

function readJson<T>(reader: Reader): T {
  const body = reader.readBytes();
  if (body.length > bodyMaxBytes) throw new ProtocolError('ForwardAppend body too large');
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch (error: unknown) {
    throw new ProtocolError(`ForwardAppend body is not JSON: ${String(error)}`);
  }
}

function writeJson(writer: Writer, value: unknown): void {
  writer.writeBytes(Buffer.from(JSON.stringify(value), 'utf8'));
}

export const forwardAppendApi: ApiDescriptor<
  ForwardAppendRequest,
  ForwardAppendRequest,
  ForwardAppendResponse,
  ForwardAppendResponse
> = {
  apiKey: forwardAppendApiKey,
  name: 'ForwardAppend',
  minVersion: forwardAppendVersion,
  maxVersion: forwardAppendVersion,
  currentMinVersion: forwardAppendVersion,
  flexibleMinVersion: null,
  latestVersionUnstable: false,
  readRequest: (reader) => readJson<ForwardAppendRequest>(reader),
  writeRequest: (writer, _version, message) => writeJson(writer, message),
  readResponse: (reader) => readJson<ForwardAppendResponse>(reader),
  writeResponse: (writer, _version, message) => writeJson(writer, message),
};
