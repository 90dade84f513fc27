/**
 * Commands that run the Java test drivers in packages/testing/java, which
 * packages/testing/scripts/build-java-drivers.sh builds (npm test runs it first):
 * the Apache Kafka Java client behind the line protocol (DRIVER-PROTOCOL.md), the Kafka Streams
 * word count, and Kafka's command-line tools by class name. Nothing is built at test time: when
 * the classpath is missing, these throw and say which script builds it.
 *
 * The JVM gets start-up friendly flags (C1 only, serial GC, a modest heap): the tests start many
 * short JVMs on a 2-core machine, where peak JIT throughput does not pay for itself.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DriverCommand } from './line-driver.ts';

export const javaDriverMainClass = 'dev.tributary.testing.LineDriver';
export const javaWordCountMainClass = 'dev.tributary.testing.WordCount';

const javaModuleDir = fileURLToPath(new URL('../java/', import.meta.url));
const jvmHeapMaxMb = 512;
const jvmFlags = [
  `-Xmx${jvmHeapMaxMb}m`,
  '-Xss1m',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Djava.awt.headless=true',
];

/** target/classes and every jar in target/lib; throws when the module is not built. */
export function javaClasspath(): string {
  const classes = join(javaModuleDir, 'target', 'classes');
  const lib = join(javaModuleDir, 'target', 'lib');
  const driverClass = join(classes, ...javaDriverMainClass.split('.')) + '.class';
  if (!existsSync(driverClass) || !existsSync(lib)) {
    throw new Error(
      `the Java drivers are not built (no ${driverClass}): ` +
        'run packages/testing/scripts/build-java-drivers.sh first',
    );
  }
  return `${classes}:${join(lib, '*')}`;
}

/** The `java` of JAVA_HOME when set, else the one on PATH. */
export function javaExecutable(): string {
  const home = process.env['JAVA_HOME'];
  return home === undefined || home === '' ? 'java' : join(home, 'bin', 'java');
}

/** `java <flags> -cp <classpath> <mainClass> <args>`, for the drivers and for Kafka's tools. */
export function javaCommand(mainClass: string, args: readonly string[] = []): DriverCommand {
  return {
    command: javaExecutable(),
    args: [...jvmFlags, '-cp', javaClasspath(), mainClass, ...args],
  };
}

/** The Java client's line-protocol driver (it takes no arguments: commands carry bootstrap). */
export function javaDriverCommand(): DriverCommand {
  return javaCommand(javaDriverMainClass);
}
