// kafkajs 2.2.4 against the broker, in process; snappy/lz4/zstd use the project's codecs.
import {
  clientCell,
  compatibilityClients,
  compatibilityScenarios,
  createKafkajsDriver,
  driverCell,
  recordUnsupported,
} from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

clientScenario(compatibilityClients.kafkajs.client, {
  createDriver: (bootstrap) => createKafkajsDriver({ bootstrap }),
  cell: driverCell('kafkajs'),
});

recordUnsupported(
  clientCell('kafkajs', compatibilityScenarios.consumerGroup),
  'KIP-848 consumer group',
  'kafkajs 2.2.4 has no KIP-848 consumer protocol (ConsumerGroupHeartbeat)',
);
