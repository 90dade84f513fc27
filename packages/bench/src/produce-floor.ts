/**
 * Floors for the small-producers workload: servers that answer every Produce v9 at once and do
 * nothing else (no log, no sync, no validation), loaded by the same raw Kafka lanes as the
 * broker. The Go floor (one goroutine per connection, both cores) is what the load generator and
 * the loopback cost by themselves; the Node floor (one event loop) is the least any Node.js
 * server pays on this machine under this load. The broker's ratio to each says how much of its
 * ack latency is its own work and how much the client and the runtime.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { produceApi, Writer } from '@tributary/protocol';
import { buildWhenStale } from './native-load.ts';
import { startServer } from './peer-servers.ts';
import type { StartableSystem } from './peer-systems.ts';

const nodeServerPath = resolve(import.meta.dirname, 'produce-floor-server.ts');
const goSourcePath = resolve(import.meta.dirname, '../native/produce-floor.go');
const goBinaryPath = resolve(import.meta.dirname, '../.build/produce-floor');
/** Bound on one `go build` (a cold build cache included). */
const goBuildTimeoutMs = 180_000;
const ready = /listening \d+/;

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

/** Builds the Go floor with the machine's Go toolchain when its source is newer. */
function buildGoFloor(): Promise<string> {
  return buildWhenStale(goSourcePath, goBinaryPath, async (partialPath) => {
    const build = promisify(execFile);
    await build('go', ['build', '-o', partialPath, goSourcePath], { timeout: goBuildTimeoutMs });
  });
}

/** The topic name the floors' canned answer carries (the lanes do not check it). */
export const floorTopic = 'bench-small';

/** The Node floor, run by this Node.js (the broker's runtime). */
export const nodeFloor: StartableSystem = {
  system: 'floor: Node server doing no work',
  start: (dataParentDir) => {
    const body = cannedProduceResponse(floorTopic).toString('hex');
    const args = (port: number) => [nodeServerPath, String(port), body];
    return startServer(process.execPath, args, ready, dataParentDir);
  },
};

/** The Go floor, built with the machine's Go toolchain. */
export const goFloor: StartableSystem = {
  system: 'floor: Go server doing no work',
  start: async (dataParentDir) => {
    const binary = await buildGoFloor();
    const body = cannedProduceResponse(floorTopic).toString('hex');
    return startServer(binary, (port) => [String(port), body], ready, dataParentDir);
  },
};
