// Public surface of @tributary/testing: processes, temp dirs and real-client drivers for tests.
export {
  allCompressions,
  type ClientCapabilities,
  type ClientDriver,
  type ClientHeader,
  type ConsumedRecord,
  type DriverOperation,
  type ProduceOptions,
  type ProduceRecord,
} from './client-driver.ts';
export {
  createKafkajsDriver,
  registerKafkajsCodecs,
  type KafkajsDriverOptions,
} from './kafkajs-driver.ts';
export { createKcatDriver, kcatPath, type KcatDriverOptions } from './kcat-driver.ts';
export { createPlatformaticDriver, type PlatformaticDriverOptions } from './platformatic-driver.ts';
export {
  createConfluentKafkaDriver,
  createKafkaPythonDriver,
  runPythonDriver,
  systemPython,
  type PythonDriverOptions,
} from './python-client-driver.ts';
export { runCommand, type CommandResult, type RunCommandOptions } from './run-command.ts';
export {
  cliMainPath,
  spawnBroker,
  type BrokerExit,
  type SpawnBrokerOptions,
  type SpawnedBroker,
} from './spawn-broker.ts';
export { tempDir, type TempDir } from './temp-dir.ts';
