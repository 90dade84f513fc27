/**
 * Floors for the small-producers workload: servers that answer every Produce v9 at once and do
 * nothing else (no log, no sync, no validation), loaded by the same raw Kafka lanes as the
 * broker. The Go floor (one goroutine per connection, both cores) is what the load generator and
 * the loopback cost by themselves; the Node floor (one event loop) is the least any Node.js
 * server pays on this machine under this load. The broker's ratio to each says how much of its
 * ack latency is its own work and how much the client and the runtime.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { produceApi, Writer } from '@tributary/protocol';
import { trackChild } from './broker-child.ts';
import type { PeerServer } from './peer-servers.ts';

const nodeServerPath = resolve(import.meta.dirname, 'produce-floor-server.ts');
const goSourcePath = resolve(import.meta.dirname, '../native/produce-floor.go');
const goBinaryPath = resolve(import.meta.dirname, '../.build/produce-floor');
/** Bound on one `go build` (a cold build cache included). */
const goBuildTimeoutMs = 180_000;
const readyTimeoutMs = 10_000;

export interface FloorServer {
  /** How report rows name it. */
  system: string;
  server: PeerServer;
}

/** The body every floor answers with: partition 0 of one topic, no error, offset 0. */
export function cannedProduceResponse(topic: string): Buffer {
  const writer = new Writer();
  produceApi.writeResponse(writer, 9, {
    responses: [
      {
        name: topic,
        partitionResponses: [
          {
            index: 0,
            errorCode: 0,
            baseOffset: 0n,
            logAppendTimeMs: -1n,
            logStartOffset: 0n,
            recordErrors: [],
            errorMessage: null,
          },
        ],
      },
    ],
    throttleTimeMs: 0,
  });
  return writer.toBuffer();
}

function modifiedMs(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Builds the Go floor when its source is newer than its binary; throws saying why it cannot. */
function buildGoFloor(): string {
  const binaryMs = modifiedMs(goBinaryPath);
  if (binaryMs !== undefined && binaryMs >= (modifiedMs(goSourcePath) ?? 0)) return goBinaryPath;
  mkdirSync(resolve(goBinaryPath, '..'), { recursive: true });
  const partial = `${goBinaryPath}.${process.pid}.partial`;
  const build = spawnSync('go', ['build', '-o', partial, goSourcePath], {
    encoding: 'utf8',
    timeout: goBuildTimeoutMs,
  });
  if (build.error !== undefined) throw new Error(`go build: ${build.error.message}`);
  if (build.status !== 0) throw new Error(`go build failed:\n${build.stderr}`);
  renameSync(partial, goBinaryPath);
  return goBinaryPath;
}

/** Spawns one floor server and waits for its `listening PORT` line. */
function startFloor(command: string, args: readonly string[]): Promise<PeerServer> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  const stop = async (): Promise<void> => {
    child.kill('SIGKILL');
    await exited;
  };
  return new Promise<PeerServer>((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${command} not ready: ${output}`));
    }, readyTimeoutMs);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-2_000);
      const port = /listening (\d+)/.exec(output)?.[1];
      if (port === undefined) return;
      clearTimeout(timer);
      resolvePromise({ pid: child.pid ?? 0, port: Number(port), stop });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** The Node floor, run by this Node.js (the broker's runtime). */
export async function startNodeFloor(topic: string): Promise<FloorServer> {
  const body = cannedProduceResponse(topic).toString('hex');
  const server = await startFloor(process.execPath, [nodeServerPath, '0', body]);
  return { system: 'floor: Node server doing no work', server };
}

/** The Go floor, built with the machine's Go toolchain. */
export async function startGoFloor(topic: string): Promise<FloorServer> {
  const binary = buildGoFloor();
  const server = await startFloor(binary, ['0', cannedProduceResponse(topic).toString('hex')]);
  return { system: 'floor: Go server doing no work', server };
}
