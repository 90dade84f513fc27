/**
 * The API versions this broker advertises in ApiVersions, and therefore accepts. Each range is
 * chosen from ../shared/CLIENTS.md: what the real clients send, and the librdkafka 2.0.2 feature
 * checks that switch whole features off when a range does not overlap an exact version.
 * docs/protocol-support.md explains each choice; keep the two in step.
 */

export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

const ranges: readonly ApiVersionRange[] = [
  // Produce: v3 is the first with record batches v2; min 0 is advertised because librdkafka's
  // feature map (and KAFKA-18659) expects it; v0-2 carry message formats 0/1, refused per batch.
  // Max 11: v12 only matters for transactions v2.
  { apiKey: 0, minVersion: 0, maxVersion: 11 },
  // Fetch: v4 is the first that returns record batches v2; v13+ address topics by id.
  { apiKey: 1, minVersion: 4, maxVersion: 17 },
  // ListOffsets: librdkafka needs v1 in range for offsets-by-time.
  { apiKey: 2, minVersion: 1, maxVersion: 10 },
  { apiKey: 3, minVersion: 0, maxVersion: 12 },
  { apiKey: 18, minVersion: 0, maxVersion: 4 },
  { apiKey: 19, minVersion: 2, maxVersion: 7 },
  { apiKey: 20, minVersion: 1, maxVersion: 6 },
  { apiKey: 21, minVersion: 0, maxVersion: 2 },
  { apiKey: 32, minVersion: 1, maxVersion: 4 },
  { apiKey: 33, minVersion: 0, maxVersion: 2 },
  { apiKey: 37, minVersion: 0, maxVersion: 3 },
  { apiKey: 44, minVersion: 0, maxVersion: 1 },
  { apiKey: 60, minVersion: 0, maxVersion: 1 },
];

export const advertisedApiVersions: ReadonlyMap<number, ApiVersionRange> = new Map(
  ranges.map((range) => [range.apiKey, range]),
);
