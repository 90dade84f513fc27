import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MissingToolError } from './missing-tool-error.ts';
import { startS3Server, type S3Server } from './s3-server.ts';

const parent = await mkdtemp(join(tmpdir(), 'tributary-s3-kept-'));
after(() => rm(parent, { recursive: true, force: true }));

function clientOf(server: S3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
}

test('a server on a kept dir serves the objects of the previous run', async () => {
  const dir = join(parent, 's3');
  const first = await startS3Server({ dir });
  try {
    assert.equal(first.dir, dir);
    const client = clientOf(first);
    const put = new PutObjectCommand({ Bucket: first.bucket, Key: 'kept', Body: 'still here' });
    await client.send(put);
    client.destroy();
  } finally {
    await first.stop();
  }
  assert.ok(existsSync(join(dir, 'data')), 'stop keeps a given dir');
  const second = await startS3Server({ dir });
  try {
    const client = clientOf(second);
    const got = await client.send(new GetObjectCommand({ Bucket: second.bucket, Key: 'kept' }));
    assert.equal(await got.Body?.transformToString(), 'still here');
    client.destroy();
  } finally {
    await second.stop();
  }
});

test('a missing weed binary is a MissingToolError that names the build script', async () => {
  await assert.rejects(
    startS3Server({ weedPath: join(parent, 'no-such-weed') }),
    (error: unknown) =>
      error instanceof MissingToolError &&
      error.message.includes('bash packages/testing/scripts/build-s3-server.sh'),
  );
});
