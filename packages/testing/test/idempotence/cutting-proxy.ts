/**
 * CuttingProxy: a TCP proxy in front of one broker that drops the connection instead of
 * delivering some Produce responses. The request already reached the broker and was (or will
 * be) written, so the client sees a network error and retries a write that happened: the case
 * idempotent producers exist for.
 *
 * Requests are forwarded byte for byte; responses are split into frames and matched to their
 * request by correlation id. Every `cutEvery`-th Produce response (over all connections) is
 * replaced by closing both sides, at most `maxCuts` times per allowance, so runs always
 * finish. The broker must advertise the proxy's address (advertisedListener) so clients stay
 * behind it.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

const produceApiKey = 0;

export interface CuttingProxyOptions {
  upstreamHost: string;
  upstreamPort: number;
  cutEvery: number;
  maxCuts: number;
}

/** Splits a byte stream into size-prefixed frames. */
class FrameSplitter {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const frames: Buffer[] = [];
    while (this.#buffer.length >= 4) {
      const size = this.#buffer.readInt32BE(0);
      if (this.#buffer.length < 4 + size) break;
      frames.push(this.#buffer.subarray(0, 4 + size));
      this.#buffer = this.#buffer.subarray(4 + size);
    }
    return frames;
  }
}

export class CuttingProxy {
  readonly #options: CuttingProxyOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #produceResponses = 0;
  #cutLimit: number;
  /** How many Produce responses were dropped with their connection. */
  cuts = 0;

  private constructor(options: CuttingProxyOptions) {
    this.#options = options;
    this.#cutLimit = options.maxCuts;
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(options: CuttingProxyOptions): Promise<CuttingProxy> {
    const proxy = new CuttingProxy(options);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** Listening port: give it to clients and to the broker as its advertised listener. */
  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy not listening');
    return address.port;
  }

  set upstreamPort(port: number) {
    this.#options.upstreamPort = port;
  }

  /** Allows another `maxCuts` cuts from now on (one allowance per test). */
  allowMoreCuts(): void {
    this.#cutLimit = this.cuts + this.#options.maxCuts;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const upstream = connect({
      host: this.#options.upstreamHost,
      port: this.#options.upstreamPort,
    });
    this.#sockets.add(client).add(upstream);
    const apiKeys = new Map<number, number>();
    const requests = new FrameSplitter();
    const responses = new FrameSplitter();
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      for (const frame of requests.push(chunk)) {
        apiKeys.set(frame.readInt32BE(8), frame.readInt16BE(4));
        upstream.write(frame);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const frame of responses.push(chunk)) {
        const correlationId = frame.readInt32BE(4);
        const apiKey = apiKeys.get(correlationId);
        apiKeys.delete(correlationId);
        if (apiKey === produceApiKey && this.#shouldCut()) {
          closeBoth();
          return;
        }
        client.write(frame);
      }
    });
    for (const socket of [client, upstream]) {
      socket.on('error', closeBoth);
      socket.on('close', closeBoth);
    }
  }

  #shouldCut(): boolean {
    this.#produceResponses += 1;
    if (this.cuts >= this.#cutLimit) return false;
    if (this.#produceResponses % this.#options.cutEvery !== 0) return false;
    this.cuts += 1;
    return true;
  }
}
