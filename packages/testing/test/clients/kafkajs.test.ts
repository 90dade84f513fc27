// kafkajs 2.2.4 against the broker, in process; snappy/lz4/zstd use the project's codecs.
import { createKafkajsDriver } from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

clientScenario('kafkajs', { createDriver: (bootstrap) => createKafkajsDriver({ bootstrap }) });
