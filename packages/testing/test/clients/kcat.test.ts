// kcat 1.7.1 (librdkafka 2.0.2) against the broker. kcat has no admin API: topic creation,
// configs and deletion go through python3-confluent-kafka, the same librdkafka.
import { createConfluentKafkaDriver, createKcatDriver } from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

clientScenario('kcat', {
  createDriver: (bootstrap) =>
    createKcatDriver({ bootstrap, admin: createConfluentKafkaDriver({ bootstrap }) }),
});
