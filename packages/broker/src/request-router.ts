/**
 * Turns one request frame into response frames: reads the request header, checks the API key and
 * version against what this broker advertises, runs the handler and frames its response.
 *
 * A request this broker cannot parse, or an API/version it does not advertise, rejects the returned
 * promise: the connection logs it and closes, as Kafka does. Kafka checks the header before the
 * body (SocketServer.parseRequestHeader): a known API at a version outside its range is an
 * UnsupportedVersionException there, and any exception at that stage closes the connection
 * (processChannelException); no error response is built, whether or not the body would decode.
 * The one exception is ApiVersions at an unsupported version (ApiKeys.isVersionEnabled accepts any
 * ApiVersions version), which gets a v0 response with UNSUPPORTED_VERSION and the supported ranges
 * so that the client can retry at a version both sides know (KIP-511).
 */
import {
  ApiKey,
  ErrorCode,
  ProtocolError,
  Reader,
  Writer,
  readRequestHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  writeApiVersionsResponse,
  writeResponseHeader,
} from '@tributary/protocol';
import { setTimeout } from 'node:timers/promises';
import { meterRequestTime } from './security/request-quotas.ts';
import type { BrokerRuntime } from './broker-runtime.ts';
import type { Handler, RequestContext } from './handler.ts';
import { advertisedApiVersions, interBrokerApiVersions } from './api-version-ranges.ts';
import {
  type ConnectionAuthentication,
  RequestRefusedError,
} from './security/connection-authentication.ts';

const responseInitialBytes = 512;

/**
 * A request refused before any handler saw it (no header, an API key or version this broker
 * does not serve): nothing holds a view of its frame, so the connection frees the frame's memory
 * at once instead of leaving it to a garbage collection (docs/adr/0015).
 */
export class UnservedRequestError extends ProtocolError {
  constructor(message: string) {
    super(message);
    this.name = 'UnservedRequestError';
  }
}

export interface RequestSource {
  readonly peer: string;
  readonly signal: AbortSignal;
  /** The connection's principal (RequestContext.principal). */
  readonly principal: string;
  /** Its authentication state: which requests it may send now (SASL listeners). */
  readonly authentication?: ConnectionAuthentication;
}

export class RequestRouter {
  readonly #runtime: BrokerRuntime;
  readonly #handlers: ReadonlyMap<number, Handler>;
  /** Connections muted by a quota throttle, until when (ms since the epoch). */
  readonly #mutedUntil = new WeakMap<RequestSource, number>();

  constructor(runtime: BrokerRuntime, handlers: readonly Handler[]) {
    this.#runtime = runtime;
    this.#handlers = new Map(handlers.map((handler) => [handler.api.apiKey, handler]));
  }

  /** Resolves to the frames to write (empty for acks=0 produce); rejects for malformed input. */
  async route(frame: Buffer, source: RequestSource): Promise<Buffer[] | undefined> {
    const started = performance.now();
    let failed = true;
    try {
      const frames = await this.#route(frame, source);
      failed = false;
      return frames;
    } finally {
      const apiKey = frame.length >= 8 ? frame.readInt16BE(0) : -1;
      this.#runtime.requestMetrics?.observe(
        this.#handlers.has(apiKey) ? apiKey : undefined,
        performance.now() - started,
        failed,
        () => (frame.length >= 8 ? `${source.peer}#${frame.readInt32BE(4)}` : source.peer),
      );
    }
  }

  async #route(frame: Buffer, source: RequestSource): Promise<Buffer[] | undefined> {
    // A connection throttled by a quota reads its next requests only after the throttle.
    const mutedMs = (this.#mutedUntil.get(source) ?? 0) - Date.now();
    if (mutedMs > 0) await setTimeout(mutedMs, undefined, { signal: source.signal });
    if (frame.length < 8)
      throw new UnservedRequestError(`request of ${frame.length} bytes has no header`);
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    const refusal = source.authentication?.refusal(apiKey);
    if (refusal !== undefined) throw new RequestRefusedError(refusal);
    const range = advertisedApiVersions.get(apiKey) ?? interBrokerApiVersions.get(apiKey);
    const handler = this.#handlers.get(apiKey);
    if (range === undefined || handler === undefined) {
      throw new UnservedRequestError(`unsupported API key ${apiKey}`);
    }
    const brokerRange = interBrokerApiVersions.get(apiKey);
    const brokerVersion =
      brokerRange !== undefined &&
      apiVersion >= brokerRange.minVersion &&
      apiVersion <= brokerRange.maxVersion;
    if ((apiVersion < range.minVersion || apiVersion > range.maxVersion) && !brokerVersion) {
      if (apiKey === ApiKey.ApiVersions) return [unsupportedApiVersionsResponse(correlationId)];
      throw new UnservedRequestError(`unsupported version ${apiVersion} of API key ${apiKey}`);
    }
    const reader = new Reader(frame);
    const header = readRequestHeader(reader, requestHeaderVersion(apiKey, apiVersion));
    const context: RequestContext = {
      runtime: this.#runtime,
      apiVersion,
      clientId: header.clientId,
      peer: source.peer,
      signal: source.signal,
      principal: source.principal,
      throttle: (ms) => this.#mutedUntil.set(source, Date.now() + ms),
      ...(source.authentication === undefined ? {} : { authentication: source.authentication }),
    };
    // The event loop's time on this request: decoding and the handler's synchronous part now,
    // encoding below (waits for the WAL, long polls and other I/O are not the request's load).
    const processStarted = performance.now();
    const processing = handler.process(context, reader);
    let busyMs = performance.now() - processStarted;
    const encode = await processing;
    if (encode === undefined) {
      meterRequestTime(context, apiKey, busyMs);
      return undefined;
    }
    // Most responses are a few hundred bytes (fetched batches are appended by reference), and
    // Node serves small allocations from its shared pool: start small rather than at 8 KiB.
    const encodeStarted = performance.now();
    const writer = new Writer(responseInitialBytes);
    writer.writeInt32(0); // size, patched below
    writeResponseHeader(writer, responseHeaderVersion(apiKey, apiVersion), { correlationId });
    encode(writer);
    busyMs += performance.now() - encodeStarted;
    meterRequestTime(context, apiKey, busyMs);
    return frameChunks(writer);
  }
}

/** The v0 ApiVersions answer to a version we do not serve. */
function unsupportedApiVersionsResponse(correlationId: number): Buffer {
  const writer = new Writer();
  writer.writeInt32(0);
  writeResponseHeader(writer, 0, { correlationId });
  writeApiVersionsResponse(writer, 0, {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: [...advertisedApiVersions.values()],
  });
  return Buffer.concat(frameChunks(writer));
}

/** Writer output with the leading size prefix filled in. */
function frameChunks(writer: Writer): Buffer[] {
  const chunks = writer.toChunks();
  const first = chunks[0];
  if (first === undefined) throw new Error('response writer produced no bytes');
  first.writeInt32BE(writer.length - 4, 0);
  return chunks;
}
