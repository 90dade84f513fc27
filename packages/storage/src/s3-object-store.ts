/**
 * S3ObjectStore: the ObjectStore of cluster mode, on any S3-compatible bucket through the AWS SDK
 * for JavaScript v3 (no hand-written signing). Objects live under `<prefix>/<name>`.
 *
 * - `put` never overwrites: it sends `If-None-Match: *` (S3 conditional writes), so a second
 *   put of a name fails with 412 on the server instead of replacing the object (a retry that
 *   finds its own earlier attempt's bytes there succeeds); objects above
 *   `multipartThresholdBytes` go up as a multipart upload (parts of `partSizeBytes`, at most
 *   `partUploadConcurrency` at once), checked for an existing name first and aborted on
 *   failure so no parts are left behind. Either way an object is visible only once whole.
 * - `get` is a ranged GET; a range past the end gives the bytes that exist (S3's 416 for a start
 *   past the end becomes an empty buffer).
 * - Transient failures (network errors, 5xx, throttling) are retried by the SDK's standard retry
 *   strategy: exponential backoff with jitter, `maxAttempts` tries in all. Connecting and each
 *   request are bounded (`connectTimeoutMs`, `requestTimeoutMs`), so a server that is down or
 *   paused gives an error, never a hang.
 * - Every failure is a StorageError: STORAGE_FAILURE naming the operation and the key (the SDK
 *   error is the `cause`), CLOSED after `close`, INVALID_CONFIG for a bad URL.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { ObjectInfo, ObjectPage, ObjectStore } from './object-store.ts';
import { parseObjectStoreUrl, type S3Location } from './object-store-url.ts';
import { StorageError } from './storage-error.ts';

export interface S3ObjectStoreOptions {
  /** Explicit credentials (tests); otherwise the SDK's default chain (env vars, profiles). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Tries per request, the first included, before the SDK gives up. */
  maxAttempts?: number;
  /** Objects larger than this go up as a multipart upload. */
  multipartThresholdBytes?: number;
  /** Size of each multipart part but the last; S3 requires at least 5 MiB. */
  partSizeBytes?: number;
  partUploadConcurrency?: number;
  connectTimeoutMs?: number;
  /** Longest a request may sit without progress on its socket. */
  requestTimeoutMs?: number;
}

type S3ObjectStoreSettings = Required<
  Omit<S3ObjectStoreOptions, 'accessKeyId' | 'secretAccessKey'>
> &
  S3ObjectStoreOptions;

export const s3ObjectStoreDefaults: S3ObjectStoreSettings = {
  maxAttempts: 4,
  multipartThresholdBytes: 16 * 1024 * 1024,
  partSizeBytes: 8 * 1024 * 1024,
  partUploadConcurrency: 4,
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
};

const minimumPartSizeBytes = 5 * 1024 * 1024;
const maximumPartCount = 10_000;
/** S3 names may have `/`-separated segments; each segment is an ObjectStore name. */
const s3NamePattern = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export class S3ObjectStore implements ObjectStore {
  readonly location: S3Location;
  readonly #client: S3Client;
  readonly #multipartThresholdBytes: number;
  readonly #partSizeBytes: number;
  readonly #partUploadConcurrency: number;
  #closed = false;

  constructor(location: S3Location, options: S3ObjectStoreOptions = {}) {
    const settings: S3ObjectStoreSettings = { ...s3ObjectStoreDefaults, ...options };
    if (settings.partSizeBytes < minimumPartSizeBytes) {
      throw new StorageError('INVALID_CONFIG', `partSizeBytes below S3's ${minimumPartSizeBytes}`);
    }
    this.location = location;
    this.#multipartThresholdBytes = settings.multipartThresholdBytes;
    this.#partSizeBytes = settings.partSizeBytes;
    this.#partUploadConcurrency = Math.max(1, settings.partUploadConcurrency);
    this.#client = new S3Client(clientConfig(location, settings));
  }

  /** A store for `s3://bucket/prefix?endpoint=...&region=...` (see object-store-url.ts). */
  static fromUrl(url: string, options: S3ObjectStoreOptions = {}): S3ObjectStore {
    return new S3ObjectStore(parseObjectStoreUrl(url), options);
  }

  async put(name: string, data: Buffer): Promise<void> {
    const key = this.#key(name);
    if (data.length > this.#multipartThresholdBytes) {
      await this.#putMultipart(name, key, data);
      return;
    }
    try {
      await this.#send('put', name, async () => {
        await this.#client.send(
          new PutObjectCommand({ ...this.#target(key), Body: data, IfNoneMatch: '*' }),
        );
      });
    } catch (error: unknown) {
      if (!(await this.#isOwnEarlierAttempt(error, key, data))) throw error;
    }
  }

  /**
   * A PUT whose reply was lost is retried by the SDK and then meets its own object: 412. That
   * is a success when the stored object is these bytes (a single-part ETag is the MD5 of the
   * body), and a refusal otherwise.
   */
  async #isOwnEarlierAttempt(error: unknown, key: string, data: Buffer): Promise<boolean> {
    const cause = error instanceof StorageError ? error.cause : undefined;
    if (httpStatus(error) !== 412 || !(cause instanceof S3ServiceException)) return false;
    if ((cause.$metadata.attempts ?? 1) < 2) return false;
    const reply = await this.#client
      .send(new HeadObjectCommand(this.#target(key)))
      .catch(() => undefined);
    const md5 = createHash('md5').update(data).digest('hex');
    return reply?.ContentLength === data.length && reply.ETag?.replaceAll('"', '') === md5;
  }

  async get(name: string, position: number, length: number): Promise<Buffer> {
    const key = this.#key(name);
    if (length <= 0) return Buffer.alloc(0);
    const range = `bytes=${position}-${position + length - 1}`;
    try {
      return await this.#send('get', name, () => this.#read(key, range));
    } catch (error: unknown) {
      if (httpStatus(error) === 416) return Buffer.alloc(0);
      throw error;
    }
  }

  getAll(name: string): Promise<Buffer> {
    const key = this.#key(name);
    return this.#send('get', name, () => this.#read(key, undefined));
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    const key = this.#key(name);
    try {
      return await this.#send('head', name, async () => {
        const reply = await this.#client.send(new HeadObjectCommand(this.#target(key)));
        return { name, sizeBytes: reply.ContentLength ?? 0 };
      });
    } catch (error: unknown) {
      if (httpStatus(error) === 404) return undefined;
      throw error;
    }
  }

  list(): Promise<ObjectInfo[]> {
    const keyPrefix = this.location.prefix === '' ? '' : `${this.location.prefix}/`;
    return this.#send('list', keyPrefix, async () => {
      const objects: ObjectInfo[] = [];
      const pages = paginateListObjectsV2(
        { client: this.#client },
        { Bucket: this.location.bucket, Prefix: keyPrefix },
      );
      for await (const page of pages) {
        for (const entry of page.Contents ?? []) {
          if (entry.Key === undefined) continue;
          objects.push({ name: entry.Key.slice(keyPrefix.length), sizeBytes: entry.Size ?? 0 });
        }
      }
      return objects.toSorted((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  /** One ListObjectsV2 page (names relative to the store's prefix, as `list` gives them). */
  listPage(request: { prefix: string; startAfter?: string; maxKeys: number }): Promise<ObjectPage> {
    const keyPrefix = this.location.prefix === '' ? '' : `${this.location.prefix}/`;
    return this.#send('list', keyPrefix + request.prefix, async () => {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.location.bucket,
          Prefix: keyPrefix + request.prefix,
          MaxKeys: request.maxKeys,
          ...(request.startAfter === undefined
            ? {}
            : { StartAfter: keyPrefix + request.startAfter }),
        }),
      );
      const objects: ObjectPage['objects'] = [];
      for (const entry of page.Contents ?? []) {
        if (entry.Key === undefined) continue;
        objects.push({
          name: entry.Key.slice(keyPrefix.length),
          sizeBytes: entry.Size ?? 0,
          lastModifiedMs: entry.LastModified?.getTime() ?? Date.now(),
        });
      }
      return { objects, truncated: page.IsTruncated === true };
    });
  }

  /** Deleting a missing object succeeds (S3 answers 204 either way), so retries are safe. */
  async delete(name: string): Promise<void> {
    const key = this.#key(name);
    await this.#send('delete', name, async () => {
      await this.#client.send(new DeleteObjectCommand(this.#target(key)));
    });
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#client.destroy();
    }
    return Promise.resolve();
  }

  async #read(key: string, range: string | undefined): Promise<Buffer> {
    const request =
      range === undefined ? this.#target(key) : { ...this.#target(key), Range: range };
    const reply = await this.#client.send(new GetObjectCommand(request));
    if (reply.Body === undefined) return Buffer.alloc(0);
    return Buffer.from(await reply.Body.transformToByteArray());
  }

  async #putMultipart(name: string, key: string, data: Buffer): Promise<void> {
    // CompleteMultipartUpload also carries If-None-Match, but not every S3-compatible server
    // honours it there: the head check keeps the never-overwrite contract on those.
    if ((await this.head(name)) !== undefined) {
      throw new StorageError('STORAGE_FAILURE', `put ${this.#describe(name)}: already exists`);
    }
    const partCount = Math.ceil(data.length / this.#partSizeBytes);
    if (partCount > maximumPartCount) {
      throw new StorageError('STORAGE_FAILURE', `put ${this.#describe(name)}: too many parts`);
    }
    const uploadId = await this.#send('create multipart upload', name, async () => {
      const reply = await this.#client.send(new CreateMultipartUploadCommand(this.#target(key)));
      if (reply.UploadId === undefined) throw new Error('the server returned no UploadId');
      return reply.UploadId;
    });
    try {
      const parts = await this.#uploadParts(name, key, uploadId, data, partCount);
      await this.#send('complete multipart upload', name, async () => {
        await this.#client.send(
          new CompleteMultipartUploadCommand({
            ...this.#target(key),
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
            IfNoneMatch: '*',
          }),
        );
      });
    } catch (error: unknown) {
      await this.#client
        .send(new AbortMultipartUploadCommand({ ...this.#target(key), UploadId: uploadId }))
        .catch(() => undefined); // best effort: the upload already failed with `error`
      throw error;
    }
  }

  /** Uploads the parts with at most `partUploadConcurrency` in flight. */
  async #uploadParts(
    name: string,
    key: string,
    uploadId: string,
    data: Buffer,
    partCount: number,
  ): Promise<CompletedPart[]> {
    const parts: CompletedPart[] = Array.from({ length: partCount });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < partCount) {
        const index = next++;
        const start = index * this.#partSizeBytes;
        const body = data.subarray(start, Math.min(start + this.#partSizeBytes, data.length));
        const partNumber = index + 1;
        const reply = await this.#send(`upload part ${partNumber}`, name, () =>
          this.#client.send(
            new UploadPartCommand({
              ...this.#target(key),
              UploadId: uploadId,
              PartNumber: partNumber,
              Body: body,
            }),
          ),
        );
        parts[index] = { PartNumber: partNumber, ETag: reply.ETag };
      }
    };
    const workers = Math.min(this.#partUploadConcurrency, partCount);
    await Promise.all(Array.from({ length: workers }, worker));
    return parts;
  }

  /** Runs one SDK call, turning every failure into a StorageError naming the operation. */
  async #send<T>(operation: string, name: string, call: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StorageError('CLOSED', `S3ObjectStore ${operation}: closed`);
    try {
      return await call();
    } catch (error: unknown) {
      if (error instanceof StorageError) throw error;
      throw new StorageError(
        'STORAGE_FAILURE',
        failureMessage(operation, this.#describe(name), error),
        {
          cause: error,
        },
      );
    }
  }

  #target(key: string): { Bucket: string; Key: string } {
    return { Bucket: this.location.bucket, Key: key };
  }

  #key(name: string): string {
    if (!s3NamePattern.test(name) || name.split('/').some((part) => /^\.{1,2}$/.test(part))) {
      throw new StorageError('STORAGE_FAILURE', `bad object name ${name}`);
    }
    return this.location.prefix === '' ? name : `${this.location.prefix}/${name}`;
  }

  #describe(name: string): string {
    const { bucket, prefix } = this.location;
    return prefix === '' ? `s3://${bucket}/${name}` : `s3://${bucket}/${prefix}/${name}`;
  }
}

function clientConfig(location: S3Location, settings: S3ObjectStoreSettings): S3ClientConfig {
  const config: S3ClientConfig = {
    forcePathStyle: location.forcePathStyle,
    maxAttempts: settings.maxAttempts,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: settings.connectTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      // Without this the SDK only logs a warning and the request waits on: a paused server
      // would hang the caller.
      throwOnRequestTimeout: true,
    },
  };
  if (location.endpoint !== undefined) config.endpoint = location.endpoint;
  if (location.region !== undefined) config.region = location.region;
  if (settings.accessKeyId !== undefined && settings.secretAccessKey !== undefined) {
    config.credentials = {
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
    };
  }
  return config;
}

function httpStatus(error: unknown): number | undefined {
  const cause = error instanceof StorageError ? error.cause : error;
  if (cause instanceof S3ServiceException) return cause.$metadata.httpStatusCode;
  return undefined;
}

function failureMessage(operation: string, target: string, error: unknown): string {
  const status = httpStatus(error);
  if (status === 412 || status === 409) return `${operation} ${target}: already exists`;
  if (status === 404) return `${operation} ${target}: no such object`;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const where = status === undefined ? '' : ` (HTTP ${status})`;
  return `${operation} ${target} failed${where}: ${detail}`;
}
