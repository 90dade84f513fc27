/**
 * Fetch sessions (KIP-227) over TCP with the project's own codecs: a full fetch opens a session,
 * incremental fetches answer only the partitions that changed and read only those, forgotten
 * partitions leave the session, epoch and id errors, LRU eviction, closing by epoch -1 and by
 * connection close. Real clients (the Java consumer, franz-go) are in packages/testing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ErrorCode,
  buildRecordBatch,
  fetchApi,
  produceApi,
  type FetchRequestInit,
  type FetchResponse,
} from '@tributary/protocol';
import type { TopicId } from '@tributary/storage';
import { startBroker, type RunningBroker } from './broker.ts';
import { KafkaConnection } from './cluster/kafka-connection.ts';
import type { LogFields, Logger } from './logger.ts';

/** Keeps the broker's log lines, so tests can read the session summaries. */
class CapturingLogger implements Logger {
  readonly lines: { message: string; fields: LogFields }[] = [];
  info(message: string, fields: LogFields = {}): void {
    this.lines.push({ message, fields });
  }
  warn(message: string, fields: LogFields = {}): void {
    this.lines.push({ message, fields });
  }
  error(message: string, fields: LogFields = {}): void {
    this.lines.push({ message, fields });
  }
  /** The summary line of `sessionId`, once the broker has written it. */
  async closedSession(sessionId: number): Promise<LogFields | undefined> {
    for (let waitedMs = 0; waitedMs < 10_000; waitedMs += 10) {
      const found = this.closedSessions().find((fields) => fields.sessionId === sessionId);
      if (found !== undefined) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return undefined;
  }

  closedSessions(): LogFields[] {
    return this.lines
      .filter((line) => line.message === 'fetch session closed')
      .map((line) => line.fields);
  }
}

const topicName = 'sessions';
const partitionCount = 1_000;
const byName = 12;
const byId = 17;
const logger = new CapturingLogger();
let broker: RunningBroker;
let topicId: TopicId;
const clients: KafkaConnection[] = [];

before(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', inMemory: true, logger });
  const topic = await broker.storage.createTopic({ name: topicName, partitionCount });
  topicId = topic.topicId;
});

after(async () => {
  for (const open of clients) open.close();
  await broker.close();
});

/** A connection for the test to close; the long-poll test waits up to 20 s for an answer. */
async function client(port = broker.port): Promise<KafkaConnection> {
  const created = await KafkaConnection.connect(
    { host: '127.0.0.1', port },
    { clientId: 'fetch-sessions-test', requestTimeoutMs: 30_000 },
  );
  clients.push(created);
  return created;
}

async function produce(wire: KafkaConnection, partition: number, value: string): Promise<void> {
  const records = buildRecordBatch({ records: [{ key: null, value: Buffer.from(value) }] });
  const answer = await wire.request(produceApi, 9, {
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topicName, partitionData: [{ index: partition, records }] }],
  });
  assert.equal(answer.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.NONE);
}

function endOf(partition: number): bigint {
  return broker.storage.partition(topicId, partition)?.highWatermark ?? -1n;
}

/** Fetch request body: `offsets` maps partition -> fetch offset (named, or by id from v13). */
function fetchBody(
  version: number,
  session: { sessionId: number; sessionEpoch: number },
  offsets: ReadonlyMap<number, bigint>,
  extra: Partial<FetchRequestInit> = {},
): FetchRequestInit {
  const partitions = [...offsets].map(([partition, fetchOffset]) => ({
    partition,
    fetchOffset,
    partitionMaxBytes: 1 << 20,
  }));
  const topic = version >= 13 ? { topicId } : { topic: topicName };
  return {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 24,
    isolationLevel: 0,
    ...session,
    topics: partitions.length === 0 ? [] : [{ ...topic, partitions }],
    ...extra,
  };
}

/** Every partition of the topic at its current end. */
function allAtEnd(): Map<number, bigint> {
  const offsets = new Map<number, bigint>();
  for (let p = 0; p < partitionCount; p++) offsets.set(p, endOf(p));
  return offsets;
}

/** Partitions answered: record bytes and high watermark of each. */
function answered(response: FetchResponse): Map<number, { records: number; hw: bigint }> {
  const seen = new Map<number, { records: number; hw: bigint }>();
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      seen.set(partition.partitionIndex, {
        records: partition.records?.length ?? 0,
        hw: partition.highWatermark,
      });
    }
  }
  return seen;
}

async function openSession(wire: KafkaConnection, version = byName): Promise<number> {
  const full = await wire.request(
    fetchApi,
    version,
    fetchBody(version, { sessionId: 0, sessionEpoch: 0 }, allAtEnd()),
  );
  assert.equal(full.errorCode, ErrorCode.NONE);
  assert.ok(full.sessionId > 0, 'a full fetch with epoch 0 opens a session');
  assert.equal(answered(full).size, partitionCount, 'the full answer holds every partition');
  return full.sessionId;
}

test('incremental fetches answer and read only the partitions that changed', async () => {
  const wire = await client();
  const producer = await client();
  const sessionId = await openSession(wire);
  const quiet = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 1 }, new Map()),
  );
  assert.equal(quiet.errorCode, ErrorCode.NONE);
  assert.equal(quiet.sessionId, sessionId);
  assert.equal(answered(quiet).size, 0, 'nothing changed: no partition in the answer');

  const starts = new Map([
    [3, endOf(3)],
    [700, endOf(700)],
  ]);
  await produce(producer, 3, 'three');
  await produce(producer, 700, 'seven hundred');
  const moved = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 2 }, new Map(), { minBytes: 1, maxWaitMs: 5000 }),
  );
  const changed = answered(moved);
  assert.deepEqual(
    [...changed.keys()].toSorted((a, b) => a - b),
    [3, 700],
  );
  assert.ok((changed.get(3)?.records ?? 0) > 0, 'the new record comes with it');
  assert.equal(changed.get(700)?.hw, (starts.get(700) ?? 0n) + 1n);

  // The client moves its offsets past the records: nothing new to tell it.
  const caughtUp = await wire.request(
    fetchApi,
    byName,
    fetchBody(
      byName,
      { sessionId, sessionEpoch: 3 },
      new Map([
        [3, endOf(3)],
        [700, endOf(700)],
      ]),
    ),
  );
  assert.equal(answered(caughtUp).size, 0);

  wire.close();
  const summary = await logger.closedSession(sessionId);
  assert.equal(summary?.reason, 'connection closed');
  assert.equal(summary?.incrementalFetches, 3);
  assert.equal(summary?.partitions, partitionCount);
  // 2 dirty partitions read for the second fetch, the same 2 again once their offsets moved.
  assert.ok(Number(summary?.partitionsRead) <= 8, `read ${String(summary?.partitionsRead)}`);
});

test('a waiting incremental fetch is woken by an append to one of its partitions', async () => {
  const wire = await client();
  const producer = await client();
  const sessionId = await openSession(wire, byId);
  const pending = wire.request(
    fetchApi,
    byId,
    fetchBody(byId, { sessionId, sessionEpoch: 1 }, new Map(), {
      minBytes: 1,
      maxWaitMs: 20_000,
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  await produce(producer, 42, 'wake');
  const started = Date.now();
  const woken = await pending;
  assert.ok(Date.now() - started < 10_000, 'the append, not the 20 s timeout, ended the wait');
  assert.equal(woken.responses.length, 1);
  assert.equal(woken.responses[0]?.topicId, topicId, 'v13+ sessions name topics by id');
  assert.deepEqual([...answered(woken).keys()], [42]);
});

test('forgotten partitions leave the session; added ones join it', async () => {
  const wire = await client();
  const producer = await client();
  const sessionId = await openSession(wire);
  const forget = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 1 }, new Map(), {
      forgottenTopicsData: [{ topic: topicName, partitions: [5] }],
    }),
  );
  assert.equal(answered(forget).size, 0);
  await produce(producer, 5, 'unwatched');
  await produce(producer, 6, 'watched');
  const after5 = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 2 }, new Map(), { minBytes: 1, maxWaitMs: 5000 }),
  );
  assert.deepEqual([...answered(after5).keys()], [6], 'partition 5 was forgotten');
  // Sent again, partition 5 is back in the session and answered (the client has not seen it).
  const rejoined = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 3 }, new Map([[5, 0n]])),
  );
  assert.ok((answered(rejoined).get(5)?.records ?? 0) > 0);
});

test('a moved log start and a deleted topic reach the session without an append', async () => {
  const wire = await client();
  const producer = await client();
  const swept = await broker.storage.createTopic({ name: 'swept', partitionCount: 3 });
  for (const value of ['a', 'b', 'c']) {
    const records = buildRecordBatch({ records: [{ key: null, value: Buffer.from(value) }] });
    await producer.request(produceApi, 9, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'swept', partitionData: [{ index: 1, records }] }],
    });
  }
  const body = (sessionId: number, sessionEpoch: number, offsets: bigint[]): FetchRequestInit => ({
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    sessionId,
    sessionEpoch,
    topics:
      offsets.length === 0
        ? []
        : [
            {
              topicId: swept.topicId,
              partitions: offsets.map((fetchOffset, partition) => ({
                partition,
                fetchOffset,
                partitionMaxBytes: 1 << 20,
              })),
            },
          ],
  });
  const full = await wire.request(fetchApi, byId, body(0, 0, [0n, 3n, 0n]));
  assert.ok(full.sessionId > 0);
  let epoch = 1;
  /** Incremental fetches until one answers something (the sweep runs once a second). */
  const nextAnswer = async (): Promise<FetchResponse> => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const answer = await wire.request(fetchApi, byId, body(full.sessionId, epoch++, []));
      if (answer.responses.length > 0) return answer;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail('no incremental answer carried the change');
  };
  await broker.storage.partition(swept.topicId, 1)?.deleteRecordsBefore(2n);
  const moved = await nextAnswer();
  const partitions = moved.responses[0]?.partitions ?? [];
  assert.deepEqual(
    partitions.map((partition) => [partition.partitionIndex, partition.logStartOffset]),
    [[1, 2n]],
    'only the partition whose log start moved',
  );
  await broker.storage.deleteTopic('swept');
  const gone = await nextAnswer();
  const errors = (gone.responses[0]?.partitions ?? []).map((partition) => partition.errorCode);
  assert.deepEqual(errors, [
    ErrorCode.UNKNOWN_TOPIC_ID,
    ErrorCode.UNKNOWN_TOPIC_ID,
    ErrorCode.UNKNOWN_TOPIC_ID,
  ]);
});

test('a wrong epoch, an unknown id, another connection, a version change: refused', async () => {
  const wire = await client();
  const other = await client();
  const sessionId = await openSession(wire);
  const none = new Map<number, bigint>();
  const badEpoch = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 5 }, none),
  );
  assert.equal(badEpoch.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  assert.equal(badEpoch.sessionId, 0);
  const unknown = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId: sessionId ^ 0x5a5a, sessionEpoch: 1 }, none),
  );
  assert.equal(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  const stolen = await other.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 1 }, none),
  );
  assert.equal(
    stolen.errorCode,
    ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
    'sessions are per connection',
  );
  const byTopicId = await wire.request(
    fetchApi,
    byId,
    fetchBody(byId, { sessionId, sessionEpoch: 1 }, none),
  );
  assert.equal(byTopicId.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
  const fine = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 1 }, none),
  );
  assert.equal(fine.errorCode, ErrorCode.NONE, 'errors leave the session usable');
  assert.equal(fine.sessionId, sessionId);
});

test('epoch -1 closes the session; epoch 0 with its id replaces it', async () => {
  const wire = await client();
  const sessionId = await openSession(wire);
  const none = new Map<number, bigint>();
  const used = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 1 }, none),
  );
  assert.equal(used.errorCode, ErrorCode.NONE);
  const replaced = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 0 }, new Map([[1, endOf(1)]])),
  );
  assert.ok(replaced.sessionId > 0 && replaced.sessionId !== sessionId);
  assert.equal((await logger.closedSession(sessionId))?.reason, 'replaced by a full fetch');
  const old = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId, sessionEpoch: 2 }, none),
  );
  assert.equal(old.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  const next = { sessionId: replaced.sessionId, sessionEpoch: 1 };
  assert.equal((await wire.request(fetchApi, byName, fetchBody(byName, next, none))).errorCode, 0);
  const closing = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId: replaced.sessionId, sessionEpoch: -1 }, none, {
      minBytes: 1,
      maxWaitMs: 20_000,
    }),
  );
  assert.equal(closing.errorCode, ErrorCode.NONE);
  assert.equal(closing.sessionId, 0, 'a sessionless answer, at once although minBytes is 1');
  assert.equal((await logger.closedSession(replaced.sessionId))?.reason, 'closed by client');
  const closed = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId: replaced.sessionId, sessionEpoch: 2 }, none),
  );
  assert.equal(closed.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
});

test('a connection holds at most 4 sessions: opening a fifth drops its oldest', async () => {
  const wire = await client();
  const opened: number[] = [];
  for (let i = 0; i < 5; i++) {
    const full = await wire.request(
      fetchApi,
      byName,
      fetchBody(byName, { sessionId: 0, sessionEpoch: 0 }, new Map([[0, 0n]])),
    );
    opened.push(full.sessionId);
  }
  const none = new Map<number, bigint>();
  const [oldest, ...kept] = opened;
  const gone = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId: oldest ?? 0, sessionEpoch: 1 }, none),
  );
  assert.equal(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  for (const sessionId of kept) {
    const answer = await wire.request(
      fetchApi,
      byName,
      fetchBody(byName, { sessionId, sessionEpoch: 1 }, none),
    );
    assert.equal(answer.errorCode, ErrorCode.NONE);
  }
});

test('sessionless fetches (epoch -1, v4-6, replicas) get session id 0', async () => {
  const wire = await client();
  const offsets = new Map([[0, 0n]]);
  const sessionless = await wire.request(
    fetchApi,
    11,
    fetchBody(11, { sessionId: 0, sessionEpoch: -1 }, offsets),
  );
  assert.equal(sessionless.sessionId, 0);
  assert.equal(sessionless.responses[0]?.partitions.length, 1);
  const old = await wire.request(
    fetchApi,
    4,
    fetchBody(4, { sessionId: 0, sessionEpoch: -1 }, offsets),
  );
  assert.equal(old.responses[0]?.partitions[0]?.errorCode, ErrorCode.NONE);
  const replica = await wire.request(
    fetchApi,
    byName,
    fetchBody(byName, { sessionId: 0, sessionEpoch: 0 }, offsets, { replicaId: 1 }),
  );
  assert.equal(replica.sessionId, 0);
  assert.equal(replica.responses[0]?.partitions[0]?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
});

test('past the cache slots the least recently used session is evicted', async () => {
  const small = await startBroker({
    port: 0,
    host: '127.0.0.1',
    inMemory: true,
    quiet: true,
    settings: new Map([
      ['max.incremental.fetch.session.cache.slots', { value: '2', origin: 'test' }],
    ]),
  });
  try {
    await small.storage.createTopic({ name: topicName, partitionCount: 1 });
    const wire = await client(small.port);
    const open = async (): Promise<number> => {
      const full = await wire.request(
        fetchApi,
        byName,
        fetchBody(byName, { sessionId: 0, sessionEpoch: 0 }, new Map([[0, 0n]])),
      );
      assert.ok(full.sessionId > 0);
      return full.sessionId;
    };
    const incremental = (sessionId: number, sessionEpoch: number) =>
      wire.request(fetchApi, byName, fetchBody(byName, { sessionId, sessionEpoch }, new Map()));
    const first = await open();
    const second = await open();
    assert.equal((await incremental(first, 1)).errorCode, ErrorCode.NONE, 'first is used last');
    await open();
    assert.equal((await incremental(second, 1)).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    assert.equal((await incremental(first, 2)).errorCode, ErrorCode.NONE);
  } finally {
    await small.close();
  }
});
