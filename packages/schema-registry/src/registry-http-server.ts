/**
 * The Confluent Schema Registry REST API over node:http, on a port of its own. Every answer is
 * `application/vnd.schemaregistry.v1+json`; every client error is Confluent's body
 * `{"error_code": N, "message": "..."}` with Confluent's HTTP status (registry-error.ts); a store
 * failure is 500 / 50001 and is logged, never a crash. Request bodies are bounded
 * (`requestBodyMaxBytes`); larger ones are refused with 413 before they are buffered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryError, registryErrors } from './registry-error.ts';
import { routeRegistryRequest, type RegistryRequest } from './registry-routes.ts';
import type { SchemaRegistry } from './schema-registry.ts';

export const requestBodyMaxBytes = 16 * 1024 * 1024;
export const registryContentType = 'application/vnd.schemaregistry.v1+json';

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
  try {
    const url = new URL(request.url ?? '/', 'http://registry');
    const body = await readBody(request);
    const parsed: RegistryRequest = {
      method: request.method ?? 'GET',
      segments: url.pathname
        .split('/')
        .filter((part) => part !== '')
        .map((part) => decodePathPart(part)),
      query: url.searchParams,
      body,
    };
    registry.stats.httpRequests += 1;
    const result = await routeRegistryRequest(registry, parsed);
    send(response, result.status ?? 200, result.body);
  } catch (error: unknown) {
    registry.stats.httpErrors += 1;
    if (error instanceof RegistryError) {
      send(response, error.status, { error_code: error.errorCode, message: error.message });
      return;
    }
    options.onError?.('schema registry request failed', error);
    const message = error instanceof Error ? error.message : String(error);
    send(response, 500, {
      error_code: 50001,
      message: `Error in the backend data store: ${message}`,
    });
  }
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw registryErrors.badRequest(`malformed percent-encoding in '${part}'`);
  }
}

/** Writes the answer; a connection already answered or gone is left alone. */
function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent || response.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': registryContentType,
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<unknown> {
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
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw registryErrors.badRequest('Unexpected character: the request body is not JSON');
  }
}
