// IBM/sarama through its Go line driver (scripts/build-go-drivers.sh builds it), configured for the
// newest Kafka version it knows (sarama.MaxVersion): every scenario of the full client scenario.
// sarama has no KIP-848 consumer: its driver answers Unsupported to that group scenario.
import { saramaDriverCommand } from '../../src/index.ts';
import { fullClientScenario } from './full-scenario.ts';

fullClientScenario({
  label: 'sarama',
  driver: saramaDriverCommand,
});
