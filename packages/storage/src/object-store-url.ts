/**
 * The object store URL of cluster mode (`object.store.url`), parsed in one place:
 *
 *   s3://bucket/prefix?endpoint=http://127.0.0.1:8333&region=us-east-1
 *
 * `bucket` follows S3's bucket naming rules; the optional prefix is a `/`-separated key prefix
 * (no empty, `.` or `..` segments). `endpoint` selects an S3-compatible server instead of AWS,
 * and turns on path-style addressing (`http://host/bucket/key`), which such servers expect on
 * loopback; `forcePathStyle=true|false` overrides that. `region` defaults to the SDK's default
 * chain (AWS_REGION, the shared config) on AWS and to us-east-1 with a custom endpoint, where it
 * only scopes the signature. Credentials never come from the URL: the SDK's default chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles) or explicit options.
 * Every refusal is a StorageError INVALID_CONFIG that names the URL part at fault.
 */
import { StorageError } from './storage-error.ts';

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing `/`; empty for the bucket's root. */
  prefix: string;
  endpoint?: string;
  region?: string;
  forcePathStyle: boolean;
}

const knownParameters = new Set(['endpoint', 'region', 'forcePathStyle']);
const bucketNamePattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const prefixSegmentPattern = /^[A-Za-z0-9._-]+$/;
const regionPattern = /^[a-z0-9-]+$/;
const customEndpointDefaultRegion = 'us-east-1';

export function parseObjectStoreUrl(text: string): S3Location {
  const fail = (detail: string): never => {
    throw new StorageError('INVALID_CONFIG', `object store URL ${text}: ${detail}`);
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('not a URL (expected s3://bucket/prefix?endpoint=...&region=...)');
  }
  if (url.protocol !== 's3:') return fail(`scheme ${url.protocol} is not s3:`);
  if (url.username !== '' || url.password !== '') {
    fail('credentials do not belong in the URL; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY');
  }
  if (url.port !== '') fail('an s3 URL has no port; put the server in ?endpoint=');
  const bucket = url.hostname;
  if (!bucketNamePattern.test(bucket) || bucket.includes('..')) {
    fail(`bucket "${bucket}" is not a valid S3 bucket name (3-63 of a-z 0-9 . -)`);
  }
  // The raw text, not url.pathname: URL parsing would silently resolve `a/../b` to `b`.
  const rawPath = text.slice('s3://'.length).split(/[?#]/)[0] ?? '';
  const prefix = parsePrefix(rawPath.slice(rawPath.indexOf('/') + 1 || rawPath.length), fail);
  for (const key of url.searchParams.keys()) {
    if (!knownParameters.has(key)) fail(`unknown parameter "${key}"`);
  }
  const endpoint = parseEndpoint(url.searchParams.get('endpoint'), fail);
  const region = url.searchParams.get('region') ?? undefined;
  if (region !== undefined && !regionPattern.test(region)) fail(`region "${region}" is invalid`);
  const pathStyle = url.searchParams.get('forcePathStyle');
  if (pathStyle !== null && pathStyle !== 'true' && pathStyle !== 'false') {
    fail(`forcePathStyle must be true or false, not "${pathStyle}"`);
  }
  const location: S3Location = {
    bucket,
    prefix,
    forcePathStyle: pathStyle === null ? endpoint !== undefined : pathStyle === 'true',
  };
  if (endpoint !== undefined) location.endpoint = endpoint;
  const effectiveRegion =
    region ?? (endpoint === undefined ? undefined : customEndpointDefaultRegion);
  if (effectiveRegion !== undefined) location.region = effectiveRegion;
  return location;
}

function parsePrefix(path: string, fail: (detail: string) => never): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  for (const raw of trimmed.split('/')) {
    const segment = safeDecode(raw);
    if (!prefixSegmentPattern.test(segment) || segment === '.' || segment === '..') {
      fail(`prefix segment "${segment}" must be made of A-Z a-z 0-9 . _ - (not . or ..)`);
    }
  }
  return trimmed.split('/').map(safeDecode).join('/');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a malformed escape: left as is, so the pattern check refuses it
  }
}

function parseEndpoint(
  endpoint: string | null,
  fail: (detail: string) => never,
): string | undefined {
  if (endpoint === null) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    return fail(`endpoint "${endpoint}" is not a URL (expected http://host:port)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    fail(`endpoint "${endpoint}" must be http: or https:`);
  }
  if (parsed.pathname !== '/' || parsed.search !== '') {
    fail(`endpoint "${endpoint}" must have no path or query`);
  }
  return parsed.origin;
}
