// python3-confluent-kafka 1.7.0 (librdkafka 2.0.2, pre-flexible versions) against the broker.
import {
  clientCell,
  compatibilityClients,
  compatibilityScenarios,
  createConfluentKafkaDriver,
  driverCell,
  recordUnsupported,
} from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

clientScenario(compatibilityClients.confluentKafka.client, {
  createDriver: (bootstrap) => createConfluentKafkaDriver({ bootstrap }),
  cell: driverCell('confluentKafka'),
});

const { consumerGroup, groupAdmin } = compatibilityScenarios;
recordUnsupported(
  clientCell('confluentKafka', consumerGroup),
  'KIP-848 consumer group',
  'librdkafka 2.0.2 has no group.protocol=consumer (KIP-848)',
);
recordUnsupported(
  clientCell('confluentKafka', groupAdmin),
  'DeleteRecords, DescribeGroups, DeleteGroups',
  'the AdminClient of python3-confluent-kafka 1.7.0 has no delete_records, ' +
    'describe_consumer_groups or delete_consumer_groups',
);
