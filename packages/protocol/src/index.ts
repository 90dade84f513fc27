// Public surface of @tributary/protocol: generated Kafka codecs, primitives, record batches.
export * from './records/index.ts';
