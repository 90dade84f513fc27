/**
 * Round-trip properties for every generated API at every version, request and response:
 * for a random message x, write(read(write(x))) is byte-identical to write(x), and the decoder
 * consumes exactly the bytes the encoder produced. Messages come from schema-driven arbitraries.
 */
import assert from 'node:assert/strict';
import { deepEqual as looseDeepEqual } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadSchema, structArbitrary } from '../scripts/message-arbitrary.ts';
import { apisByKey } from './generated/apis.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

type Read = (reader: Reader, version: number) => unknown;
type Write = (writer: Writer, version: number, message: never) => void;

const runsPerVersion = 8;

function encode(write: Write, version: number, message: unknown): Buffer {
  const writer = new Writer(64);
  write(writer, version, message as never);
  return writer.toBuffer();
}

function checkRoundTrip(fileName: string, read: Read, write: Write, versions: number[]): void {
  const schema = loadSchema(fileName);
  for (const version of versions) {
    fc.assert(
      fc.property(structArbitrary(schema.root, version), (message) => {
        const first = encode(write, version, message);
        const reader = new Reader(first);
        const decoded = read(reader, version);
        assert.equal(reader.remaining, 0, `${fileName} v${version} left bytes unread`);
        assert.deepEqual(encode(write, version, decoded), first, `${fileName} v${version}`);
      }),
      { numRuns: runsPerVersion, seed: 20240601 + version },
    );
  }
}

for (const api of apisByKey.values()) {
  test(`${api.name} round-trips at versions ${api.minVersion}-${api.maxVersion}`, () => {
    const versions: number[] = [];
    for (let v = api.minVersion; v <= api.maxVersion; v++) versions.push(v);
    checkRoundTrip(`${api.name}Request.json`, api.readRequest, api.writeRequest, versions);
    checkRoundTrip(`${api.name}Response.json`, api.readResponse, api.writeResponse, versions);
  });
}

test('Produce request decodes to the message that was encoded', () => {
  const api = apisByKey.get(0);
  assert.ok(api !== undefined);
  const versions = [3, 7, 8, 9, 11, 12];
  for (const version of versions) {
    const schema = loadSchema('ProduceRequest.json');
    fc.assert(
      fc.property(structArbitrary(schema.root, version), (message) => {
        const first = encode(api.writeRequest, version, message);
        const decoded = api.readRequest(new Reader(first), version);
        // fast-check records have a null prototype, so compare structure only.
        looseDeepEqual(decoded, { transactionalId: null, ...message });
      }),
      { numRuns: 50 },
    );
  }
});
