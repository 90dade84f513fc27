/**
 * The framing of Tributary-only APIs between brokers of one cluster (ForwardAppend,
 * AuditAppend): a Kafka request (header v1, response header v0) under an API key Kafka does not
 * use, served but never advertised (api-version-ranges.ts, interBrokerApiVersions), whose body
 * is one `bytes` field holding JSON. These APIs change with the cluster's code, never with
 * clients, so a schema-free body costs nothing in compatibility.
 */
import { ProtocolError, type ApiDescriptor, type Reader, type Writer } from '@tributary/protocol';

/** Longest JSON body accepted (a produce request's batch headers and locations, or a batch of
 * audit entries). */
export const brokerApiBodyMaxBytes = 4 * 1024 * 1024;

function readJson<T>(reader: Reader, name: string): T {
  const body = reader.readBytes();
  if (body.length > brokerApiBodyMaxBytes) throw new ProtocolError(`${name} body too large`);
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch (error: unknown) {
    throw new ProtocolError(`${name} body is not JSON: ${String(error)}`);
  }
}

function writeJson(writer: Writer, value: unknown): void {
  writer.writeBytes(Buffer.from(JSON.stringify(value), 'utf8'));
}

/** A version-0 broker-to-broker API whose request and response are JSON documents. */
export function jsonBrokerApi<Request, Response>(
  apiKey: number,
  name: string,
): ApiDescriptor<Request, Request, Response, Response> {
  return {
    apiKey,
    name,
    minVersion: 0,
    maxVersion: 0,
    currentMinVersion: 0,
    flexibleMinVersion: null,
    latestVersionUnstable: false,
    readRequest: (reader) => readJson<Request>(reader, name),
    writeRequest: (writer, _version, message) => writeJson(writer, message),
    readResponse: (reader) => readJson<Response>(reader, name),
    writeResponse: (writer, _version, message) => writeJson(writer, message),
  };
}
