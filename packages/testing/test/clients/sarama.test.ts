// IBM/sarama through its Go line driver (.ci/setup-go.sh builds it), configured for the newest
// Kafka version it knows (sarama.MaxVersion): every scenario of the full client scenario.
// sarama has no KIP-848 consumer, so its groups run the classic protocol only.
import { saramaDriverCommand } from '../../src/index.ts';
import { fullClientScenario } from './full-scenario.ts';

fullClientScenario({
  label: 'sarama',
  driver: saramaDriverCommand,
  groupProtocols: ['classic'],
});
