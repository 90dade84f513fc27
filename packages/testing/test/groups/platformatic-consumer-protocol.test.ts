// KIP-848 consumer groups (ConsumerGroupHeartbeat) with @platformatic/kafka 2.12 sending
// group.protocol=consumer: server-side assignment, incremental rebalances on join and leave.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  stringDeserializers,
} from '@platformatic/kafka';
import { startBroker } from '@tributary/broker';
import { produceValues } from './group-helpers.ts';

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function member(bootstrap: string, name: string, groupId: string) {
  return new Consumer({
    clientId: name,
    groupId,
    groupProtocol: 'consumer',
    bootstrapBrokers: [bootstrap],
    deserializers: stringDeserializers,
  });
}

type Member = ReturnType<typeof member>;

function owned(consumer: Member): number[] {
  return (consumer.assignments ?? []).flatMap((a) => a.partitions).toSorted((a, b) => a - b);
}

async function consumeInto(consumer: Member, topic: string, sink: Set<string>) {
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: 100,
  });
  stream.on('data', (message) => sink.add(message.value));
  return stream;
}

test('two consumer-protocol members share six partitions and rebalance on join and leave', async () => {
  const broker = await startBroker({
    port: 0,
    quiet: true,
    inMemory: true,
    groups: { consumerHeartbeatIntervalMs: 200 },
  });
  try {
    const values = Array.from({ length: 60 }, (_, i) => `m${i}`);
    await produceValues(broker.bootstrap, 'kip848', 6, values);
    const seen = new Set<string>();
    const first = member(broker.bootstrap, 'kip848-a', 'g-kip848');
    const firstStream = await consumeInto(first, 'kip848', seen);
    await waitFor(() => owned(first).length === 6, 20_000, 'the first member to own all six');
    const second = member(broker.bootstrap, 'kip848-b', 'g-kip848');
    const secondStream = await consumeInto(second, 'kip848', seen);
    await waitFor(
      () => owned(first).length === 3 && owned(second).length === 3,
      20_000,
      'three partitions each',
    );
    assert.deepEqual(
      [...owned(first), ...owned(second)].toSorted((a, b) => a - b),
      [0, 1, 2, 3, 4, 5],
    );
    await waitFor(() => seen.size === values.length, 30_000, 'every record');
    await secondStream.close();
    await second.close();
    await waitFor(() => owned(first).length === 6, 20_000, 'the partitions back after the leave');
    await firstStream.close();
    await first.close();
  } finally {
    await broker.close();
  }
});
