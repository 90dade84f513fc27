// The Apache Kafka Java client (kafka-clients 4.x, built by .ci/setup-java.sh) through its line
// driver: every scenario of the full client scenario, consumer groups with both the classic
// protocol and KIP-848's consumer protocol (group.protocol=consumer).
import { javaDriverCommand } from '../../src/index.ts';
import { fullClientScenario } from './full-scenario.ts';

fullClientScenario({
  label: 'Java kafka-clients',
  driver: javaDriverCommand,
  groupProtocols: ['classic', 'consumer'],
});
