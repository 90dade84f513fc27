// aiokafka (asyncio, its own protocol code) from the virtualenv (scripts/build-python-drivers.sh)
// through its line driver: every scenario of the full client scenario. aiokafka has no KIP-848
// consumer and its admin client has no DeleteGroups: the driver answers Unsupported to those, and
// they are recorded as such.
import { aiokafkaDriverCommand } from '../../src/index.ts';
import { fullClientScenario } from './full-scenario.ts';

fullClientScenario({
  label: 'aiokafka',
  driver: aiokafkaDriverCommand,
  // AIOKafkaProducer.send asserts "Need at least one: key or value", like kafka-python.
  capabilities: {
    timestamps: true,
    headersPerRecord: true,
    emptyDistinctFromNull: true,
    binarySafe: true,
    nullHeaderValues: true,
    nullKeyWithNullValue: false,
  },
});
