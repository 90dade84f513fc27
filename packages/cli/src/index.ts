// What other packages may use from the CLI: its bounded one-connection Kafka client.
export {
  KafkaConnection,
  KafkaConnectionError,
  type KafkaConnectionOptions,
} from './kafka-connection.ts';
export { parseEndpoint, type Endpoint } from './endpoint.ts';
