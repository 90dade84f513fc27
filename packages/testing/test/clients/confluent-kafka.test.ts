// python3-confluent-kafka 1.7.0 (librdkafka 2.0.2, pre-flexible versions) against the broker.
import { createConfluentKafkaDriver } from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

clientScenario('python3-confluent-kafka', {
  createDriver: (bootstrap) => createConfluentKafkaDriver({ bootstrap }),
});
