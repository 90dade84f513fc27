/**
 * A case the full scenario does not cover, found with librdkafka and run also with franz-go: both
 * clients pack one produce call into one batch, and DeleteRecords at an offset inside that batch
 * moves the log start into it. Storage recovery must accept a batch that straddles the log start
 * offset: the broker must restart on that data dir and serve the partition from the new log start.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  LineClientDriver,
  RestartableBroker,
  tempDir,
  type DriverCommand,
  type TempDir,
} from '../../src/index.ts';

export interface DeleteInsideBatchOptions {
  readonly label: string;
  readonly driver: () => DriverCommand;
  /** The key of every record, as the client's case produced them. */
  readonly key: Buffer | null;
  /** Record values, produced in one call; DeleteRecords cuts before the second. */
  readonly values: readonly string[];
}

export function deleteInsideBatchScenario(options: DeleteInsideBatchOptions): void {
  describe(`${options.label}: DeleteRecords inside a batch, then a broker restart`, () => {
    let dir: TempDir | undefined;
    let broker: RestartableBroker | undefined;
    let driver: LineClientDriver | undefined;
    after(async () => {
      await driver?.close();
      if (broker?.current.alive() === true) await broker.current.stop();
      await dir?.remove();
    });

    test('the restarted broker keeps the new log start', { timeout: 180_000 }, async () => {
      dir = await tempDir('delete-inside-batch-restart');
      broker = new RestartableBroker({ dataDir: dir.path });
      await broker.start();
      driver = await LineClientDriver.start({
        bootstrap: broker.bootstrap,
        driver: options.driver(),
        label: options.label,
      });
      const topic = 'delete-inside-batch';
      await driver.createTopic(topic, 1);
      const records = options.values.map((value) => ({
        partition: 0,
        key: options.key,
        value: Buffer.from(value),
        headers: [],
      }));
      const offsets = await driver.produceWithOffsets(topic, records, { compression: 'none' });
      assert.deepEqual(
        offsets.map((o) => o.offset),
        options.values.map((_, index) => index),
      );
      assert.equal(await driver.deleteRecords(topic, 0, 1), 1n, 'low watermark inside the batch');
      await broker.current.stop();
      await broker.start().catch((error: Error) => {
        assert.fail(
          `broker refused to restart after DeleteRecords inside a batch: ${error.message}`,
        );
      });
      assert.equal(await driver.listOffsets(topic, 0, 'earliest'), 1n, 'log start after restart');
      const read = await driver.consumeAll(topic, 1, options.values.length - 1);
      assert.deepEqual(
        read.map((record) => [record.offset, record.value?.toString()]),
        options.values.slice(1).map((value, index) => [BigInt(index + 1), value]),
      );
    });
  });
}
