/**
 * The pure half of `groups reset-offsets`: which offset each partition moves to. The caller
 * looks up the partition's committed offset, log start and log end (and, for the time-based
 * resets, the first offset at or after the wanted timestamp); this module picks the target and
 * clamps it to [log start, log end], as kafka-consumer-groups does, so no reset can point a
 * group outside its log.
 */

export type ResetSpec =
  | { readonly kind: 'to-earliest' }
  | { readonly kind: 'to-latest' }
  | { readonly kind: 'to-datetime'; readonly timestampMs: bigint }
  | { readonly kind: 'by-duration'; readonly durationMs: number }
  | { readonly kind: 'to-offset'; readonly offset: bigint }
  | { readonly kind: 'shift-by'; readonly shift: bigint };

export interface PartitionPosition {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset, or null when it has none. */
  readonly committedOffset: bigint | null;
  readonly logStartOffset: bigint;
  readonly logEndOffset: bigint;
  /** For time-based resets: the first offset with a timestamp at or after the target, or null. */
  readonly offsetForTimestamp?: bigint | null;
}

/** The timestamp a time-based reset looks up, or null for the other kinds. */
export function resetTimestampMs(spec: ResetSpec, nowMs: number): bigint | null {
  if (spec.kind === 'to-datetime') return spec.timestampMs;
  if (spec.kind === 'by-duration') return BigInt(nowMs - spec.durationMs);
  return null;
}

/** The new offset for one partition; throws when --shift-by has no committed offset to shift. */
export function planResetOffset(spec: ResetSpec, position: PartitionPosition): bigint {
  const { logStartOffset, logEndOffset } = position;
  let target: bigint;
  switch (spec.kind) {
    case 'to-earliest':
      target = logStartOffset;
      break;
    case 'to-latest':
      target = logEndOffset;
      break;
    case 'to-datetime':
    case 'by-duration':
      // No record at or after the time: the group starts at the end, as Kafka's tool does.
      target = position.offsetForTimestamp ?? logEndOffset;
      break;
    case 'to-offset':
      target = spec.offset;
      break;
    case 'shift-by':
      if (position.committedOffset === null) {
        throw new Error(
          `cannot shift ${position.topic}-${position.partition}: the group has no committed offset`,
        );
      }
      target = position.committedOffset + spec.shift;
      break;
  }
  if (target < logStartOffset) return logStartOffset;
  if (target > logEndOffset) return logEndOffset;
  return target;
}
