/**
 * The shape every API handler has. A handler file calls `defineHandler` with the generated API
 * descriptor and a function from the decoded request to the response; the router only sees the
 * type-erased `Handler`, which decodes, runs and returns an encoder for the response.
 */
import type { ApiDescriptor, Reader, Writer } from '@tributary/protocol';
import type { BrokerRuntime } from './broker-runtime.ts';
import type { ConnectionAuthentication } from './security/connection-authentication.ts';

export interface RequestContext {
  readonly runtime: BrokerRuntime;
  readonly apiVersion: number;
  readonly clientId: string | null;
  /** `host:port` of the client, for logs. */
  readonly peer: string;
  /** Aborted when the connection closes, so long polls stop waiting. */
  readonly signal: AbortSignal;
  /**
   * The connection's Kafka principal (`User:NAME`): `User:ANONYMOUS` until SASL or a client
   * certificate names it (issue 16). Authorization and quotas key on it.
   */
  readonly principal: string;
  /** Mutes the connection for `ms` after this response (a client over its quota, KIP-219). */
  readonly throttle?: (ms: number) => void;
  /**
   * The connection's authentication state (SASL handshake and tokens, KIP-368 session); absent
   * where no client connection is behind the request.
   */
  readonly authentication?: ConnectionAuthentication;
}

/** Returned by a handler when Kafka sends no response (Produce with acks=0). */
export const noResponse: unique symbol = Symbol('noResponse');
export type NoResponse = typeof noResponse;

export type ResponseEncoder = (writer: Writer) => void;

export interface Handler {
  readonly api: ApiDescriptor<unknown, never, unknown, never>;
  /** Decodes the request body, runs the handler; undefined means "send nothing". */
  process(context: RequestContext, reader: Reader): Promise<ResponseEncoder | undefined>;
}

export function defineHandler<Request, RequestInit, Response, ResponseInit>(
  api: ApiDescriptor<Request, RequestInit, Response, ResponseInit>,
  handle: (
    context: RequestContext,
    request: Request,
  ) => Promise<ResponseInit | NoResponse> | ResponseInit | NoResponse,
): Handler {
  return {
    api: api as unknown as ApiDescriptor<unknown, never, unknown, never>,
    async process(context, reader) {
      const version = context.apiVersion;
      const request = api.readRequest(reader, version);
      const response = await handle(context, request);
      if (response === noResponse) return undefined;
      return (writer) => api.writeResponse(writer, version, response);
    },
  };
}
