/**
 * Bad input on the wire (RELIABILITY.md §3.5): one broker process keeps serving a librdkafka
 * producer (acks=all) while raw sockets send oversized, negative, garbage, truncated, unknown and
 * invalid frames. After each case the broker must still serve: the producer keeps getting acks
 * and a fresh ApiVersions works. At the end every acknowledged record must be intact.
 *
 * Where Kafka allows either closing the connection or answering with an error, both pass; what
 * must never happen is a crash, a hang, a large allocation, or a bad batch being stored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RestartableBroker } from '../../src/index.ts';
import { checkAckedRecords } from './durability-check.ts';
import {
  ByteWriter,
  RawConnection,
  listOffsetsLatestBody,
  parseApiVersionsV0,
  parseListOffsetsV1,
  parseProduceResponse,
  produceBody,
  recordBatch,
  requestFrame,
  withBadCrc,
  type Outcome,
} from './kafka-wire.ts';
import { createTopic, readTopic, startProducer, type DriverProcess } from './python-driver.ts';

const backgroundTopic = 'bad-input-background';
const targetTopic = 'bad-input-target';
const socketRequestMaxBytes = 104_857_600;
const messageMaxBytes = 1_048_588;
/** An oversize prefix must not make the broker allocate it; allow ordinary heap growth. */
const rssGrowthMaxBytes = 48 * 1024 * 1024;
const API_VERSIONS = 18;
const PRODUCE = 0;
const LIST_OFFSETS = 2;

const dataDir = mkdtempSync(join(tmpdir(), 'tributary-bad-input-'));
const broker = new RestartableBroker({ dataDir });
let producer: DriverProcess | undefined;
let correlationId = 1;

before(async () => {
  await broker.start();
  for (const [topic, partitions] of [
    [backgroundTopic, 2],
    [targetTopic, 1],
  ] as const) {
    await createTopic(broker.bootstrap, topic, partitions);
  }
  producer = startProducer({
    bootstrap: broker.bootstrap,
    topic: backgroundTopic,
    partitions: 2,
    ratePerSecond: 100,
    prefix: 'bg',
  });
  const running = producer;
  await running.waitFor(() => running.acks().length >= 10, 30_000, 'first background acks');
});

after(async () => {
  producer?.kill();
  await broker.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

function open(): Promise<RawConnection> {
  return RawConnection.open('127.0.0.1', broker.port);
}

function nextCorrelationId(): number {
  correlationId += 1;
  return correlationId;
}

/** The broker process is up, a fresh ApiVersions v0 succeeds, and the producer gets new acks. */
async function assertServing(label: string): Promise<void> {
  const child = broker.current;
  const output = `${child.stdout()}${child.stderr()}`;
  assert.ok(child.alive(), `${label}: broker process exited; output:\n${output.slice(-3000)}`);
  const connection = await open();
  try {
    const id = nextCorrelationId();
    const outcome = await connection.roundTrip(
      requestFrame({
        apiKey: API_VERSIONS,
        apiVersion: 0,
        correlationId: id,
        flexibleHeader: false,
        body: Buffer.alloc(0),
      }),
    );
    assert.equal(outcome.kind, 'response', `${label}: fresh ApiVersions got ${outcome.kind}`);
    if (outcome.kind === 'response') {
      assert.equal(outcome.correlationId, id);
      assert.equal(parseApiVersionsV0(outcome.body).errorCode, 0);
    }
  } finally {
    connection.destroy();
  }
  const running = producer;
  assert.ok(running);
  const seen = running.acks().length;
  await running.waitFor(
    () => running.acks().length >= seen + 5,
    15_000,
    `background acks after ${label}`,
  );
}

/** What the broker did for each "closed or answered" case, reported by the last test. */
const observedOutcomes: string[] = [];

function assertClosedOrAnswered(outcome: Outcome, label: string): void {
  observedOutcomes.push(`${label}: ${outcome.kind}`);
  assert.notEqual(outcome.kind, 'timeout', `${label}: broker neither answered nor closed`);
}

async function sendRaw(bytes: Uint8Array, opts: { end?: boolean } = {}): Promise<Outcome> {
  const connection = await open();
  try {
    await connection.write(bytes);
    if (opts.end === true) connection.end();
    return await connection.next(5_000);
  } finally {
    connection.destroy();
  }
}

function sizePrefix(size: number): Buffer {
  return new ByteWriter().int32(size).build();
}

async function produce(version: 7 | 9, partition: number, records: Uint8Array) {
  const connection = await open();
  try {
    const id = nextCorrelationId();
    const outcome = await connection.roundTrip(
      requestFrame({
        apiKey: PRODUCE,
        apiVersion: version,
        correlationId: id,
        flexibleHeader: version === 9,
        body: produceBody(version, { topic: targetTopic, partition, records }),
      }),
      15_000,
    );
    assert.equal(outcome.kind, 'response', `Produce v${version} got ${outcome.kind}`);
    assert.ok(outcome.kind === 'response');
    assert.equal(outcome.correlationId, id);
    return parseProduceResponse(version, outcome.body);
  } finally {
    connection.destroy();
  }
}

async function latestOffset(partition = 0): Promise<bigint> {
  const connection = await open();
  try {
    const outcome = await connection.roundTrip(
      requestFrame({
        apiKey: LIST_OFFSETS,
        apiVersion: 1,
        correlationId: nextCorrelationId(),
        flexibleHeader: false,
        body: listOffsetsLatestBody(targetTopic, partition),
      }),
    );
    assert.ok(outcome.kind === 'response', `ListOffsets got ${outcome.kind}`);
    const result = parseListOffsetsV1(outcome.body);
    assert.equal(result.errorCode, 0, 'ListOffsets error');
    return result.offset;
  } finally {
    connection.destroy();
  }
}

test('frame size above socket.request.max.bytes closes without allocating', async () => {
  const rssBefore = broker.current.rssBytes() ?? 0;
  for (const size of [socketRequestMaxBytes + 1, 0x7fffffff, 0x7fffffff, 0x7fffffff]) {
    const outcome = await sendRaw(Buffer.concat([sizePrefix(size), Buffer.alloc(1024, 7)]));
    assert.equal(outcome.kind, 'closed', `size ${size}: expected close, got ${outcome.kind}`);
  }
  const rssAfter = broker.current.rssBytes() ?? 0;
  assert.ok(
    rssAfter - rssBefore < rssGrowthMaxBytes,
    `RSS grew ${(rssAfter - rssBefore) / 1048576} MiB after oversize prefixes`,
  );
  await assertServing('oversize frame');
});

test('many concurrent oversize prefixes are closed without allocating', async () => {
  const rssBefore = broker.current.rssBytes() ?? 0;
  const connectionCount = 50;
  const outcomes = await Promise.all(
    Array.from({ length: connectionCount }, () =>
      sendRaw(Buffer.concat([sizePrefix(0x7fffffff), Buffer.alloc(64 * 1024, 3)])),
    ),
  );
  const kinds = outcomes.map((outcome) => outcome.kind);
  assert.deepEqual(
    kinds,
    kinds.map(() => 'closed'),
    'every oversize connection must be closed',
  );
  const rssAfter = broker.current.rssBytes() ?? 0;
  assert.ok(
    rssAfter - rssBefore < rssGrowthMaxBytes,
    `RSS grew ${(rssAfter - rssBefore) / 1048576} MiB after ${connectionCount} oversize prefixes`,
  );
  await assertServing('concurrent oversize frames');
});

test('lying length prefixes inside a request never allocate or store', async () => {
  const rssBefore = broker.current.rssBytes() ?? 0;
  const offsetBefore = await latestOffset();
  const bodies: Array<[string, 7 | 9, Buffer]> = [
    // Topic array count 2^31-1 with no elements behind it.
    [
      'v7 topic count',
      7,
      new ByteWriter().string(null).int16(-1).int32(5000).int32(0x7fffffff).build(),
    ],
    // Records length 2^31-16 with a few bytes behind it.
    [
      'v7 records length',
      7,
      new ByteWriter()
        .string(null)
        .int16(-1)
        .int32(5000)
        .int32(1)
        .string(targetTopic)
        .int32(1)
        .int32(0)
        .int32(0x7ffffff0)
        .raw(Buffer.alloc(16))
        .build(),
    ],
    // Topic name length 32767 with 3 bytes behind it.
    [
      'v7 string length',
      7,
      new ByteWriter()
        .string(null)
        .int16(-1)
        .int32(5000)
        .int32(1)
        .int16(0x7fff)
        .raw(Buffer.from('abc'))
        .build(),
    ],
    // Compact array length (varint) of 2^31 with nothing behind it.
    [
      'v9 compact array length',
      9,
      new ByteWriter().compactString(null).int16(-1).int32(5000).uvarint(0x80000000).build(),
    ],
    // A varint that never terminates.
    [
      'v9 endless varint',
      9,
      new ByteWriter()
        .compactString(null)
        .int16(-1)
        .int32(5000)
        .raw(Buffer.alloc(12, 0xff))
        .build(),
    ],
  ];
  for (const [label, version, body] of bodies) {
    const outcome = await sendRaw(
      requestFrame({
        apiKey: PRODUCE,
        apiVersion: version,
        correlationId: nextCorrelationId(),
        flexibleHeader: version === 9,
        body,
      }),
    );
    assertClosedOrAnswered(outcome, label);
  }
  assert.equal(await latestOffset(), offsetBefore, 'a malformed Produce stored something');
  const rssAfter = broker.current.rssBytes() ?? 0;
  assert.ok(
    rssAfter - rssBefore < rssGrowthMaxBytes,
    `RSS grew ${(rssAfter - rssBefore) / 1048576} MiB after lying length prefixes`,
  );
  await assertServing('lying lengths');
});

test('negative frame size closes the connection', async () => {
  for (const size of [-1, -0x80000000]) {
    const outcome = await sendRaw(sizePrefix(size));
    assert.equal(outcome.kind, 'closed', `size ${size}: expected close, got ${outcome.kind}`);
  }
  await assertServing('negative size');
});

test('garbage bytes close the connection', async () => {
  const http = await sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: broker\r\n\r\n'));
  assert.equal(http.kind, 'closed', `HTTP request: expected close, got ${http.kind}`);
  // Deterministic pseudo-random body behind a plausible size prefix.
  let seed = 0x2545f491;
  const noise = Buffer.alloc(252);
  for (let i = 0; i < noise.length; i += 1) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    noise[i] = seed >>> 24;
  }
  assertClosedOrAnswered(
    await sendRaw(Buffer.concat([sizePrefix(noise.length), noise])),
    'random frame',
  );
  await assertServing('garbage');
});

test('truncated requests are closed or rejected', async () => {
  const cutShort = await sendRaw(Buffer.concat([sizePrefix(100), Buffer.alloc(10, 1)]), {
    end: true,
  });
  assert.equal(cutShort.kind, 'closed', `frame cut short: expected close, got ${cutShort.kind}`);
  for (const version of [7, 9] as const) {
    const frame = requestFrame({
      apiKey: PRODUCE,
      apiVersion: version,
      correlationId: nextCorrelationId(),
      flexibleHeader: version === 9,
      body: produceBody(version, {
        topic: targetTopic,
        partition: 0,
        records: recordBatch([{ key: 'k', value: 'truncated' }]),
      }),
    });
    // Keep the header and half the body, and make the size prefix agree with what is sent.
    const cut = frame.subarray(4, 4 + Math.floor((frame.length - 4) / 2) + 10);
    const offsetBefore = await latestOffset();
    assertClosedOrAnswered(
      await sendRaw(Buffer.concat([sizePrefix(cut.length), cut])),
      `truncated Produce v${version} body`,
    );
    assert.equal(
      await latestOffset(),
      offsetBefore,
      `truncated Produce v${version} stored something`,
    );
  }
  await assertServing('truncated');
});

test('unknown API key is closed or answered, broker stays up', async () => {
  const outcome = await sendRaw(
    requestFrame({
      apiKey: 9999,
      apiVersion: 0,
      correlationId: nextCorrelationId(),
      flexibleHeader: false,
      body: Buffer.alloc(8),
    }),
  );
  assertClosedOrAnswered(outcome, 'unknown API key');
  await assertServing('unknown API key');
});

test('ApiVersions with an unsupported version answers v0 format with error 35', async () => {
  const connection = await open();
  try {
    const id = nextCorrelationId();
    const body = new ByteWriter().compactString('bad-input').compactString('1.0').tags().build();
    const outcome = await connection.roundTrip(
      requestFrame({
        apiKey: API_VERSIONS,
        apiVersion: 127,
        correlationId: id,
        flexibleHeader: true,
        body,
      }),
    );
    assert.ok(outcome.kind === 'response', `expected a response, got ${outcome.kind}`);
    assert.equal(outcome.correlationId, id);
    const parsed = parseApiVersionsV0(outcome.body);
    assert.equal(parsed.errorCode, 35);
    const apiVersions = parsed.apiKeys.find((entry) => entry.apiKey === API_VERSIONS);
    assert.ok(apiVersions, 'version list lacks ApiVersions itself');
    assert.equal(apiVersions.minVersion, 0);
    assert.ok(apiVersions.maxVersion >= 3);
    assert.ok(
      parsed.apiKeys.some((entry) => entry.apiKey === PRODUCE),
      'list lacks Produce',
    );
  } finally {
    connection.destroy();
  }
  await assertServing('ApiVersions v127');
});

// Kafka's SocketServer checks the header before the body: a version outside the API's range is
// an UnsupportedVersionException in parseRequestHeader, and processChannelException closes the
// connection (only ApiVersions is exempt, KIP-511). Fetch v0 is outside since Kafka 4 (KIP-896).
test('unsupported version of a known API closes the connection, as in Kafka', async () => {
  for (const [apiKey, apiVersion] of [
    [PRODUCE, 99],
    [3, 99],
    [1, 0],
  ] as const) {
    const offsetBefore = await latestOffset();
    const outcome = await sendRaw(
      requestFrame({
        apiKey,
        apiVersion,
        correlationId: nextCorrelationId(),
        flexibleHeader: false,
        body:
          apiKey === PRODUCE
            ? produceBody(7, {
                topic: targetTopic,
                partition: 0,
                records: recordBatch([{ key: 'k', value: 'v99' }]),
              })
            : Buffer.alloc(16),
      }),
    );
    assertClosedOrAnswered(outcome, `api ${apiKey} v${apiVersion}`);
    assert.equal(outcome.kind, 'closed', `api ${apiKey} v${apiVersion} was not closed`);
    assert.equal(
      await latestOffset(),
      offsetBefore,
      `api ${apiKey} v${apiVersion} stored something`,
    );
  }
  await assertServing('unsupported version');
});

for (const version of [7, 9] as const) {
  test(`Produce v${version} with a bad CRC gets CORRUPT_MESSAGE and stores nothing`, async () => {
    const offsetBefore = await latestOffset();
    const batch = recordBatch([
      { key: 'a', value: 'first' },
      { key: 'b', value: 'second' },
    ]);
    const bad = await produce(version, 0, withBadCrc(batch));
    assert.equal(bad.errorCode, 2, `expected CORRUPT_MESSAGE, got ${bad.errorCode}`);
    assert.equal(await latestOffset(), offsetBefore, 'bad batch changed the log end offset');
    // The same batch with its real CRC is accepted, so the code above was about the CRC only.
    const good = await produce(version, 0, batch);
    assert.equal(good.errorCode, 0);
    assert.equal(good.baseOffset, offsetBefore);
    assert.equal(await latestOffset(), offsetBefore + 2n);
    await assertServing(`bad CRC v${version}`);
  });

  test(`Produce v${version} over max.message.bytes gets MESSAGE_TOO_LARGE`, async () => {
    const offsetBefore = await latestOffset();
    const big = recordBatch([{ key: 'big', value: 'x'.repeat(messageMaxBytes + 1024) }]);
    const result = await produce(version, 0, big);
    assert.equal(result.errorCode, 10, `expected MESSAGE_TOO_LARGE, got ${result.errorCode}`);
    assert.equal(await latestOffset(), offsetBefore);
    await assertServing(`too large v${version}`);
  });

  test(`Produce v${version} to a missing partition gets UNKNOWN_TOPIC_OR_PARTITION`, async () => {
    const result = await produce(version, 99, recordBatch([{ key: 'k', value: 'nowhere' }]));
    assert.equal(
      result.errorCode,
      3,
      `expected UNKNOWN_TOPIC_OR_PARTITION, got ${result.errorCode}`,
    );
    await assertServing(`missing partition v${version}`);
  });
}

test('background producer data is intact', { timeout: 120_000 }, async (t) => {
  t.diagnostic(`broker reactions: ${observedOutcomes.join('; ')}`);
  const running = producer;
  assert.ok(running);
  const code = await running.stop(60_000);
  assert.equal(code, 0, `producer exit ${code}: ${running.stderr.slice(-2000)}`);
  const acks = running.acks();
  const errors = running.lines.filter((line) => line.type === 'error');
  assert.deepEqual(errors, [], 'background producer saw delivery errors');
  const records = await readTopic(broker.bootstrap, backgroundTopic);
  assert.deepEqual(checkAckedRecords(acks, records), [], 'background data damaged');
  t.diagnostic(`${acks.length} background acks, ${records.length} records read back`);
});
