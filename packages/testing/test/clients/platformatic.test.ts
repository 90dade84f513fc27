// @platformatic/kafka 2.12 (flexible versions) against the broker, in process.
import { compatibilityClients, createPlatformaticDriver, driverCell } from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

clientScenario(compatibilityClients.platformatic.client, {
  createDriver: (bootstrap) => createPlatformaticDriver({ bootstrap }),
  cell: driverCell('platformatic'),
});
