/**
 * Decoder fuzzing: random bytes and mutated valid encodings go into every read function of every
 * generated API at every version. Each read must either return or throw ProtocolError, never a
 * RangeError, TypeError or anything else, and must not hang. Allocation stays bounded because
 * every length is checked against the remaining input before use (see reader.ts); the hostile
 * length case is checked explicitly at the end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadSchema, structArbitrary } from '../scripts/message-arbitrary.ts';
import { apisByKey } from './generated/apis.ts';
import { ProtocolError } from './protocol-error.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

type Read = (reader: Reader, version: number) => unknown;
type Write = (writer: Writer, version: number, message: never) => void;

const runsPerVersion = 15;

function readSafely(read: Read, version: number, bytes: Uint8Array): void {
  try {
    read(new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)), version);
  } catch (error: unknown) {
    if (!(error instanceof ProtocolError)) {
      assert.fail(`v${version} threw ${String(error)} for ${Buffer.from(bytes).toString('hex')}`);
    }
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate'), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('insert'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === 'flip' && out.length > 0) out[at] = m.value;
    else if (m.kind === 'truncate') out = out.subarray(0, at);
    else out = Buffer.concat([out.subarray(0, at), Buffer.of(m.value), out.subarray(at)]);
  }
  return out;
}

interface Mutation {
  kind: string;
  at: number;
  value: number;
}

function fuzz(fileName: string, read: Read, write: Write, version: number): void {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => readSafely(read, version, bytes)),
    { numRuns: runsPerVersion },
  );
  const schema = loadSchema(fileName);
  const valid = structArbitrary(schema.root, version).map((message) => {
    const writer = new Writer(64);
    write(writer, version, message as never);
    return writer.toBuffer();
  });
  fc.assert(
    fc.property(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }), (bytes, mutations) =>
      readSafely(read, version, mutate(bytes, mutations)),
    ),
    { numRuns: runsPerVersion },
  );
  for (const fill of [0x00, 0x7f, 0x80, 0xff]) {
    readSafely(read, version, Buffer.alloc(256, fill));
  }
}

for (const api of apisByKey.values()) {
  test(`${api.name} decoders reject malformed input with ProtocolError only`, () => {
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      fuzz(`${api.name}Request.json`, api.readRequest, api.writeRequest, version);
      fuzz(`${api.name}Response.json`, api.readResponse, api.writeResponse, version);
    }
  });
}

test('a huge array count fails before anything is allocated', () => {
  const produce = apisByKey.get(0);
  assert.ok(produce !== undefined);
  // Produce v7: null transactional id, acks, timeout, then a topic count of 2^31-1.
  const bytes = Buffer.from('ffffffff000075307fffffff', 'hex');
  const before = process.memoryUsage().heapUsed;
  assert.throws(() => produce.readRequest(new Reader(bytes), 7), ProtocolError);
  assert.ok(process.memoryUsage().heapUsed - before < 16 * 1024 * 1024);
});
