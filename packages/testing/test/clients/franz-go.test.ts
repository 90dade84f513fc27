// franz-go (github.com/twmb/franz-go, kgo + kadm) through its Go line driver
// (scripts/build-go-drivers.sh builds it): every scenario of the full client scenario, consumer
// groups with both the classic protocol and KIP-848's consumer protocol (franz-go's
// ServerSideBalancer). Then one case the full scenario does not cover: franz-go packs a produce
// call into one batch, and a DeleteRecords offset inside that batch must survive a broker restart.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  franzGoDriverCommand,
  LineClientDriver,
  RestartableBroker,
  tempDir,
  type TempDir,
} from '../../src/index.ts';
import { fullClientScenario } from './full-scenario.ts';

fullClientScenario({
  label: 'franz-go',
  driver: franzGoDriverCommand,
  groupProtocols: ['classic', 'consumer'],
});

describe('franz-go: DeleteRecords inside a batch, then a broker restart', () => {
  let dir: TempDir | undefined;
  let broker: RestartableBroker | undefined;
  let driver: LineClientDriver | undefined;
  after(async () => {
    await driver?.close();
    if (broker?.current.alive() === true) await broker.current.stop();
    await dir?.remove();
  });

  test('the restarted broker keeps the new log start', { timeout: 180_000 }, async () => {
    dir = await tempDir('franz-delete-restart');
    broker = new RestartableBroker({ dataDir: dir.path });
    await broker.start();
    driver = await LineClientDriver.start({
      bootstrap: broker.bootstrap,
      driver: franzGoDriverCommand(),
      label: 'franz-go',
    });
    const topic = 'delete-inside-batch';
    await driver.createTopic(topic, 1);
    const records = ['a', 'b', 'c'].map((value) => ({
      partition: 0,
      key: null,
      value: Buffer.from(value),
      headers: [],
    }));
    await driver.produce(topic, records, { compression: 'none' });
    assert.equal(await driver.deleteRecords(topic, 0, 1), 1n, 'low watermark after DeleteRecords');
    await broker.current.stop();
    // Storage recovery must accept a batch that straddles the log start offset.
    await broker.start().catch((error: Error) => {
      assert.fail(`broker refused to restart after DeleteRecords inside a batch: ${error.message}`);
    });
    assert.equal(await driver.listOffsets(topic, 0, 'earliest'), 1n, 'log start after restart');
    const read = await driver.consumeAll(topic, 1, 2);
    assert.deepEqual(
      read.map((record) => [record.offset, record.value?.toString()]),
      [
        [1n, 'b'],
        [2n, 'c'],
      ],
    );
  });
});
