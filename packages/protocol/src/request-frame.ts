/**
 * A whole request as it goes on the wire, for the project's own Kafka clients (the cluster's
 * broker-to-broker connection, the benchmarks' raw readers and producers, the broker tests):
 * the 4-byte size, the request header of the version the API version calls for, the body.
 */
import type { ApiDescriptor } from './api-descriptor.ts';
import { writeRequestHeader } from './generated/request-header.ts';
import { requestHeaderVersion } from './headers.ts';
import { Writer } from './writer.ts';

/** Bytes of the size prefix in front of every request and response. */
const sizePrefixBytes = 4;

export function encodeRequestFrame<Request, RequestInit, Response, ResponseInit>(
  api: ApiDescriptor<Request, RequestInit, Response, ResponseInit>,
  version: number,
  header: { readonly correlationId: number; readonly clientId: string | null },
  body: RequestInit,
): Buffer {
  const writer = new Writer();
  writer.writeInt32(0);
  writeRequestHeader(writer, requestHeaderVersion(api.apiKey, version), {
    requestApiKey: api.apiKey,
    requestApiVersion: version,
    correlationId: header.correlationId,
    clientId: header.clientId,
  });
  api.writeRequest(writer, version, body);
  const frame = writer.toBuffer();
  frame.writeInt32BE(frame.length - sizePrefixBytes, 0);
  return frame;
}
