/** The admin commands' connection to a broker: the broker package's KafkaConnection. */
export {
  KafkaConnection,
  KafkaConnectionError,
  type KafkaConnectionOptions,
} from '@tributary/broker';
