// franz-go (github.com/twmb/franz-go, kgo + kadm) through its Go line driver (.ci/setup-go.sh
// builds it): every scenario of the full client scenario, consumer groups with both the classic
// protocol and KIP-848's consumer protocol (franz-go's ServerSideBalancer).
import { franzGoDriverCommand } from '../../src/index.ts';
import { fullClientScenario } from './full-scenario.ts';

fullClientScenario({
  label: 'franz-go',
  driver: franzGoDriverCommand,
  groupProtocols: ['classic', 'consumer'],
});
