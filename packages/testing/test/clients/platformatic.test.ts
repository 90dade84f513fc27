// @platformatic/kafka 2.12 (flexible versions) against the broker, in process.
import { createPlatformaticDriver } from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

clientScenario('@platformatic/kafka', {
  createDriver: (bootstrap) => createPlatformaticDriver({ bootstrap }),
});
