/**
 * The Confluent Schema Registry REST API over node:http, on a port of its own, and under
 * /apis/registry/v2 the subset of Apicurio Registry's API that Apicurio's serdes call
 * (apicurio-routes.ts, answering in Apicurio's JSON and error shapes). Every Confluent answer is
 * `application/vnd.schemaregistry.v1+json`; every Confluent client error is Confluent's body
 * `{"error_code": N, "message": "..."}` with Confluent's HTTP status (registry-error.ts); a store
 * failure is 500 / 50001 and is logged, never a crash. Request bodies are bounded
 * (`requestBodyMaxBytes`); larger ones are refused with 413 before they are buffered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApicurioError } from './apicurio-error.ts';
import { routeApicurioRequest } from './apicurio-routes.ts';
import { RegistryError, registryErrors } from './registry-error.ts';
import { routeRegistryRequest, type RegistryRequest } from './registry-routes.ts';
import type { SchemaRegistry } from './schema-registry.ts';

export const requestBodyMaxBytes = 16 * 1024 * 1024;
export const registryContentType = 'application/vnd.schemaregistry.v1+json';
/** Where the Apicurio Registry v2 subset is served (apicurio-routes.ts). */
const apicurioPrefix = ['apis', 'registry', 'v2'];

export interface RegistryServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Where store failures are reported (the broker's logger). */
  readonly onError?: (message: string, error: unknown) => void;
}

export interface RunningRegistryServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startRegistryServer(
  registry: SchemaRegistry,
  options: RegistryServerOptions,
): Promise<RunningRegistryServer> {
  const server: Server = createServer((request, response) => {
    void handle(registry, request, response, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    host: options.host,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  registry: SchemaRegistry,
  request: IncomingMessage,
  response: ServerResponse,
  options: RegistryServerOptions,
): Promise<void> {
  let apicurio = false;
  try {
    const url = new URL(request.url ?? '/', 'http://registry');
    const segments = url.pathname
      .split('/')
      .filter((part) => part !== '')
      .map((part) => decodePathPart(part));
    apicurio = apicurioPrefix.every((part, index) => segments[index] === part);
    const body = await readBody(request);
    registry.stats.httpRequests += 1;
    if (apicurio) {
      const result = await routeApicurioRequest(registry, {
        method: request.method ?? 'GET',
        segments: segments.slice(apicurioPrefix.length),
        query: url.searchParams,
        headers: headersOf(request),
        body,
      });
      send(response, result.status, result.body, result.contentType);
      return;
    }
    const parsed: RegistryRequest = {
      method: request.method ?? 'GET',
      segments,
      query: url.searchParams,
      body: jsonOf(body),
    };
    const result = await routeRegistryRequest(registry, parsed);
    send(response, result.status ?? 200, result.body, registryContentType);
  } catch (error: unknown) {
    registry.stats.httpErrors += 1;
    sendError(response, apicurio, error, options);
  }
}

/** Confluent's or Apicurio's error body, by the API the request went to. */
function sendError(
  response: ServerResponse,
  apicurio: boolean,
  error: unknown,
  options: RegistryServerOptions,
): void {
  if (apicurio && error instanceof ApicurioError) {
    send(response, error.status, error.body(), 'application/json');
    return;
  }
  if (error instanceof RegistryError) {
    const body = { error_code: error.errorCode, message: error.message };
    send(response, error.status, body, registryContentType);
    return;
  }
  options.onError?.('schema registry request failed', error);
  const message = error instanceof Error ? error.message : String(error);
  if (apicurio) {
    const body = { error_code: 500, name: 'StorageException', message };
    send(response, 500, body, 'application/json');
    return;
  }
  send(
    response,
    500,
    { error_code: 50001, message: `Error in the backend data store: ${message}` },
    registryContentType,
  );
}

function headersOf(request: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw registryErrors.badRequest(`malformed percent-encoding in '${part}'`);
  }
}

/** Writes the answer; a connection already answered or gone is left alone. */
function send(response: ServerResponse, status: number, body: unknown, contentType: string): void {
  if (response.headersSent || response.destroyed) return;
  if (body === undefined) {
    response.writeHead(status);
    response.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > requestBodyMaxBytes) {
    request.resume();
    throw new RegistryError(413, 413, `request body over ${requestBodyMaxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    if (size > requestBodyMaxBytes) {
      throw new RegistryError(413, 413, `request body over ${requestBodyMaxBytes} bytes`);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/** The Confluent API's JSON body; undefined when empty. */
function jsonOf(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw registryErrors.badRequest('Unexpected character: the request body is not JSON');
  }
}
