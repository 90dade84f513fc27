/**
 * The WAL's sync point: one small file (`wal-sync-point` beside `wal/`, docs/FORMATS.md) saying
 * "segment S was synced up to byte P". The commit loop rewrites it whenever it goes idle, after
 * the last group's sync returned, so recovery knows that even the last write group was durable
 * (and acknowledged): damage before P is corruption, not a torn tail. Between two rewrites it
 * lags behind, which is safe: it never claims more than was synced. The file is one frame (crc
 * checked); a torn or unreadable sync point is ignored, and recovery falls back to the entries'
 * syncedPosition.
 */
import { FrameType, encodeFrameBuffer, readFrame } from './frame.ts';

export interface SyncPoint {
  segmentId: number;
  position: number;
}

const bodyBytes = 12;

export function encodeSyncPoint(point: SyncPoint): Buffer {
  const body = Buffer.alloc(bodyBytes);
  body.writeBigUInt64BE(BigInt(point.segmentId), 0);
  body.writeUInt32BE(point.position, 8);
  return encodeFrameBuffer(FrameType.syncPoint, body);
}

/** The sync point in `data`, or undefined when it is missing, torn or not a sync point. */
export function decodeSyncPoint(data: Buffer | undefined): SyncPoint | undefined {
  if (data === undefined) return undefined;
  const frame = readFrame(data, 0);
  if (frame.kind !== 'frame' || frame.type !== FrameType.syncPoint) return undefined;
  if (frame.body.length !== bodyBytes) return undefined;
  return {
    segmentId: Number(frame.body.readBigUInt64BE(0)),
    position: frame.body.readUInt32BE(8),
  };
}
