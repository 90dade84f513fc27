/** Contract suite every MetadataStore passes (reopen checks durability where it applies). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetadataStore, ObjectRecord } from './metadata-store.ts';
import { type TopicRecord, newTopicId } from './types.ts';

export interface MetadataHarness {
  /** A store on the harness's data; stores that connect somewhere open asynchronously. */
  open(): MetadataStore | Promise<MetadataStore>;
  /** Whether a second `open` sees what the first one wrote. */
  durable: boolean;
  cleanup(): Promise<void>;
}

const aclBinding = {
  resourceType: 2,
  resourceName: 'orders',
  patternType: 3,
  principal: 'User:alice',
  host: '*',
  operation: 3,
  permissionType: 3,
};

function topic(name: string, partitionCount = 2): TopicRecord {
  return { name, topicId: newTopicId(), partitionCount, configs: { 'retention.ms': '1000' } };
}

export function metadataStoreContract(
  name: string,
  makeHarness: () => Promise<MetadataHarness>,
): void {
  describe(`MetadataStore contract: ${name}`, () => {
    it('keeps the first cluster identity', async () => {
      const harness = await makeHarness();
      const store = await harness.open();
      const first = await store.initCluster({ clusterId: 'AAAAAAAAAAAAAAAAAAAAAA', nodeId: 0 });
      const second = await store.initCluster({ clusterId: 'BBBBBBBBBBBBBBBBBBBBBB', nodeId: 5 });
      assert.deepEqual(second, first);
      assert.deepEqual(first, { clusterId: 'AAAAAAAAAAAAAAAAAAAAAA', nodeId: 0 });
      await store.close();
      await harness.cleanup();
    });

    it('keeps dynamic broker configs per scope, also after a reopen', async () => {
      const harness = await makeHarness();
      const store = await harness.open();
      await store.setBrokerConfigs('', { 'log.retention.ms': '1000' });
      await store.setBrokerConfigs('0', { 'max.connections': '5', 'message.max.bytes': '2048' });
      await store.setBrokerConfigs('7', { 'max.connections': '9' });
      await store.setBrokerConfigs('7', {});
      const expected = [
        { scope: '', configs: { 'log.retention.ms': '1000' } },
        { scope: '0', configs: { 'max.connections': '5', 'message.max.bytes': '2048' } },
      ];
      assert.deepEqual(await store.listBrokerConfigs(), expected);
      await store.close();
      if (harness.durable) {
        const reopened = await harness.open();
        assert.deepEqual(await reopened.listBrokerConfigs(), expected);
        await reopened.close();
      }
      await harness.cleanup();
    });

    it('stores ACL bindings as a set, deletes exact ones, also after a reopen', async () => {
      const harness = await makeHarness();
      const store = await harness.open();
      const read = { ...aclBinding, operation: 3 };
      const write = { ...aclBinding, operation: 4 };
      const prefixed = { ...aclBinding, resourceName: 'orders-', patternType: 4 };
      await store.createAcls([write, read, read]);
      await store.createAcls([prefixed, write]);
      assert.deepEqual(await store.listAcls(), [read, write, prefixed]);
      assert.deepEqual(await store.deleteAcls([write, { ...write, host: 'elsewhere' }]), [write]);
      assert.deepEqual(await store.deleteAcls([write]), []);
      await store.close();
      if (harness.durable) {
        const reopened = await harness.open();
        assert.deepEqual(await reopened.listAcls(), [read, prefixed]);
        await reopened.close();
      }
      await harness.cleanup();
    });

    it('replaces and deletes SCRAM credentials by user and mechanism', async () => {
      const harness = await makeHarness();
      const store = await harness.open();
      const credential = (user: string, mechanism: number, iterations: number) => ({
        user,
        mechanism,
        salt: Buffer.from(`salt-${user}`),
        storedKey: Buffer.alloc(32, mechanism),
        serverKey: Buffer.alloc(32, iterations % 256),
        iterations,
      });
      await store.alterScramCredentials({
        deletions: [],
        upserts: [credential('bob', 2, 8192), credential('alice', 1, 4096)],
      });
      await store.alterScramCredentials({
        deletions: [{ user: 'bob', mechanism: 2 }],
        upserts: [credential('alice', 1, 5000), credential('alice', 2, 4096)],
      });
      const expected = [credential('alice', 1, 5000), credential('alice', 2, 4096)];
      assert.deepEqual(await store.listScramCredentials(), expected);
      await store.close();
      if (harness.durable) {
        const reopened = await harness.open();
        assert.deepEqual(await reopened.listScramCredentials(), expected);
        await reopened.close();
      }
      await harness.cleanup();
    });

    it('allocates disjoint producer id blocks, also after a reopen', async () => {
      const harness = await makeHarness();
      const store = await harness.open();
      const first = await store.allocateProducerIds(10);
      const second = await store.allocateProducerIds(5);
      assert.equal(second, first + 10n);
      await store.close();
      if (harness.durable) {
        const reopened = await harness.open();
        assert.equal(await reopened.allocateProducerIds(1), second + 5n);
        await reopened.close();
      }
      await harness.cleanup();
    });

    it('creates, updates and deletes topics with their partitions', async () => {
      const harness = await makeHarness();
      const store = await harness.open();
      const orders = topic('orders');
      await store.createTopic(orders);
      await assert.rejects(store.createTopic({ ...orders, topicId: newTopicId() }), {
        code: 'TOPIC_EXISTS',
      });
      await store.updateTopic({ ...orders, partitionCount: 3, configs: {} });
      const [stored] = await store.listTopics();
      assert.deepEqual(stored, { ...orders, partitionCount: 3, configs: {} });
      const starts = await store.listLogStartOffsets();
      assert.deepEqual(starts.map((s) => [s.partition, s.logStartOffset]).toSorted(), [
        [0, 0n],
        [1, 0n],
        [2, 0n],
      ]);
      await store.deleteTopic('orders');
      await assert.rejects(store.deleteTopic('orders'), { code: 'UNKNOWN_TOPIC' });
      await assert.rejects(store.updateTopic(orders), { code: 'UNKNOWN_TOPIC' });
      assert.deepEqual(await store.listTopics(), []);
      assert.deepEqual(await store.listLogStartOffsets(), []);
      await store.close();
      await harness.cleanup();
    });

    it('only raises log start offsets', async () => {
      const harness = await makeHarness();
      const store = await harness.open();
      const events = topic('events', 1);
      await store.createTopic(events);
      await store.setLogStartOffset(events.topicId, 0, 9_000_000_000n);
      await store.setLogStartOffset(events.topicId, 0, 5n);
      const [start] = await store.listLogStartOffsets();
      assert.equal(start?.logStartOffset, 9_000_000_000n);
      await store.close();
      await harness.cleanup();
    });

    it('records objects with ranges and survives a reopen', async () => {
      const harness = await makeHarness();
      const store = await harness.open();
      const events = topic('events', 1);
      await store.createTopic(events);
      const object: ObjectRecord = {
        name: '00000000000000000003.obj',
        segmentId: 3,
        sizeBytes: 4096,
        ranges: [
          {
            topicId: events.topicId,
            partition: 0,
            baseOffset: 10n,
            lastOffset: 2n ** 62n,
            position: 30,
            sizeBytes: 4000,
            maxTimestamp: -1n,
          },
        ],
      };
      await store.addObject({ ...object, name: 'later.obj', segmentId: 9, ranges: [] });
      await store.addObject(object);
      await assert.rejects(store.addObject(object));
      assert.deepEqual(
        (await store.listObjects()).map((o) => o.segmentId),
        [3, 9],
      );
      if (harness.durable) {
        await store.close();
        const reopened = await harness.open();
        assert.deepEqual((await reopened.listObjects())[0], object);
        assert.equal((await reopened.listTopics())[0]?.name, 'events');
        await reopened.deleteObject(object.name);
        assert.equal((await reopened.listObjects()).length, 1);
        await reopened.close();
      } else {
        assert.deepEqual((await store.listObjects())[0], object);
        await store.close();
      }
      await harness.cleanup();
    });

    it("replaces one partition's ranges atomically (compaction)", async () => {
      const harness = await makeHarness();
      const store = await harness.open();
      const t = topic('t', 2);
      const range = (partition: number, baseOffset: bigint) => ({
        topicId: t.topicId,
        partition,
        baseOffset,
        lastOffset: baseOffset + 9n,
        position: 30,
        sizeBytes: 100,
        maxTimestamp: 1n,
      });
      await store.addObject({
        name: 'a.obj',
        segmentId: 1,
        sizeBytes: 9,
        ranges: [range(0, 0n), range(1, 0n)],
      });
      await store.addObject({ name: 'b.obj', segmentId: 2, sizeBytes: 9, ranges: [range(0, 10n)] });
      await store.replacePartitionRanges({
        object: { name: 'c.obj', segmentId: 2 ** 48, sizeBytes: 9, ranges: [range(0, 0n)] },
        topicId: t.topicId,
        partition: 0,
        replacedObjects: ['a.obj', 'b.obj'],
      });
      const objects = await store.listObjects();
      assert.deepEqual(
        objects.map((o) => [o.name, o.ranges.map((r) => r.partition)]),
        [
          ['a.obj', [1]],
          ['b.obj', []],
          ['c.obj', [0]],
        ],
      );
      await store.close();
      await harness.cleanup();
    });
  });
}
