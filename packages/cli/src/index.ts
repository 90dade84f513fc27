// What other packages may use from the CLI: its bounded one-connection Kafka client, and the
// local cluster of `tributary cluster up` for tests.
export {
  KafkaConnection,
  KafkaConnectionError,
  type KafkaConnectionOptions,
} from './kafka-connection.ts';
export { parseEndpoint, type Endpoint } from './endpoint.ts';
export {
  startLocalCluster,
  type LocalCluster,
  type LocalClusterBroker,
  type LocalClusterOptions,
} from './local-cluster.ts';
export { type BrokerExit as LocalBrokerExit } from './cluster-broker-process.ts';
export { runUsersCommand, usersUsage } from './users-command.ts';
