// The Apache Kafka Java client (kafka-clients 4.x, built by scripts/build-java-drivers.sh) through
// its line driver: every scenario of the full client scenario, consumer groups with both the
// classic protocol and KIP-848's consumer protocol (group.protocol=consumer).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { javaDriverCommand, LineDriverError, LineDriverProcess } from '../../src/index.ts';
import { fullClientScenario } from './full-scenario.ts';

fullClientScenario({
  label: 'Java kafka-clients',
  driver: javaDriverCommand,
  groupProtocols: ['classic', 'consumer'],
});

// No broker needed: port 9 (discard) has none, so the client must fail, say so as an answer
// within the command's timeout, and keep the driver usable for the next command.
test('the Java driver answers failures as error lines and stays usable', async () => {
  const driver = await LineDriverProcess.start(javaDriverCommand(), 'Java kafka-clients');
  try {
    assert.equal(driver.client, 'kafka-clients');
    assert.match(driver.version, /^4\.\d+\.\d+$/);
    const nowhere = { bootstrap: '127.0.0.1:9' };
    await assert.rejects(driver.request('listTopics', nowhere, 2_000), /TimeoutException/);
    await assert.rejects(
      driver.request('noSuchOp', nowhere, 2_000),
      (error: unknown) => error instanceof LineDriverError && error.unsupported,
    );
    const consumed = await driver.request(
      'consumeAll',
      { ...nowhere, topic: 't', partitions: 1, expectedCount: 1 },
      2_000,
    );
    assert.deepEqual(consumed, [], 'consumeAll never fails for too few records');
  } finally {
    await driver.close();
  }
});
