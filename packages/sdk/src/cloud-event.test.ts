/**
 * The CloudEvents binding and the wire format are decoders of bytes from the network: no record
 * makes them throw anything but CloudEventFormatError (property test), and what toKafkaRecord
 * writes, fromKafkaRecord reads back, in both modes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  CloudEventFormatError,
  fromKafkaRecord,
  toKafkaRecord,
  type CloudEventAttributes,
} from './cloud-event.ts';
import { frameWireFormat, unframeWireFormat } from './schema-registry-client.ts';
import { activeTraceHeaders, contextFromTraceHeaders } from './trace-context.ts';
import { stackDigest } from './failure-headers.ts';

const headerNames = ['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'content-type', 'x'];

test('no record makes fromKafkaRecord throw anything but CloudEventFormatError', () => {
  const bytes = fc.uint8Array({ maxLength: 64 }).map((array) => Buffer.from(array));
  const header = fc.tuple(
    fc.constantFrom(...headerNames),
    fc.oneof(
      bytes,
      fc.constantFrom('1.0', 'application/cloudevents+json').map((text) => Buffer.from(text)),
    ),
  );
  const jsonish = fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value)));
  fc.assert(
    fc.property(fc.array(header, { maxLength: 6 }), fc.option(fc.oneof(bytes, jsonish)), (h, v) => {
      try {
        fromKafkaRecord({ key: undefined, value: v ?? undefined, headers: new Map(h) });
      } catch (error: unknown) {
        assert.ok(error instanceof CloudEventFormatError, String(error));
      }
    }),
    { numRuns: 2_000 },
  );
});

test('both modes read back what they wrote', () => {
  const attributes: CloudEventAttributes = {
    specversion: '1.0',
    id: 'e-1',
    source: 'urn:test',
    type: 'order.placed',
    subject: 'o-1',
    time: '2026-12-05T12:00:00.000Z',
    datacontenttype: 'application/json',
    dataschema: 'urn:tributary:order.placed:v1',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  };
  const payload = Buffer.from('{"orderId":"o-1"}');
  for (const mode of ['binary', 'structured'] as const) {
    const record = toKafkaRecord(attributes, payload, mode);
    assert.equal(record.key?.toString(), 'o-1');
    const read = fromKafkaRecord(record);
    assert.equal(read.mode, mode);
    assert.deepEqual(read.attributes, attributes);
    assert.deepEqual(JSON.parse(read.payload.toString()), { orderId: 'o-1' });
  }
});

test('the wire format frames and unframes; short or unframed bytes are not framed', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.uint8Array(), (id, array) => {
      const framed = unframeWireFormat(frameWireFormat(id, Buffer.from(array)));
      assert.equal(framed?.id, id);
      assert.deepEqual(framed?.payload, Buffer.from(array));
    }),
  );
  assert.equal(unframeWireFormat(Buffer.from([0, 0, 0])), undefined);
  assert.equal(unframeWireFormat(Buffer.from('{"a":1}')), undefined);
});

test('traceparent: a valid one becomes the active parent, a bad one is ignored', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const parent = contextFromTraceHeaders({ traceparent, tracestate: 'vendor=1' });
  assert.deepEqual(activeTraceHeaders(parent), { traceparent, tracestate: 'vendor=1' });
  for (const bad of [
    '',
    '00-xyz',
    `01-${traceparent.slice(3)}`,
    `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
  ]) {
    assert.deepEqual(activeTraceHeaders(contextFromTraceHeaders({ traceparent: bad })), {});
  }
});

test('the stack digest names where an error was thrown, not its message', () => {
  const fail = (message: string) => {
    try {
      throw new Error(message);
    } catch (error: unknown) {
      return error;
    }
  };
  assert.equal(stackDigest(fail('order o-1')), stackDigest(fail('order o-2')));
  assert.notEqual(stackDigest(fail('x')), stackDigest(new TypeError('x')));
  assert.match(stackDigest('not an error'), /^[0-9a-f]{16}$/);
});
