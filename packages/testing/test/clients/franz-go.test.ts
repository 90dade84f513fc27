// franz-go (github.com/twmb/franz-go, kgo + kadm) through its Go line driver
// (scripts/build-go-drivers.sh builds it): every scenario of the full client scenario, consumer
// groups with both the classic protocol and KIP-848's consumer protocol (franz-go's
// ServerSideBalancer). Then one case the full scenario does not cover: franz-go packs a produce
// call into one batch, and a DeleteRecords offset inside that batch must survive a broker restart.
import { franzGoDriverCommand } from '../../src/index.ts';
import { deleteInsideBatchScenario } from './delete-inside-batch.ts';
import { fullClientScenario } from './full-scenario.ts';

fullClientScenario({
  label: 'franz-go',
  driver: franzGoDriverCommand,
  groupProtocols: ['classic', 'consumer'],
});

deleteInsideBatchScenario({
  label: 'franz-go',
  driver: franzGoDriverCommand,
  key: null,
  values: ['a', 'b', 'c'],
});
