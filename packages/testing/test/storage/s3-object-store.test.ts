/**
 * S3ObjectStore against a real S3-compatible server (SeaweedFS on loopback, started per file):
 * the ObjectStore contract suite every implementation passes, then what only S3 has: multipart
 * uploads above the threshold, ranged GETs across part boundaries, and a server that is down or
 * paused, which must give a typed error after a bounded number of tries instead of a hang. A
 * TCP proxy in front of the server loses replies after the server has acted, as a network can:
 * a retried PUT must recognise its own object, and a failed multipart upload must be aborted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { S3ObjectStore, StorageError, type S3ObjectStoreOptions } from '@tributary/storage';
import { objectStoreContract } from '@tributary/storage/testing';
import { startS3Server, type S3Server } from '@tributary/testing';

const mib = 1024 * 1024;
let server: S3Server;
let prefixes = 0;

before(async () => {
  server = await startS3Server();
});
after(async () => {
  await server.stop();
});

/** A store on a fresh prefix of the shared bucket, so each test sees an empty store. */
function openStore(options: S3ObjectStoreOptions = {}): S3ObjectStore {
  prefixes += 1;
  return S3ObjectStore.fromUrl(server.url(`test-${process.pid}/${prefixes}`), {
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    ...options,
  });
}

objectStoreContract('S3ObjectStore on SeaweedFS', () =>
  Promise.resolve({ store: openStore(), cleanup: () => Promise.resolve() }),
);

describe('S3ObjectStore multipart uploads', () => {
  const threshold = 6 * mib;
  const partSize = 5 * mib;

  test('an object above the threshold goes up in parts and reads back whole', async () => {
    const store = openStore({ multipartThresholdBytes: threshold, partSizeBytes: partSize });
    const data = randomBytes(12 * mib + 123);
    await store.put('big.obj', data);
    assert.deepEqual(await store.head('big.obj'), { name: 'big.obj', sizeBytes: data.length });
    assert.ok((await store.getAll('big.obj')).equals(data));
    const acrossParts = await store.get('big.obj', partSize - 10, 20);
    assert.ok(acrossParts.equals(data.subarray(partSize - 10, partSize + 10)));
    // A multipart object's ETag is the parts' digest followed by "-<part count>".
    const etag = await rawEtag(store, 'big.obj');
    assert.match(etag, /-3"?$/, `ETag ${etag} names three parts`);
    await assert.rejects(store.put('big.obj', randomBytes(threshold + 1)), isStorageFailure);
    assert.ok((await store.get('big.obj', 0, 64)).equals(data.subarray(0, 64)));
    await store.close();
  });

  test('an object at the threshold goes up in one PUT', async () => {
    const store = openStore({ multipartThresholdBytes: threshold, partSizeBytes: partSize });
    const data = randomBytes(threshold);
    await store.put('single.obj', data);
    assert.doesNotMatch(await rawEtag(store, 'single.obj'), /-\d+"?$/);
    assert.ok((await store.getAll('single.obj')).equals(data));
    await store.close();
  });
});

test('ranged reads return exactly the bytes asked for, short at the end', async () => {
  const store = openStore();
  const data = randomBytes(mib + 7);
  await store.put('ranges.obj', data);
  const ranges: [number, number][] = [
    [0, 1],
    [1, 4096],
    [4095, 2],
    [mib - 3, 10],
    [data.length - 1, 1],
  ];
  for (const [position, length] of ranges) {
    const bytes = await store.get('ranges.obj', position, length);
    assert.ok(bytes.equals(data.subarray(position, position + length)), `${position}+${length}`);
  }
  assert.equal((await store.get('ranges.obj', data.length - 2, 100)).length, 2);
  assert.equal((await store.get('ranges.obj', data.length, 10)).length, 0, 'start past the end');
  assert.equal((await store.get('ranges.obj', 5, 0)).length, 0, 'empty range');
  await assert.rejects(store.get('missing.obj', 0, 1), isStorageFailure);
  await store.close();
  await assert.rejects(store.head('ranges.obj'), (error: unknown) => hasCode(error, 'CLOSED'));
});

test('a server that is down gives STORAGE_FAILURE after maxAttempts tries', async () => {
  const gone = await startS3Server({ bucket: 'gone' });
  const url = gone.url('p');
  await gone.stop();
  const maxAttempts = 3;
  const store = S3ObjectStore.fromUrl(url, {
    accessKeyId: gone.accessKeyId,
    secretAccessKey: gone.secretAccessKey,
    maxAttempts,
  });
  for (const call of [() => store.put('a.obj', Buffer.from('x')), () => store.list()]) {
    const error = await call().then(
      () => assert.fail('the call succeeded against a stopped server'),
      (failure: unknown) => failure,
    );
    assert.ok(hasCode(error, 'STORAGE_FAILURE'), String(error));
    assert.match((error as Error).message, /s3:\/\/gone\/p/);
    assert.equal(attempts((error as Error).cause), maxAttempts);
  }
  await store.close();
});

test('a paused server gives STORAGE_FAILURE after the request timeout, not a hang', async () => {
  const maxAttempts = 2;
  const store = openStore({ maxAttempts, requestTimeoutMs: 1_000 });
  await store.put('before.obj', Buffer.from('kept'));
  assert.equal((await store.getAll('before.obj')).toString(), 'kept');
  process.kill(server.pid, 'SIGSTOP');
  try {
    const error = await store.head('before.obj').then(
      () => assert.fail('head answered while the server was paused'),
      (failure: unknown) => failure,
    );
    assert.ok(isStorageFailure(error), String(error));
    assert.match((error as Error).message, /timeout/i);
    assert.equal(attempts((error as Error).cause), maxAttempts);
  } finally {
    process.kill(server.pid, 'SIGCONT');
  }
  assert.equal((await store.getAll('before.obj')).toString(), 'kept');
  await store.close();
});

test('a PUT whose reply was lost is retried and finds its own bytes: success', async () => {
  const proxy = await replyDroppingProxy(server.port);
  prefixes += 1;
  const url = `s3://${server.bucket}/lost-${prefixes}?endpoint=${proxy.endpoint}&region=us-east-1`;
  const credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  const store = S3ObjectStore.fromUrl(url, credentials);
  try {
    const data = Buffer.from('the first attempt stored these bytes');
    proxy.dropNextPutReplies(1);
    await store.put('lost.obj', data);
    assert.equal(proxy.droppedReplies(), 1, 'the first reply was dropped and the SDK retried');
    assert.ok((await store.getAll('lost.obj')).equals(data));
    proxy.dropNextPutReplies(1);
    await assert.rejects(store.put('lost.obj', Buffer.from('other bytes')), isStorageFailure);
    assert.equal(proxy.droppedReplies(), 2);
    assert.ok((await store.getAll('lost.obj')).equals(data), 'never overwritten');
  } finally {
    await store.close();
    await proxy.close();
  }
});

test('a multipart upload whose parts keep failing is aborted: no object, no parts', async () => {
  const proxy = await replyDroppingProxy(server.port);
  prefixes += 1;
  const prefix = `abort-${prefixes}`;
  const url = `s3://${server.bucket}/${prefix}?endpoint=${proxy.endpoint}&region=us-east-1`;
  const store = S3ObjectStore.fromUrl(url, {
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    multipartThresholdBytes: 5 * mib,
    partSizeBytes: 5 * mib,
    maxAttempts: 2,
  });
  try {
    proxy.dropNextPutReplies(Number.MAX_SAFE_INTEGER);
    await assert.rejects(store.put('big.obj', randomBytes(6 * mib)), isStorageFailure);
    proxy.dropNextPutReplies(0);
    assert.ok(proxy.droppedReplies() >= 2, 'every try of a part lost its reply');
    assert.equal(await store.head('big.obj'), undefined);
    const uploads = await withRawClient((client) =>
      client.send(new ListMultipartUploadsCommand({ Bucket: server.bucket, Prefix: prefix })),
    );
    assert.deepEqual(uploads.Uploads ?? [], [], 'the upload was aborted');
  } finally {
    await store.close();
    await proxy.close();
  }
});

interface ReplyDroppingProxy {
  endpoint: string;
  /** The next `count` PUTs reach the server, but their replies are cut off (connection reset). */
  dropNextPutReplies(count: number): void;
  droppedReplies(): number;
  close(): Promise<void>;
}

/** A TCP proxy to the S3 server that can lose a PUT's reply after the server has acted on it. */
async function replyDroppingProxy(upstreamPort: number): Promise<ReplyDroppingProxy> {
  let dropBudget = 0;
  let dropped = 0;
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    let dropThisReply = false;
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined); // a reset is the point of this proxy
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => {
      if (dropBudget > 0 && chunk.subarray(0, 4).toString() === 'PUT ') {
        dropBudget -= 1;
        dropThisReply = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropThisReply) {
        dropped += 1;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    dropNextPutReplies: (count) => (dropBudget = count),
    droppedReplies: () => dropped,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

async function rawEtag(store: S3ObjectStore, name: string): Promise<string> {
  const key = `${store.location.prefix}/${name}`;
  const reply = await withRawClient((client) =>
    client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: key })),
  );
  return reply.ETag ?? '';
}

/** A plain SDK client on the server, for what the ObjectStore interface does not show. */
async function withRawClient<T>(use: (client: S3Client) => Promise<T>): Promise<T> {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

function hasCode(error: unknown, code: string): boolean {
  return error instanceof StorageError && error.code === code;
}

function isStorageFailure(error: unknown): boolean {
  return hasCode(error, 'STORAGE_FAILURE');
}

/** The SDK records on its error how many tries it made. */
function attempts(cause: unknown): number | undefined {
  if (cause instanceof S3ServiceException) return cause.$metadata.attempts;
  if (typeof cause === 'object' && cause !== null && '$metadata' in cause) {
    const metadata = (cause as { $metadata?: { attempts?: number } }).$metadata;
    return metadata?.attempts;
  }
  return undefined;
}
