/**
 * Apache Kafka itself as a peer (issue 14): its jars come from Maven Central only, through
 * `mvn dependency:copy-dependencies` on a generated pom, into packages/bench/.cache (git-ignored;
 * skipped when already there). `startKafka` runs one combined KRaft node (broker and controller
 * in one JVM) on free loopback ports with its log dirs in a temporary directory, formatted first
 * with a random cluster id, and hands back the same shape as a Tributary broker child so the
 * scenarios drive both with the same clients.
 *
 * Two configurations: `durable` flushes every append (`log.flush.interval.messages=1`, an fsync
 * per produce batch before the ack, like Tributary's fsync per group commit); `page-cache` keeps
 * Kafka's defaults (acked once in the page cache, flushed by the OS; Kafka relies on
 * replication, which one node does not have).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BrokerChild } from './broker-child.ts';
import { trackChild } from './broker-child.ts';
import { freePort } from './peer-servers.ts';

/** The newest Kafka release Maven Central served (with its dependencies) when this was written. */
export const kafkaVersion = '4.4.0';
const log4jVersion = '2.25.3';
const cacheDir = resolve(import.meta.dirname, `../.cache/kafka-${kafkaVersion}`);
const libDir = join(cacheDir, 'lib');
const mavenTimeoutMs = 600_000;
const formatTimeoutMs = 120_000;
const startTimeoutMs = 120_000;
const stopTimeoutMs = 30_000;
/** Heap of the broker JVM (fixed, so it does not grow into the other processes' memory). */
const heap = '1g';

export type KafkaMode = 'durable' | 'page-cache';

/** How report rows name each configuration. */
export function kafkaSystem(mode: KafkaMode): string {
  return mode === 'durable'
    ? `kafka ${kafkaVersion}, flush per message`
    : `kafka ${kafkaVersion}, page cache`;
}

function dependency(group: string, artifact: string, version: string): string {
  return (
    `<dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId>` +
    `<version>${version}</version></dependency>`
  );
}

function pom(): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tributary.bench</groupId>
  <artifactId>kafka-peer</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    ${dependency('org.apache.kafka', 'kafka_2.13', kafkaVersion)}
    ${dependency('org.apache.logging.log4j', 'log4j-slf4j-impl', log4jVersion)}
    ${dependency('org.apache.logging.log4j', 'log4j-core', log4jVersion)}
  </dependencies>
</project>
`;
}

/**
 * The classpath directory of Kafka's jars, fetched from Maven Central the first time. Throws
 * with Maven's own words when the download fails (no Maven, no network).
 */
export function ensureKafkaJars(log: (line: string) => void): string {
  if (existsSync(join(libDir, `kafka_2.13-${kafkaVersion}.jar`))) return libDir;
  // Once per run: a second configuration does not wait for a download that already failed.
  if (fetchFailure !== undefined) throw fetchFailure;
  try {
    return fetchKafkaJars(log);
  } catch (error: unknown) {
    fetchFailure = error instanceof Error ? error : new Error(String(error));
    throw fetchFailure;
  }
}

let fetchFailure: Error | undefined;

function fetchKafkaJars(log: (line: string) => void): string {
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(join(cacheDir, 'pom.xml'), pom());
  // Into a fresh directory first: an interrupted download never looks complete.
  const partial = join(cacheDir, `lib-partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  log(`kafka: fetching org.apache.kafka:kafka_2.13:${kafkaVersion} and its jars with Maven`);
  const run = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(cacheDir, 'pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${partial}`,
      '-DincludeScope=runtime',
    ],
    { encoding: 'utf8', timeout: mavenTimeoutMs },
  );
  if (run.error !== undefined || run.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    const why = run.error?.message ?? `${run.stdout}\n${run.stderr}`.trim().slice(-2_000);
    throw new Error(`Maven could not fetch Kafka ${kafkaVersion}: ${why}`);
  }
  rmSync(libDir, { recursive: true, force: true });
  renameSync(partial, libDir);
  return libDir;
}

function javaPath(): string {
  const home = process.env['JAVA_HOME'];
  if (home !== undefined && existsSync(join(home, 'bin/java'))) return join(home, 'bin/java');
  return existsSync('/usr/bin/java') ? '/usr/bin/java' : 'java';
}

function serverProperties(port: number, controllerPort: number, logDir: string, mode: KafkaMode) {
  const lines = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${logDir}`,
    // One node: the internal topics cannot have more replicas than brokers.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Groups start as soon as their first member joins, as Tributary's do.
    'group.initial.rebalance.delay.ms=0',
    ...(mode === 'durable' ? ['log.flush.interval.messages=1'] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** Root at WARN (Kafka's INFO dumps every config) but the line that says the node is up. */
const log4jConfig = `Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: INFO
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
`;

/** A cluster id as Kafka's `random-uuid` prints it: 16 random bytes, URL-safe base64. */
function clusterId(): string {
  return randomBytes(16).toString('base64url');
}

function formatStorage(lib: string, properties: string): void {
  const run = spawnSync(
    javaPath(),
    // `--cluster-id=ID` in one argument: a base64url id may start with '-', which the tool's
    // argument parser would take for an option after a separate `-t`.
    [
      '-cp',
      `${lib}/*`,
      'kafka.tools.StorageTool',
      'format',
      `--cluster-id=${clusterId()}`,
      '-c',
      properties,
    ],
    { encoding: 'utf8', timeout: formatTimeoutMs },
  );
  if (run.error !== undefined || run.status !== 0) {
    const why = run.error?.message ?? `${run.stdout}\n${run.stderr}`.trim().slice(-2_000);
    throw new Error(`kafka-storage format failed: ${why}`);
  }
}

/**
 * Starts a fresh single-node Kafka in `mode` under `dataParentDir`; `stop` ends its JVM and
 * removes its data. Throws (after cleaning up) when the jars cannot be had or it does not start.
 */
export async function startKafka(
  dataParentDir: string,
  mode: KafkaMode,
  log: (line: string) => void,
): Promise<BrokerChild> {
  const lib = ensureKafkaJars(log);
  const port = await freePort();
  const controllerPort = await freePort();
  const dir = mkdtempSync(join(dataParentDir, 'kafka-peer-'));
  const properties = join(dir, 'server.properties');
  writeFileSync(properties, serverProperties(port, controllerPort, join(dir, 'logs'), mode));
  writeFileSync(join(dir, 'log4j2.yaml'), log4jConfig);
  try {
    formatStorage(lib, properties);
  } catch (error: unknown) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const spawnedAt = performance.now();
  const child = spawn(
    javaPath(),
    [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-XX:+UseG1GC',
      `-Dlog4j2.configurationFile=${join(dir, 'log4j2.yaml')}`,
      '-cp',
      `${lib}/*`,
      'kafka.Kafka',
      properties,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  trackChild(child, true);
  let output = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  // A child that never started (no pid) has nothing to wait for.
  const gone = (): boolean =>
    child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const kill = async (): Promise<void> => {
    if (!gone()) {
      signalGroup('SIGKILL');
      await exited;
    }
  };
  const stop = async (timeoutMs = stopTimeoutMs): Promise<void> => {
    if (!gone()) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onData = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-10_000);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`kafka not ready in ${startTimeoutMs} ms:\n${output}`)),
        startTimeoutMs,
      );
      const check = (): void => {
        if (!/Kafka Server started/.test(output)) return;
        clearTimeout(timer);
        resolvePromise();
      };
      child.stdout.on('data', check);
      // No java on PATH: say so instead of an unhandled 'error' event.
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`kafka exited (${code ?? signal}) before ready:\n${output}`));
      });
    });
  } catch (error: unknown) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    pid: child.pid ?? 0,
    bootstrap: `127.0.0.1:${port}`,
    readyMs: performance.now() - spawnedAt,
    logTail: () => output,
    stop,
    kill,
  };
}
