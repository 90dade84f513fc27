// The current confluent-kafka from PyPI, on the librdkafka its wheel bundles (2.16), through the
// line driver in the virtualenv (scripts/build-python-drivers.sh): every scenario of the full
// client scenario, consumer groups with both the classic protocol and KIP-848
// (group.protocol=consumer), then DeleteRecords inside a batch and a restart (found with this
// client).
import { confluentKafkaLineDriverCommand } from '../../src/index.ts';
import {
  deleteInsideBatchScenario,
  fullClientScenario,
  type FullScenarioOptions,
} from './full-scenario.ts';

const options: FullScenarioOptions = {
  label: 'confluent-kafka (Python)',
  driver: confluentKafkaLineDriverCommand,
  groupProtocols: ['classic', 'consumer'],
};

fullClientScenario(options);
// librdkafka sends both records as one batch.
deleteInsideBatchScenario(options, { key: Buffer.from('k'), values: ['first', 'second'] });
