import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseObjectStoreUrl } from './object-store-url.ts';
import { StorageError } from './storage-error.ts';

test('an s3 URL with a custom endpoint: path-style, region from the URL', () => {
  assert.deepEqual(
    parseObjectStoreUrl('s3://bucket/some/prefix/?endpoint=http://127.0.0.1:8333&region=eu-west-1'),
    {
      bucket: 'bucket',
      prefix: 'some/prefix',
      endpoint: 'http://127.0.0.1:8333',
      region: 'eu-west-1',
      forcePathStyle: true,
    },
  );
});

test('an s3 URL for AWS: virtual-hosted style, the region left to the SDK chain', () => {
  assert.deepEqual(parseObjectStoreUrl('s3://my.bucket-1'), {
    bucket: 'my.bucket-1',
    prefix: '',
    forcePathStyle: false,
  });
  assert.deepEqual(
    parseObjectStoreUrl('s3://bkt/p?endpoint=https%3A%2F%2Fs3.example.com&forcePathStyle=false'),
    {
      bucket: 'bkt',
      prefix: 'p',
      endpoint: 'https://s3.example.com',
      region: 'us-east-1',
      forcePathStyle: false,
    },
  );
});

test('bad URLs are INVALID_CONFIG naming the part at fault', () => {
  const cases: [string, RegExp][] = [
    ['not a url', /not a URL/],
    ['http://bucket/prefix', /scheme http: is not s3:/],
    ['s3://Bucket_Name/x', /not a valid S3 bucket name/],
    ['s3://ab', /not a valid S3 bucket name/],
    ['s3://key:secret@bucket', /credentials do not belong/],
    ['s3://bucket:9000/x', /has no port/],
    ['s3://bucket/a/../b', /prefix segment/],
    ['s3://bucket/a b', /prefix segment/],
    ['s3://bucket?endpoint=ftp://host', /must be http: or https:/],
    ['s3://bucket?endpoint=nope', /is not a URL/],
    ['s3://bucket?endpoint=http://h:1/path', /no path or query/],
    ['s3://bucket?region=US_EAST', /region "US_EAST" is invalid/],
    ['s3://bucket?forcePathStyle=yes', /forcePathStyle must be true or false/],
    ['s3://bucket?bucket=other', /unknown parameter "bucket"/],
  ];
  for (const [url, message] of cases) {
    assert.throws(
      () => parseObjectStoreUrl(url),
      (error: unknown) =>
        error instanceof StorageError &&
        error.code === 'INVALID_CONFIG' &&
        message.test(error.message),
      url,
    );
  }
});
