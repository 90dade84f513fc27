/**
 * One client connection: splits the byte stream into size-prefixed frames, hands each frame to the
 * router, and writes responses back in request order even when handlers finish out of order
 * (Kafka clients match responses by order as well as by correlation id).
 *
 * Invariants:
 * - A frame's size is checked against `socketRequestMaxBytes` before any buffer for it exists;
 *   a negative or oversized size closes the connection.
 * - Bytes are buffered only as they arrive, so memory per connection is bounded by what the
 *   client actually sent plus at most `connectionInFlightMaxRequests` unanswered requests;
 *   past that limit the socket stops reading until responses drain.
 */
import type { Socket } from 'node:net';
import { releaseReadBuffers } from '@tributary/storage';
import type { BrokerRuntime } from './broker-runtime.ts';
import type { RequestRouter } from './request-router.ts';

interface PendingResponse {
  done: boolean;
  frames: Buffer[] | undefined;
}

const SIZE_PREFIX_BYTES = 4;

export class Connection {
  readonly peer: string;
  readonly #socket: Socket;
  readonly #runtime: BrokerRuntime;
  readonly #router: RequestRouter;
  readonly #abort = new AbortController();
  readonly #pending: PendingResponse[] = [];
  #chunks: Buffer[] = [];
  #bufferedBytes = 0;
  #closed = false;
  #draining = false;
  #drained: (() => void) | undefined;

  constructor(socket: Socket, runtime: BrokerRuntime, router: RequestRouter) {
    this.#socket = socket;
    this.#runtime = runtime;
    this.#router = router;
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    socket.setTimeout(runtime.config.connectionsMaxIdleMs, () => this.close('idle timeout'));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * Graceful close: stops reading, ends long polls (their handlers answer at once), and closes
   * once every request already read has been answered, or after `timeoutMs`.
   */
  drain(timeoutMs: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#draining = true;
    this.#socket.pause();
    this.#abort.abort();
    const done = new Promise<void>((resolve) => {
      this.#drained = resolve;
      this.#socket.once('close', () => resolve());
    });
    const timer = setTimeout(() => this.close('drain timed out'), timeoutMs);
    this.#checkDrained();
    return done.finally(() => clearTimeout(timer));
  }

  close(reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#drained?.();
    if (reason !== undefined)
      this.#runtime.log.warn('closing connection', { peer: this.peer, reason });
    this.#abort.abort();
    this.#chunks = [];
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed || this.#draining) return;
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.length;
    this.#drainFrames();
  }

  /** Cuts every complete frame out of the buffered chunks. */
  #drainFrames(): void {
    while (!this.#closed && this.#bufferedBytes >= SIZE_PREFIX_BYTES) {
      const size = this.#peekSize();
      if (size < 0 || size > this.#runtime.config.socketRequestMaxBytes) {
        this.close(`frame size ${size} outside 0..${this.#runtime.config.socketRequestMaxBytes}`);
        return;
      }
      if (this.#bufferedBytes < SIZE_PREFIX_BYTES + size) return;
      const frame = this.#take(SIZE_PREFIX_BYTES + size).subarray(SIZE_PREFIX_BYTES);
      this.#dispatch(frame);
    }
  }

  #peekSize(): number {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= SIZE_PREFIX_BYTES) return first.readInt32BE(0);
    return Buffer.concat(this.#chunks, SIZE_PREFIX_BYTES).readInt32BE(0);
  }

  /** Removes `length` bytes from the front of the buffered chunks, copying only when split. */
  #take(length: number): Buffer {
    const first = this.#chunks[0];
    let result: Buffer;
    if (first !== undefined && first.length >= length) {
      result = first.subarray(0, length);
      if (first.length === length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(length);
    } else {
      const all = Buffer.concat(this.#chunks, this.#bufferedBytes);
      result = all.subarray(0, length);
      this.#chunks = all.length > length ? [all.subarray(length)] : [];
    }
    this.#bufferedBytes -= length;
    return result;
  }

  #dispatch(frame: Buffer): void {
    const slot: PendingResponse = { done: false, frames: undefined };
    this.#pending.push(slot);
    if (this.#pending.length >= this.#runtime.config.connectionInFlightMaxRequests) {
      this.#socket.pause();
    }
    this.#router.route(frame, this).then(
      (frames) => {
        slot.done = true;
        slot.frames = frames;
        this.#flush();
      },
      (error: unknown) => {
        this.#runtime.log.warn('malformed request', { peer: this.peer, error: describe(error) });
        this.close();
      },
    );
  }

  /** Writes every finished response at the head of the queue, in request order. */
  #flush(): void {
    if (this.#closed) return;
    let wrote = false;
    while (this.#pending.length > 0 && this.#pending[0]?.done === true) {
      const slot = this.#pending.shift();
      if (slot?.frames === undefined) continue;
      if (!wrote) this.#socket.cork();
      wrote = true;
      this.#writeResponse(slot.frames);
    }
    if (wrote) this.#socket.uncork();
    if (this.#draining) {
      this.#checkDrained();
    } else if (this.#pending.length < this.#runtime.config.connectionInFlightMaxRequests) {
      this.#socket.resume();
    }
  }

  /**
   * Writes one response. Its frames may be views of pooled read buffers (fetched batches): they
   * go back to the pool once the socket has taken the last frame (so all of them), never before.
   */
  #writeResponse(frames: readonly Buffer[]): void {
    const last = frames.length - 1;
    if (last < 0) return;
    for (let i = 0; i < last; i++) this.#socket.write(frames[i] as Buffer);
    this.#socket.write(frames[last] as Buffer, (error) => {
      if (!(error instanceof Error)) releaseReadBuffers(frames);
    });
  }

  #checkDrained(): void {
    if (this.#pending.length > 0) return;
    this.#socket.end(() => this.close());
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
