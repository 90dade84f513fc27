// Record batches v2: header layout and validation, the record codec, CRC32C and compression.
export {
  compress,
  compressionCodes,
  compressionTypeOf,
  decompress,
  type CompressionType,
} from './compression.ts';
export {
  buildControlBatch,
  readControlRecordType,
  type ControlBatchOptions,
  type ControlRecordType,
} from './control-batch.ts';
export { crc32c } from './crc32c.ts';
export {
  RecordBatchError,
  RecordErrorCode,
  type BatchError,
  type RecordBatchErrorCode,
} from './record-batch-error.ts';
export * from './record-batch.ts';
export {
  buildRecordBatch,
  decodeRecords,
  findKeylessRecords,
  findOffsetForTimestamp,
  retainRecords,
  type BuildBatchOptions,
  type DecodeOptions,
  type KafkaRecord,
  type KeylessRecords,
  type RecordHeader,
  type RecordInput,
} from './records.ts';
