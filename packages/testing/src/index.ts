// Public surface of @tributary/testing: processes, temp dirs and real-client drivers for tests.
export {
  allCompressions,
  type ClientCapabilities,
  type ClientDriver,
  type ClientDriverOptions,
  type ClientHeader,
  type ConsumedRecord,
  type DriverOperation,
  type ProduceOptions,
  type ProduceRecord,
} from './client-driver.ts';
export {
  clientCell,
  compatibilityClients,
  compatibilityResultsPath,
  compatibilityScenarios,
  driverCell,
  recordStep,
  recordUnsupported,
  type CompatibilityCell,
  type CompatibilityClient,
  type CompatibilityLine,
  type StepResult,
} from './compatibility-record.ts';
export { franzGoDriverCommand, franzSecurityCommand, saramaDriverCommand } from './go-driver.ts';
export { hookedFixture, type HookedFixtureOptions } from './hooked-fixture.ts';
export {
  javaClasspath,
  javaCommand,
  javaDriverCommand,
  javaWordCountMainClass,
} from './java-driver.ts';
export { createKafkajsDriver, registerKafkajsCodecs } from './kafkajs-driver.ts';
export { createKcatDriver, kcatPath, type KcatDriverOptions } from './kcat-driver.ts';
export {
  LineClientDriver,
  LineDriverError,
  LineDriverProcess,
  type CommittedOffset,
  type DriverCommand,
  type GroupDescription,
  type GroupListing,
  type GroupRecord,
  type IsolationLevel,
  type LineClientDriverOptions,
  type PollResult,
  type SubscribeOptions,
  type TopicPartition,
  type TopicPartitionOffset,
  type TransactionSpec,
} from './line-driver.ts';
export { createPlatformaticDriver } from './platformatic-driver.ts';
export {
  startPostgresServer,
  type PostgresServer,
  type PostgresServerOptions,
} from '@tributary/local-services';
export {
  createConfluentKafkaDriver,
  createKafkaPythonDriver,
  runPythonDriver,
  systemPython,
} from './python-client-driver.ts';
export { aiokafkaDriverCommand, confluentKafkaLineDriverCommand } from './python-venv-driver.ts';
export { runCommand, type CommandResult, type RunCommandOptions } from './run-command.ts';
export {
  metricValue,
  printedMetricsUrl,
  scrapeMetric,
  type MetricLabels,
} from './scrape-metric.ts';
export {
  startS3Server,
  weedPath,
  type S3Server,
  type S3ServerOptions,
} from '@tributary/local-services';
export {
  cliMainPath,
  RestartableBroker,
  spawnBroker,
  type BrokerExit,
  type SpawnBrokerOptions,
  type SpawnedBroker,
} from './spawn-broker.ts';
export { tempDir, type TempDir } from './temp-dir.ts';
export {
  makeTestCertificates,
  type CertificateFiles,
  type TestCertificates,
} from './test-certificates.ts';
export { stablePort } from '@tributary/local-services';
export { startTestCluster, type TestCluster, type TestClusterOptions } from './test-cluster.ts';
