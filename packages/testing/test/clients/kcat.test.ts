// kcat 1.7.1 (librdkafka 2.0.2) against the broker. kcat has no admin API: topic creation,
// configs and deletion go through python3-confluent-kafka, the same librdkafka.
import {
  clientCell,
  compatibilityClients,
  compatibilityScenarios,
  createConfluentKafkaDriver,
  createKcatDriver,
  driverCell,
  recordUnsupported,
} from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

clientScenario(compatibilityClients.kcat.client, {
  createDriver: (bootstrap) =>
    createKcatDriver({ bootstrap, admin: createConfluentKafkaDriver({ bootstrap }) }),
  cell: driverCell('kcat'),
});

recordUnsupported(
  clientCell('kcat', compatibilityScenarios.consumerGroup),
  'KIP-848 consumer group',
  'librdkafka 2.0.2 has no group.protocol=consumer (KIP-848)',
);
recordUnsupported(
  clientCell('kcat', compatibilityScenarios.groupAdmin),
  'DeleteRecords, ListGroups, DescribeGroups, DeleteGroups',
  'kcat has no admin API: no DeleteRecords, no group listing or deletion',
);
