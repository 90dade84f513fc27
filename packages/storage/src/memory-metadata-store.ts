/** MemoryMetadataStore: the MetadataStore contract over Maps, for tests. */
import type {
  BrokerConfigScope,
  ClusterIdentity,
  MetadataStore,
  ObjectRecord,
  PartitionRangeChange,
  PartitionStart,
} from './metadata-store.ts';
import {
  aclBindingKey,
  compareAclBindings,
  scramCredentialKey,
  type AclBinding,
  type ScramCredential,
  type ScramCredentialChange,
} from './security-metadata.ts';
import { StorageError } from './storage-error.ts';
import { type TopicId, type TopicRecord, partitionKey } from './types.ts';

export class MemoryMetadataStore implements MetadataStore {
  #cluster: ClusterIdentity | undefined;
  readonly #topics = new Map<string, TopicRecord>();
  readonly #starts = new Map<string, PartitionStart>();
  readonly #objects = new Map<string, ObjectRecord>();
  readonly #acls = new Map<string, AclBinding>();
  readonly #scram = new Map<string, ScramCredential>();

  readonly #brokerConfigs = new Map<string, Record<string, string>>();
  #nextProducerId = 0n;

  initCluster(proposed: ClusterIdentity): Promise<ClusterIdentity> {
    this.#cluster ??= { ...proposed };
    return Promise.resolve({ ...this.#cluster });
  }

  allocateProducerIds(count: number): Promise<bigint> {
    const first = this.#nextProducerId;
    this.#nextProducerId += BigInt(count);
    return Promise.resolve(first);
  }

  listAcls(): Promise<AclBinding[]> {
    const bindings = [...this.#acls.values()].map((binding) => ({ ...binding }));
    return Promise.resolve(bindings.toSorted(compareAclBindings));
  }

  createAcls(bindings: readonly AclBinding[]): Promise<void> {
    for (const binding of bindings) {
      const key = aclBindingKey(binding);
      if (!this.#acls.has(key)) this.#acls.set(key, { ...binding });
    }
    return Promise.resolve();
  }

  deleteAcls(bindings: readonly AclBinding[]): Promise<AclBinding[]> {
    return Promise.resolve(bindings.filter((binding) => this.#acls.delete(aclBindingKey(binding))));
  }

  listScramCredentials(): Promise<ScramCredential[]> {
    const credentials = [...this.#scram.values()].map(copyCredential);
    return Promise.resolve(
      credentials.toSorted((a, b) =>
        a.user === b.user ? a.mechanism - b.mechanism : a.user < b.user ? -1 : 1,
      ),
    );
  }

  alterScramCredentials(change: ScramCredentialChange): Promise<void> {
    for (const key of change.deletions) this.#scram.delete(scramCredentialKey(key));
    for (const credential of change.upserts) {
      this.#scram.set(scramCredentialKey(credential), copyCredential(credential));
    }
    return Promise.resolve();
  }

  listTopics(): Promise<TopicRecord[]> {
    return Promise.resolve([...this.#topics.values()].map(copyTopic));
  }

  createTopic(topic: TopicRecord): Promise<void> {
    if (this.#topics.has(topic.name)) {
      return Promise.reject(new StorageError('TOPIC_EXISTS', `topic ${topic.name} exists`));
    }
    this.#topics.set(topic.name, copyTopic(topic));
    this.#addPartitions(topic.topicId, 0, topic.partitionCount);
    return Promise.resolve();
  }

  updateTopic(topic: TopicRecord): Promise<void> {
    const old = this.#topics.get(topic.name);
    if (old === undefined) {
      return Promise.reject(new StorageError('UNKNOWN_TOPIC', `no topic ${topic.name}`));
    }
    this.#topics.set(topic.name, copyTopic(topic));
    this.#addPartitions(topic.topicId, old.partitionCount, topic.partitionCount);
    return Promise.resolve();
  }

  deleteTopic(name: string): Promise<void> {
    const topic = this.#topics.get(name);
    if (topic === undefined) {
      return Promise.reject(new StorageError('UNKNOWN_TOPIC', `no topic ${name}`));
    }
    this.#topics.delete(name);
    for (let i = 0; i < topic.partitionCount; i++) {
      this.#starts.delete(partitionKey(topic.topicId, i));
    }
    return Promise.resolve();
  }

  listLogStartOffsets(): Promise<PartitionStart[]> {
    return Promise.resolve([...this.#starts.values()].map((start) => ({ ...start })));
  }

  setLogStartOffset(topicId: TopicId, partition: number, offset: bigint): Promise<void> {
    const start = this.#starts.get(partitionKey(topicId, partition));
    if (start !== undefined && offset > start.logStartOffset) start.logStartOffset = offset;
    return Promise.resolve();
  }

  addObject(object: ObjectRecord): Promise<void> {
    if (this.#objects.has(object.name)) {
      return Promise.reject(new StorageError('STORAGE_FAILURE', `object ${object.name} exists`));
    }
    this.#objects.set(object.name, copyObject(object));
    return Promise.resolve();
  }

  replacePartitionRanges(change: PartitionRangeChange): Promise<void> {
    if (this.#objects.has(change.object.name)) {
      return Promise.reject(new StorageError('STORAGE_FAILURE', 'object exists'));
    }
    for (const name of change.replacedObjects) {
      const object = this.#objects.get(name);
      if (object === undefined) continue;
      object.ranges = object.ranges.filter(
        (r) => r.topicId !== change.topicId || r.partition !== change.partition,
      );
    }
    this.#objects.set(change.object.name, copyObject(change.object));
    return Promise.resolve();
  }

  listObjects(): Promise<ObjectRecord[]> {
    const objects = [...this.#objects.values()].map(copyObject);
    return Promise.resolve(objects.toSorted((a, b) => a.segmentId - b.segmentId));
  }

  deleteObject(name: string): Promise<void> {
    this.#objects.delete(name);
    return Promise.resolve();
  }

  listBrokerConfigs(): Promise<BrokerConfigScope[]> {
    const scopes = [...this.#brokerConfigs.keys()].toSorted();
    return Promise.resolve(
      scopes.map((scope) => ({ scope, configs: { ...this.#brokerConfigs.get(scope) } })),
    );
  }

  setBrokerConfigs(scope: string, configs: Readonly<Record<string, string>>): Promise<void> {
    if (Object.keys(configs).length === 0) this.#brokerConfigs.delete(scope);
    else this.#brokerConfigs.set(scope, { ...configs });
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #addPartitions(topicId: TopicId, from: number, to: number): void {
    for (let partition = from; partition < to; partition++) {
      this.#starts.set(partitionKey(topicId, partition), {
        topicId,
        partition,
        logStartOffset: 0n,
      });
    }
  }
}

function copyTopic(topic: TopicRecord): TopicRecord {
  return { ...topic, configs: { ...topic.configs } };
}

function copyObject(object: ObjectRecord): ObjectRecord {
  return { ...object, ranges: object.ranges.map((range) => ({ ...range })) };
}

function copyCredential(credential: ScramCredential): ScramCredential {
  return {
    ...credential,
    salt: Buffer.from(credential.salt),
    storedKey: Buffer.from(credential.storedKey),
    serverKey: Buffer.from(credential.serverKey),
  };
}
