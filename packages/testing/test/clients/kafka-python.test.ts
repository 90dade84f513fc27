// kafka-python 2.0.2 (ApiVersions v0, Produce v7, Fetch v4, Metadata v1) against the broker.
// Codecs beyond gzip depend on python3-snappy/-lz4/-zstandard; the test prints which it used.
import {
  clientCell,
  compatibilityClients,
  compatibilityScenarios,
  createKafkaPythonDriver,
  driverCell,
  recordUnsupported,
} from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

clientScenario(compatibilityClients.kafkaPython.client, {
  createDriver: (bootstrap) => createKafkaPythonDriver({ bootstrap }),
  cell: driverCell('kafkaPython'),
});

const { consumerGroup, idempotence, transactions } = compatibilityScenarios;
recordUnsupported(
  clientCell('kafkaPython', consumerGroup),
  'KIP-848 consumer group',
  'kafka-python 2.0.2 has no group.protocol=consumer (KIP-848)',
);
recordUnsupported(
  clientCell('kafkaPython', idempotence),
  'idempotent produce',
  'kafka-python 2.0.2 has no idempotent producer',
);
recordUnsupported(
  clientCell('kafkaPython', transactions),
  'transactional produce',
  'kafka-python 2.0.2 has no transactional producer; its consumer reads uncommitted only',
);
