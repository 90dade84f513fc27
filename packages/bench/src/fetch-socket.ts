/**
 * The raw replay reader's connection: one request in flight, and every response read by the
 * kernel straight into one buffer allocated up front (net.Socket's `onread`), so reading a
 * 64 MiB Fetch response costs the socket copy and nothing else: no chunk per socket read, no
 * joining them, no garbage. The general KafkaConnection (hundreds of 64 KiB chunks joined per
 * large response) spent more than half of the bench process's core copying and collecting and
 * capped the reader near 550 MB/s on its own, so the figure measured the reader, not the
 * broker. Decoded responses hold views of that buffer: they are valid until the next request.
 */
import { connect, type Socket } from 'node:net';
import {
  Reader,
  readResponseHeader,
  responseHeaderVersion,
  type ApiDescriptor,
  encodeRequestFrame,
} from '@tributary/protocol';

interface Waiting {
  readonly resolve: (frame: Buffer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** How long one response may take before the request fails. */
const requestTimeoutMs = 30_000;

export class FetchSocket {
  readonly #socket: Socket;
  /** Where responses land: the size prefix and one whole response. */
  readonly #buffer: Buffer;
  #filled = 0;
  #waiting: Waiting | undefined;
  #failure: Error | undefined;
  #correlationId = 0;

  private constructor(socket: Socket, buffer: Buffer) {
    this.#socket = socket;
    this.#buffer = buffer;
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('fetch socket: connection closed')));
  }

  /** Connects to `host:port`; responses may be up to `responseMaxBytes` long. */
  static connect(host: string, port: number, responseMaxBytes: number): Promise<FetchSocket> {
    const buffer = Buffer.alloc(responseMaxBytes + 4);
    return new Promise((resolve, reject) => {
      let fetchSocket: FetchSocket | undefined;
      const socket = connect({
        host,
        port,
        onread: {
          // Each read continues where the last stopped, so a response is never copied again.
          buffer: () => buffer.subarray(Math.min(fetchSocket?.filled ?? 0, buffer.length - 1)),
          callback: (bytes: number) => {
            fetchSocket?.onRead(bytes);
            return true;
          },
        },
      });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        fetchSocket = new FetchSocket(socket, buffer);
        resolve(fetchSocket);
      });
    });
  }

  /** Bytes of the response read so far (where the next socket read writes). */
  get filled(): number {
    return this.#filled;
  }

  /** Sends one request and decodes its response; the result's bytes are views of the buffer. */
  async request<Request, RequestInit, Response, ResponseInit>(
    api: ApiDescriptor<Request, RequestInit, Response, ResponseInit>,
    version: number,
    body: RequestInit,
  ): Promise<Response> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#waiting !== undefined) throw new Error('fetch socket: one request at a time');
    const frame = encodeRequestFrame(
      api,
      version,
      { correlationId: ++this.#correlationId, clientId: 'bench-raw-reader' },
      body,
    );
    const response = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new Error(`fetch socket: no response within ${requestTimeoutMs} ms`));
        this.#socket.destroy();
      }, requestTimeoutMs);
      this.#waiting = { resolve, reject, timer };
      this.#socket.write(frame);
    });
    const reader = new Reader(response);
    readResponseHeader(reader, responseHeaderVersion(api.apiKey, version));
    return api.readResponse(reader, version);
  }

  close(): void {
    this.#socket.destroy();
  }

  /** Called by the socket after `bytes` more landed at `filled`. */
  onRead(bytes: number): void {
    if (bytes <= 0) return;
    this.#filled += bytes;
    if (this.#filled < 4) return;
    const size = this.#buffer.readInt32BE(0);
    if (size < 4 || size + 4 > this.#buffer.length) {
      this.#fail(new Error(`fetch socket: response of ${size} bytes does not fit`));
      this.#socket.destroy();
      return;
    }
    if (this.#filled < size + 4) return;
    if (this.#filled > size + 4) {
      this.#fail(new Error('fetch socket: bytes after the response (one request at a time)'));
      this.#socket.destroy();
      return;
    }
    this.#filled = 0;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting === undefined) return;
    clearTimeout(waiting.timer);
    waiting.resolve(this.#buffer.subarray(4, size + 4));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting === undefined) return;
    clearTimeout(waiting.timer);
    waiting.reject(error);
  }
}
