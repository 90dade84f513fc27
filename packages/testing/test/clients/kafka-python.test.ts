// kafka-python 2.0.2 (ApiVersions v0, Produce v7, Fetch v4, Metadata v1) against the broker.
// Codecs beyond gzip depend on python3-snappy/-lz4/-zstandard; the test prints which it used.
import { createKafkaPythonDriver } from '../../src/index.ts';
import { clientScenario } from './client-scenario.ts';

clientScenario('kafka-python', {
  createDriver: (bootstrap) => createKafkaPythonDriver({ bootstrap }),
});
