/**
 * Calls a Kafka API handler of this broker in process, as a client on a connection would: the
 * request is encoded, run through the handler, and the response decoded. The console reuses the
 * handlers' semantics (group state, offset commits, topic creation, record deletion) this way
 * instead of reaching into the coordinators.
 */
import { Reader, Writer, type ApiDescriptor } from '@tributary/protocol';
import type { BrokerRuntime } from '../broker-runtime.ts';
import type { Handler } from '../handler.ts';
import { allHandlers } from '../handlers/index.ts';

const handlersByKey = new Map<number, Handler>(
  allHandlers.map((handler) => [handler.api.apiKey, handler]),
);

/**
 * Who a console call runs as: the logged-in user (console.login=scram) or User:ANONYMOUS, and
 * the browser's address, so the authorizer decides as it would for a client of that user.
 */
export interface ConsoleCaller {
  readonly principal: string;
  /** `address:port` of the browser, as RequestContext.peer. */
  readonly peer: string;
}

/** The console's own background sampling (charts): no user. */
export const samplerCaller: ConsoleCaller = { principal: 'User:ANONYMOUS', peer: '127.0.0.1:0' };

export async function callApi<Request, RequestInit, Response, ResponseInit>(
  runtime: BrokerRuntime,
  caller: ConsoleCaller,
  api: ApiDescriptor<Request, RequestInit, Response, ResponseInit>,
  version: number,
  request: RequestInit,
): Promise<Response> {
  const handler = handlersByKey.get(api.apiKey);
  if (handler === undefined) throw new Error(`no handler for ${api.name}`);
  const writer = new Writer();
  api.writeRequest(writer, version, request);
  const controller = new AbortController();
  const encode = await handler.process(
    {
      runtime,
      apiVersion: version,
      clientId: 'tributary-console',
      peer: caller.peer,
      signal: controller.signal,
      principal: caller.principal,
    },
    new Reader(writer.toBuffer()),
  );
  if (encode === undefined) throw new Error(`${api.name} sent no response`);
  const out = new Writer();
  encode(out);
  return api.readResponse(new Reader(out.toBuffer()), version);
}
