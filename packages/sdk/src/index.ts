// Public surface of @tributary/sdk: write event-driven services on any Kafka-compatible cluster.
export {
  CloudEventFormatError,
  structuredContentType,
  type CloudEvent,
  type CloudEventAttributes,
  type CloudEventsMode,
  type KafkaRecord,
} from './cloud-event.ts';
export { EventCodec, type EncodeOptions } from './event-codec.ts';
export {
  defineEvent,
  EventValidationError,
  type AvroEventDefinition,
  type EventContract,
  type EventDefinition,
  type JsonEventDefinition,
  type SchemaFormat,
  type ValidationProblem,
} from './event-contract.ts';
export {
  EventProducer,
  type EventProducerOptions,
  type PublishedEvent,
  type PublishOptions,
  type TopicRecord,
} from './event-producer.ts';
export { ensureTopics, type KafkaConnection } from './kafka-connection.ts';
export {
  frameWireFormat,
  SchemaRegistryClient,
  SchemaRegistryError,
  unframeWireFormat,
  type RegisteredSchema,
} from './schema-registry-client.ts';
export { activeTraceHeaders, contextFromTraceHeaders, type TraceHeaders } from './trace-context.ts';
export { type ConsumedRecord, type PartitionLag } from './consumer-loop.ts';
export {
  EventConsumer,
  type ConsumerCounts,
  type ConsumerHealth,
  type ConsumerStatus,
  type EventConsumerOptions,
  type EventHandler,
  type HandlerContext,
} from './event-consumer.ts';
export {
  deadLetterHeaders,
  deadLetterTopic,
  originHeaders,
  retryHeaders,
  retryTopic,
} from './failure-headers.ts';
export { processedEventsTable } from './processed-events.ts';
export {
  createOutboxTable,
  Outbox,
  OutboxRelay,
  outboxTable,
  type OutboxRelayOptions,
} from './outbox.ts';
export { createProcessedEventsTable } from './processed-events.ts';
export {
  readDeadLetters,
  redriveDeadLetters,
  redriveGroup,
  type DeadLetter,
  type RedriveOptions,
} from './dead-letters.ts';
export { seedGroupOffsets, type PartitionProgress, type ReplayProgress } from './replay.ts';
export {
  EventTransformer,
  type EventTransformerOptions,
  type TransformContext,
  type TransformHandler,
} from './event-transformer.ts';
