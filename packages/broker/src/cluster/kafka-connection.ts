/**
 * One TCP connection to a Kafka-compatible broker, for the admin commands and for brokers
 * talking to each other in cluster mode: frames a request with
 * the protocol package's codecs at a version the caller chooses, and matches each response to
 * its request by correlation id. Every wait is bounded: connecting by `connectTimeoutMs`, each
 * request by `requestTimeoutMs`, and a response frame by `responseMaxBytes`, so a broker that
 * stalls or sends garbage makes the command fail with a message rather than hang.
 * A failure of the connection fails every request still waiting on it.
 */
import { connect, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import {
  Reader,
  readResponseHeader,
  responseHeaderVersion,
  type ApiDescriptor,
  encodeRequestFrame,
} from '@tributary/protocol';
import type { Endpoint } from '../endpoint.ts';

export interface KafkaConnectionOptions {
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly responseMaxBytes?: number;
  readonly clientId?: string;
  /** Connect with TLS (an SSL or SASL_SSL listener): CA, client certificate, servername. */
  readonly tls?: ConnectionOptions;
}

/** An operating failure talking to the broker (not a Kafka error code in a response). */
export class KafkaConnectionError extends Error {
  override readonly name = 'KafkaConnectionError';
}

interface Pending {
  readonly resolve: (frame: Buffer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const defaultConnectTimeoutMs = 5000;
const defaultRequestTimeoutMs = 15000;
const defaultResponseMaxBytes = 64 * 1024 * 1024;

export class KafkaConnection {
  readonly #socket: Socket;
  readonly #label: string;
  readonly #requestTimeoutMs: number;
  readonly #responseMaxBytes: number;
  readonly #clientId: string;
  readonly #pending = new Map<number, Pending>();
  /** What was read and not yet cut into frames, in arrival order, and its length. */
  #chunks: Buffer[] = [];
  #bufferedBytes = 0;
  #nextCorrelationId = 1;
  #failure: Error | undefined;

  private constructor(socket: Socket, label: string, options: KafkaConnectionOptions) {
    this.#socket = socket;
    this.#label = label;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
    this.#responseMaxBytes = options.responseMaxBytes ?? defaultResponseMaxBytes;
    this.#clientId = options.clientId ?? 'tributary-cli';
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) =>
      this.#fail(new KafkaConnectionError(`${label}: ${error.message}`)),
    );
    socket.on('close', () => this.#fail(new KafkaConnectionError(`${label}: connection closed`)));
  }

  /** Connects, or rejects with a KafkaConnectionError within `connectTimeoutMs`. */
  static connect(
    endpoint: Endpoint,
    options: KafkaConnectionOptions = {},
  ): Promise<KafkaConnection> {
    const label = `broker ${endpoint.host}:${endpoint.port}`;
    const timeoutMs = options.connectTimeoutMs ?? defaultConnectTimeoutMs;
    return new Promise((resolve, reject) => {
      const socket =
        options.tls === undefined
          ? connect({ host: endpoint.host, port: endpoint.port })
          : connectTls({ host: endpoint.host, port: endpoint.port, ...options.tls });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new KafkaConnectionError(`${label}: no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(new KafkaConnectionError(`cannot connect to ${label}: ${error.message}`));
      };
      socket.once('error', onError);
      socket.once(options.tls === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new KafkaConnection(socket, label, options));
      });
    });
  }

  /** Sends one request and resolves with its decoded response body. */
  async request<Request, RequestInit, Response, ResponseInit>(
    api: ApiDescriptor<Request, RequestInit, Response, ResponseInit>,
    version: number,
    body: RequestInit,
  ): Promise<Response> {
    if (this.#failure !== undefined) throw this.#failure;
    const correlationId = this.#nextCorrelationId++;
    const frame = encodeRequestFrame(
      api,
      version,
      { correlationId, clientId: this.#clientId },
      body,
    );
    const response = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(correlationId);
        reject(
          new KafkaConnectionError(
            `${this.#label}: no ${api.name} response within ${this.#requestTimeoutMs} ms`,
          ),
        );
      }, this.#requestTimeoutMs);
      this.#pending.set(correlationId, { resolve, reject, timer });
      this.#socket.write(frame);
    });
    const reader = new Reader(response);
    readResponseHeader(reader, responseHeaderVersion(api.apiKey, version));
    return api.readResponse(reader, version);
  }

  close(): void {
    this.#failure ??= new KafkaConnectionError(`${this.#label}: connection closed`);
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.length;
    while (this.#bufferedBytes >= 4) {
      const size = this.#peekSize();
      if (size < 4 || size > this.#responseMaxBytes) {
        this.#fail(new KafkaConnectionError(`${this.#label}: invalid response size ${size}`));
        this.#socket.destroy();
        return;
      }
      if (this.#bufferedBytes < 4 + size) return;
      const frame = this.#take(4 + size).subarray(4);
      const correlationId = frame.readInt32BE(0);
      const pending = this.#pending.get(correlationId);
      // A response whose request already timed out is dropped.
      if (pending === undefined) continue;
      this.#pending.delete(correlationId);
      clearTimeout(pending.timer);
      pending.resolve(frame);
    }
  }

  #peekSize(): number {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.#chunks, 4).readInt32BE(0);
  }

  /**
   * The first `length` buffered bytes, copied once into one buffer when they span chunks (a
   * large Fetch response arrives in hundreds of socket chunks: joining them chunk by chunk
   * copied the response over and over, quadratic in its size).
   */
  #take(length: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    this.#bufferedBytes -= length;
    if (first.length >= length) {
      if (first.length === length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(length);
      return first.subarray(0, length);
    }
    const joined = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.#chunks[0] as Buffer;
      const used = Math.min(chunk.length, length - filled);
      chunk.copy(joined, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    return joined;
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
  }
}
