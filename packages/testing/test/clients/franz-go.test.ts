// franz-go (github.com/twmb/franz-go, kgo + kadm) through its Go line driver
// (scripts/build-go-drivers.sh builds it): every scenario of the full client scenario, consumer
// groups with both the classic protocol and KIP-848's consumer protocol (franz-go's
// ServerSideBalancer). Then one case the full scenario does not cover: franz-go packs a produce
// call into one batch, and a DeleteRecords offset inside that batch must survive a broker restart.
import { franzGoDriverCommand } from '../../src/index.ts';
import {
  deleteInsideBatchScenario,
  fullClientScenario,
  type FullScenarioOptions,
} from './full-scenario.ts';

const options: FullScenarioOptions = {
  label: 'franz-go',
  driver: franzGoDriverCommand,
  groupProtocols: ['classic', 'consumer'],
};

fullClientScenario(options);
deleteInsideBatchScenario(options, { key: null, values: ['a', 'b', 'c'] });
