// Public surface of @tributary/protocol: generated Kafka codecs, primitives, record batches.
export * from './records/index.ts';
export * from './generated/index.ts';
export type { AnyApiDescriptor, ApiDescriptor } from './api-descriptor.ts';
export { ErrorCode, errorMessage, errorName, isRetriable } from './error-codes.ts';
export { requestHeaderVersion, responseHeaderVersion } from './headers.ts';
export { ProtocolError } from './protocol-error.ts';
export { encodeRequestFrame } from './request-frame.ts';
export { Reader, emptyBuffer, readItem, zeroUuid, type ElementReader } from './reader.ts';
export {
  Writer,
  writeItem,
  writeRawCopyMaxBytes,
  type ElementWriter,
  type RecordsInit,
} from './writer.ts';
