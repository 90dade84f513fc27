/**
 * The web console (`console.listeners`, `--console-listen HOST:PORT`): the React app built into
 * @tributary/console's generated/ folder, and a JSON API under /api read from the broker
 * runtime. Changes (create topic, reset offsets, delete records) are POSTs with a JSON body,
 * which a page of another origin cannot send without a preflight this server never grants;
 * `console.read.only=true` refuses them all (403). docs/console.md describes the pages.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { consoleAssetsDir, type ConsoleOverview } from '@tributary/console';
import type { BrokerRuntime } from '../broker-runtime.ts';
import { listenerPattern } from '../config/setting-catalogue.ts';
import type { Endpoint } from '../endpoint.ts';
import { createTopic, deleteRecords } from './console-actions.ts';
import {
  aclEntries,
  browse,
  brokersView,
  subjectViews,
  topicSummaries,
  transactionSummaries,
} from './console-data.ts';
import { groupSummaries, resetOffsets } from './console-groups.ts';
import { ConsoleRequestError } from './console-request-error.ts';
import { ConsoleSampler } from './console-sampler.ts';
import { ConsoleSessions, sessionCookie, sessionLifetimeMs } from './console-sessions.ts';
import type { ConsoleCaller } from './in-process-api.ts';

/** A POST body larger than this is refused (413): console requests are a few hundred bytes. */
const requestBodyMaxBytes = 64 * 1024;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

export interface ConsoleServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ConsoleOptions {
  readonly listen: Endpoint;
  readonly readOnly: boolean;
  readonly sampleIntervalMs: number;
  /** console.login=scram: every API call but the overview needs a session. */
  readonly login: boolean;
}

/** What every request of one console server shares. */
interface ConsoleHost {
  readonly runtime: BrokerRuntime;
  readonly sampler: ConsoleSampler;
  readonly sessions: ConsoleSessions;
  readonly options: ConsoleOptions;
}

export async function startConsoleServer(
  runtime: BrokerRuntime,
  options: ConsoleOptions,
): Promise<ConsoleServer> {
  const sampler = new ConsoleSampler(runtime, options.sampleIntervalMs);
  const host: ConsoleHost = { runtime, sampler, sessions: new ConsoleSessions(runtime), options };
  const server = createServer((request, response) => {
    route(host, request, response).catch((error: unknown) => {
      const status = error instanceof ConsoleRequestError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (status === 500) runtime.log.error('console request failed', { error: message });
      if (!response.headersSent) sendJson(response, status, { error: message });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('console has no address');
  sampler.start();
  runtime.log.info('console listening', { host: address.address, port: address.port });
  return {
    host: address.address,
    port: address.port,
    close: async () => {
      sampler.stop();
      await closeServer(server);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function route(
  host: ConsoleHost,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://console');
  const path = url.pathname;
  if (!path.startsWith('/api/')) {
    await serveAsset(path, response);
    return;
  }
  const parts = path.slice('/api/'.length).split('/').map(decodePart);
  const [resource, name, action] = parts;
  if (request.method === 'POST' && (resource === 'login' || resource === 'logout')) {
    await session(host, resource, request, response);
    return;
  }
  const user = host.options.login ? host.sessions.userOf(request.headers.cookie) : undefined;
  if (host.options.login && user === undefined && resource !== 'overview') {
    throw new ConsoleRequestError('login required', 401);
  }
  const caller: ConsoleCaller = {
    principal: user === undefined ? 'User:ANONYMOUS' : `User:${user}`,
    peer: `${request.socket.remoteAddress ?? ''}:${request.socket.remotePort ?? 0}`,
  };
  if (request.method === 'GET') {
    sendJson(response, 200, await read(host, caller, user, parts, url.searchParams));
    return;
  }
  if (request.method !== 'POST') throw new ConsoleRequestError('method not allowed', 405);
  if (host.options.readOnly) throw new ConsoleRequestError('the console is read-only', 403);
  const body = await readJson(request);
  const runtime = host.runtime;
  if (resource === 'topics' && name === undefined) {
    sendJson(response, 200, await createTopic(runtime, caller, body as never));
  } else if (resource === 'topics' && name !== undefined && action === 'delete-records') {
    sendJson(response, 200, await deleteRecords(runtime, caller, name, body as never));
  } else if (resource === 'groups' && name !== undefined && action === 'reset-offsets') {
    sendJson(response, 200, await resetOffsets(runtime, caller, name, body as never));
  } else {
    throw new ConsoleRequestError('not found', 404);
  }
}

/** POST /api/login {user, password} sets the session cookie; POST /api/logout ends it. */
async function session(
  host: ConsoleHost,
  action: 'login' | 'logout',
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (!host.options.login) throw new ConsoleRequestError('this console has no login', 404);
  const cookie = `${sessionCookie}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  if (action === 'logout') {
    host.sessions.logout(request.headers.cookie);
    response.setHeader('set-cookie', cookie);
    sendJson(response, 200, { ok: true, message: 'logged out' });
    return;
  }
  const body = (await readJson(request)) as { user?: unknown; password?: unknown };
  if (typeof body.user !== 'string' || typeof body.password !== 'string') {
    throw new ConsoleRequestError('login needs a user and a password');
  }
  const token = await host.sessions.login(body.user, body.password);
  if (token === undefined) throw new ConsoleRequestError('wrong user or password', 401);
  const maxAge = Math.floor(sessionLifetimeMs / 1000);
  response.setHeader(
    'set-cookie',
    `${sessionCookie}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}`,
  );
  sendJson(response, 200, { ok: true, message: `logged in as ${body.user}` });
}

async function read(
  host: ConsoleHost,
  caller: ConsoleCaller,
  user: string | undefined,
  parts: readonly string[],
  query: URLSearchParams,
): Promise<unknown> {
  const { runtime, sampler, options } = host;
  const [resource, name, sub] = parts;
  switch (resource) {
    case 'overview':
      return {
        clusterId: runtime.clusterId,
        nodeId: runtime.nodeId,
        mode: runtime.storage.cluster === undefined ? 'embedded' : 'cluster',
        readOnly: options.readOnly,
        schemaRegistry: runtime.schemaRegistry !== undefined,
        sampleIntervalMs: options.sampleIntervalMs,
        login: options.login,
        user: user ?? null,
      } satisfies ConsoleOverview;
    case 'topics':
      if (name === undefined) {
        const throughput = (topic: string) => sampler.throughput(topic);
        return topicSummaries(runtime, caller, sampler.sizes, throughput);
      }
      if (sub === 'messages') return browseTopic(runtime, caller, name, query);
      break;
    case 'groups':
      return groupSummaries(runtime, caller, (groupId) => sampler.lagHistory(groupId));
    case 'transactions':
      return transactionSummaries(runtime, caller);
    case 'brokers':
      return brokersView(runtime, caller);
    case 'acls':
      return aclEntries(runtime, caller);
    case 'schemas':
      return subjectViews(runtime);
    default:
  }
  throw new ConsoleRequestError('not found', 404);
}

async function browseTopic(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  topic: string,
  query: URLSearchParams,
): Promise<unknown> {
  const integer = (name: string): number | undefined => {
    const text = query.get(name);
    if (text === null || text === '') return undefined;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ConsoleRequestError(`${name} must be a non-negative integer`);
    }
    return value;
  };
  const offset = integer('offset');
  const result = await browse(runtime, caller, {
    topic,
    partition: integer('partition') ?? 0,
    limit: integer('limit') ?? 50,
    ...(offset === undefined ? {} : { offset }),
  });
  if (result === undefined) throw new ConsoleRequestError(`no partition of ${topic} here`, 404);
  return result;
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConsoleRequestError('malformed percent-encoding in the path');
  }
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
    throw new ConsoleRequestError('changes need a JSON body (application/json)', 415);
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > requestBodyMaxBytes) throw new ConsoleRequestError('request body too large', 413);
    chunks.push(chunk);
  }
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof body !== 'object' || body === null) throw new Error('not an object');
    return body;
  } catch {
    throw new ConsoleRequestError('the body is not a JSON object');
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** A file of the built app; any other path is the app itself (it routes by location hash). */
async function serveAsset(path: string, response: ServerResponse): Promise<void> {
  const relative = normalize(path)
    .replace(/^(\.\.[/\\])+/, '')
    .replace(/^[/\\]+/, '');
  const file = relative === '' ? 'index.html' : relative;
  let body: Buffer;
  let served = file;
  try {
    body = await readFile(join(consoleAssetsDir, file));
  } catch {
    served = 'index.html';
    body = await readFile(join(consoleAssetsDir, served));
  }
  response.writeHead(200, {
    'content-type': contentTypes[extname(served)] ?? 'application/octet-stream',
    'content-length': body.length,
    // Hashed asset names change with their content; index.html must always be fetched anew.
    'cache-control': served.startsWith('assets/') ? 'max-age=31536000, immutable' : 'no-cache',
  });
  response.end(body);
}

/** The console when `console.listeners` is set; undefined otherwise. */
export async function hostConsole(runtime: BrokerRuntime): Promise<ConsoleServer | undefined> {
  const listen = runtime.settings.value('console.listeners');
  if (listen === null) return undefined;
  const match = listenerPattern.exec(listen.trim().replace(/^https?:\/\//i, ''));
  const host = (match?.[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return startConsoleServer(runtime, {
    listen: { host: host === '' ? '0.0.0.0' : host, port: Number(match?.[2] ?? 0) },
    readOnly: runtime.settings.value('console.read.only') === 'true',
    sampleIntervalMs: Number(runtime.settings.value('console.sample.interval.ms') ?? 5000),
    login: runtime.settings.value('console.login') === 'scram',
  });
}
