/**
 * One client connection: splits the byte stream into size-prefixed frames, hands each frame to the
 * router, and writes responses back in request order even when handlers finish out of order
 * (Kafka clients match responses by order as well as by correlation id).
 *
 * Invariants:
 * - A frame's size is checked against `socketRequestMaxBytes` and the broker's request memory
 *   budget (`queued.max.request.bytes`) before any buffer for it exists; a negative or oversized
 *   size closes the connection with a logged reason.
 * - Before a frame is buffered its declared size is reserved in the RequestMemoryPool; while the
 *   pool is spent the socket is paused (backpressure), so the bytes wait in the kernel and the
 *   client, not in the heap. The reservation returns when the request is answered.
 * - A frame longer than what one read delivered is copied into one buffer of its size as bytes
 *   arrive, so no list of socket chunks (and no second copy to join them) is ever held for it;
 *   when the connection closes mid-frame that buffer is freed at once (detached), not at the
 *   next garbage collection.
 * - At most `connectionInFlightMaxRequests` unanswered requests per connection; past that limit
 *   the socket stops reading until responses drain.
 * - A response larger than `responseWriteSliceBytes` goes to the socket a slice per event-loop
 *   turn; later responses wait until its last slice is written, so the order holds.
 */
import type { Socket } from 'node:net';
import { releaseReadBuffers } from '@tributary/storage';
import type { BrokerRuntime } from './broker-runtime.ts';
import { type RequestRouter, UnservedRequestError } from './request-router.ts';
import {
  ConnectionAuthentication,
  RequestRefusedError,
} from './security/connection-authentication.ts';
import type { MemoryWaiter, RequestMemoryPool } from './request-memory-pool.ts';

interface PendingResponse {
  done: boolean;
  frames: Buffer[] | undefined;
}

/** A frame whose size is reserved in the pool, filled as its bytes arrive. */
interface PartialFrame {
  readonly buffer: Buffer;
  filled: number;
}

const SIZE_PREFIX_BYTES = 4;

/**
 * Bytes of one response handed to the socket in one event-loop turn. A catch-up Fetch answers up
 * to 64 MiB; handed over at once, the kernel copied it into a fast reader's socket in one go,
 * 8-17 ms during which no live produce or fetch on any connection was served.
 */
export const responseWriteSliceBytes = 1024 * 1024;

/** A response larger than a slice, partly handed to the socket. */
interface SlicedWrite {
  readonly frames: readonly Buffer[];
  /** Index of the first frame not yet written. */
  next: number;
}

export class Connection {
  readonly peer: string;
  /** The client's address without the port (max.connections.per.ip counts by it). */
  readonly address: string;
  /** Who the client is and what it may send now (SASL listeners, KIP-368 sessions). */
  readonly authentication: ConnectionAuthentication;
  readonly #socket: Socket;
  readonly #runtime: BrokerRuntime;
  readonly #router: RequestRouter;
  readonly #pool: RequestMemoryPool;
  readonly #abort = new AbortController();
  readonly #pending: PendingResponse[] = [];
  #chunks: Buffer[] = [];
  #bufferedBytes = 0;
  #frame: PartialFrame | undefined;
  #memoryWaiter: MemoryWaiter | undefined;
  #closed = false;
  #draining = false;
  #sliced: SlicedWrite | undefined;
  #drained: (() => void) | undefined;

  constructor(
    socket: Socket,
    runtime: BrokerRuntime,
    router: RequestRouter,
    pool: RequestMemoryPool,
    authentication?: ConnectionAuthentication,
  ) {
    this.#socket = socket;
    this.#runtime = runtime;
    this.#router = router;
    this.#pool = pool;
    this.address = socket.remoteAddress ?? '?';
    this.peer = `${this.address}:${socket.remotePort ?? 0}`;
    this.authentication =
      authentication ??
      new ConnectionAuthentication({
        sasl: undefined,
        principal: 'User:ANONYMOUS',
        log: runtime.log,
        peer: this.peer,
      });
    socket.setNoDelay(true);
    socket.setTimeout(runtime.config.connectionsMaxIdleMs, () => this.close('idle timeout'));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  /** Kafka principal of this connection (RequestContext.principal). */
  get principal(): string {
    return this.authentication.principal;
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
    this.#updateReading();
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
    this.#bufferedBytes = 0;
    this.#releaseReadState();
    this.#socket.destroy();
  }

  /** Gives back what a frame still being read holds: its queue place or its reserved buffer. */
  #releaseReadState(): void {
    if (this.#memoryWaiter !== undefined) {
      this.#pool.cancel(this.#memoryWaiter);
      this.#memoryWaiter = undefined;
    }
    const frame = this.#frame;
    if (frame === undefined) return;
    this.#frame = undefined;
    this.#pool.release(frame.buffer.length);
    // Nothing else references a frame not yet dispatched: free it now, not at a GC that an idle
    // broker may not run for long.
    freeFrame(frame.buffer);
  }

  #onData(chunk: Buffer): void {
    if (this.#closed || this.#draining) return;
    const frame = this.#frame;
    let rest = chunk;
    if (frame !== undefined) {
      const copied = chunk.copy(frame.buffer, frame.filled);
      frame.filled += copied;
      rest = chunk.subarray(copied);
    }
    if (rest.length > 0) {
      this.#chunks.push(rest);
      this.#bufferedBytes += rest.length;
    }
    this.#drainFrames();
  }

  /** Cuts every complete frame out of what was read, reserving memory for each first. */
  #drainFrames(): void {
    while (
      !this.#closed &&
      this.#memoryWaiter === undefined &&
      this.authentication.mustClose === undefined
    ) {
      const frame = this.#frame;
      if (frame !== undefined) {
        if (frame.filled < frame.buffer.length) return;
        this.#frame = undefined;
        this.#dispatch(frame.buffer, frame.buffer.length, true);
        continue;
      }
      if (this.#bufferedBytes < SIZE_PREFIX_BYTES) return;
      const size = this.#peekSize();
      const problem = this.#frameSizeProblem(size);
      if (problem !== undefined) {
        this.close(problem);
        return;
      }
      if (!this.#reserve(size)) return;
      this.#startFrame(size);
    }
  }

  #frameSizeProblem(size: number): string | undefined {
    const { socketRequestMaxBytes } = this.#runtime.config;
    if (size < 0) return `frame size ${size} is negative`;
    if (size > socketRequestMaxBytes) {
      return `frame size ${size} exceeds socket.request.max.bytes ${socketRequestMaxBytes}`;
    }
    if (size > this.authentication.frameMaxBytes(socketRequestMaxBytes)) {
      return `frame size ${size} before authentication exceeds sasl.server.max.receive.size`;
    }
    if (size > this.#pool.capacityBytes) {
      return `frame size ${size} exceeds queued.max.request.bytes ${this.#pool.capacityBytes}`;
    }
    return undefined;
  }

  /** Reserves `size` bytes now (true), or pauses reading until the pool grants them (false). */
  #reserve(size: number): boolean {
    const waiter: MemoryWaiter = {
      bytes: size,
      granted: () => {
        if (this.#memoryWaiter !== waiter) {
          this.#pool.release(size);
          return;
        }
        this.#memoryWaiter = undefined;
        this.#updateReading();
        this.#startFrame(size);
        this.#drainFrames();
      },
    };
    if (this.#pool.reserve(waiter)) return true;
    this.#memoryWaiter = waiter;
    this.#updateReading();
    return false;
  }

  /** Starts the frame whose size prefix heads the chunks; its `size` bytes are reserved. */
  #startFrame(size: number): void {
    this.#take(SIZE_PREFIX_BYTES);
    if (this.#bufferedBytes >= size) {
      this.#dispatch(this.#take(size), size);
      return;
    }
    this.#frame = { buffer: Buffer.allocUnsafeSlow(size), filled: 0 };
    this.#fillFromChunks();
  }

  /** Moves buffered chunks into the frame being read, up to its size. */
  #fillFromChunks(): void {
    const frame = this.#frame;
    if (frame === undefined || this.#bufferedBytes === 0) return;
    const wanted = Math.min(frame.buffer.length - frame.filled, this.#bufferedBytes);
    if (wanted === 0) return;
    this.#take(wanted).copy(frame.buffer, frame.filled);
    frame.filled += wanted;
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

  /**
   * Routes one frame; its `reservedBytes` go back to the pool once it is answered. `ownsMemory`:
   * the frame is a buffer of its own (allocUnsafeSlow), not a view of socket chunks.
   */
  #dispatch(frame: Buffer, reservedBytes: number, ownsMemory = false): void {
    const slot: PendingResponse = { done: false, frames: undefined };
    this.#pending.push(slot);
    this.#updateReading();
    const answer = this.authentication.expectsRawToken
      ? this.#rawToken(frame)
      : this.#router.route(frame, this);
    answer.then(
      (frames) => {
        this.#pool.release(reservedBytes);
        slot.done = true;
        slot.frames = frames;
        this.#flush();
      },
      (error: unknown) => {
        this.#pool.release(reservedBytes);
        // A frame no handler saw is referenced by nothing: give its memory back now. Junk
        // frames of tens of MiB otherwise piled up until a full collection (docs/adr/0015).
        if (ownsMemory && error instanceof UnservedRequestError) freeFrame(frame);
        if (error instanceof RequestRefusedError) {
          this.close(error.message);
          return;
        }
        this.#runtime.log.warn('malformed request', { peer: this.peer, error: describe(error) });
        this.close();
      },
    );
  }

  /**
   * A raw SASL token after SaslHandshake v0 (kafka-python): the answer is a raw frame too; a
   * failure has none (Kafka closes the connection without one).
   */
  async #rawToken(frame: Buffer): Promise<Buffer[]> {
    const answer = await this.authentication.authenticate(frame, -1);
    if (answer.errorCode !== 0) return [];
    const size = Buffer.alloc(SIZE_PREFIX_BYTES);
    size.writeInt32BE(answer.authBytes.length, 0);
    return [size, answer.authBytes];
  }

  /** Reads while nothing holds the socket: draining, a memory wait, too many unanswered. */
  #updateReading(): void {
    if (this.#closed) return;
    const hold =
      this.#draining ||
      this.#memoryWaiter !== undefined ||
      this.#pending.length >= this.#runtime.config.connectionInFlightMaxRequests;
    if (hold) this.#socket.pause();
    else this.#socket.resume();
  }

  /** Writes every finished response at the head of the queue, in request order. */
  #flush(): void {
    if (this.#closed || this.#sliced !== undefined) return;
    let wrote = false;
    while (this.#pending.length > 0 && this.#pending[0]?.done === true) {
      const slot = this.#pending.shift();
      if (slot?.frames === undefined) continue;
      if (!wrote) this.#socket.cork();
      wrote = true;
      if (byteLengthOf(slot.frames) > responseWriteSliceBytes) {
        this.#sliced = { frames: slot.frames, next: 0 };
        this.#writeSlice(this.#sliced);
        break;
      }
      this.#writeResponse(slot.frames);
    }
    if (wrote) this.#socket.uncork();
    const closeReason = this.authentication.mustClose;
    if (closeReason !== undefined && this.#pending.length === 0 && this.#sliced === undefined) {
      this.#draining = true;
      this.#socket.pause();
      this.#socket.end(() => this.close(closeReason));
      return;
    }
    if (this.#draining) this.#checkDrained();
    else this.#updateReading();
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

  /**
   * Writes the next slice of a large response; once the socket has taken it, the next turn
   * writes the one after (setImmediate: a write the kernel took at once completes within this
   * turn, and continuing from its callback would hand over the whole response without yielding).
   * After the last slice the read buffers go back to the pool and later responses follow.
   */
  #writeSlice(sliced: SlicedWrite): void {
    const { frames } = sliced;
    let end = sliced.next;
    let bytes = 0;
    while (
      end < frames.length &&
      (bytes === 0 || bytes + (frames[end] as Buffer).length <= responseWriteSliceBytes)
    ) {
      bytes += (frames[end] as Buffer).length;
      end++;
    }
    for (let i = sliced.next; i < end - 1; i++) this.#socket.write(frames[i] as Buffer);
    sliced.next = end;
    this.#socket.write(frames[end - 1] as Buffer, (error) => {
      if (error instanceof Error || this.#closed) return;
      if (end < frames.length) {
        setImmediate(() => {
          if (this.#closed) return;
          this.#socket.cork();
          this.#writeSlice(sliced);
          this.#socket.uncork();
        });
        return;
      }
      releaseReadBuffers(frames);
      this.#sliced = undefined;
      this.#flush();
    });
  }

  #checkDrained(): void {
    if (this.#pending.length > 0 || this.#sliced !== undefined) return;
    this.#socket.end(() => this.close());
  }
}

function byteLengthOf(frames: readonly Buffer[]): number {
  let bytes = 0;
  for (const frame of frames) bytes += frame.length;
  return bytes;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Frees a frame's own memory at once (detaches it); only for a frame nothing references. */
function freeFrame(frame: Buffer): void {
  const memory = frame.buffer;
  if (memory instanceof ArrayBuffer && frame.byteOffset === 0) memory.transfer(0);
}
