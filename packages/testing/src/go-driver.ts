/**
 * Line driver commands (DRIVER-PROTOCOL.md) for the Go clients: franz-go (kgo + kadm) and
 * IBM/sarama, two programs of the Go module in packages/testing/go that
 * packages/testing/scripts/build-go-drivers.sh builds into packages/testing/go/bin/ (git-ignored;
 * the script rebuilds only when the sources change; npm test runs it first).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DriverCommand } from './line-driver.ts';

const binDir = fileURLToPath(new URL('../go/bin/', import.meta.url));

/** The built driver binary; throws, naming the setup script, when it is missing. */
function goDriver(name: string): DriverCommand {
  const path = `${binDir}${name}`;
  if (!existsSync(path)) {
    throw new Error(
      `no Go driver at ${path}: run packages/testing/scripts/build-go-drivers.sh ` +
        '(it builds franz-driver and sarama-driver ' +
        'from packages/testing/go with the Go toolchain)',
    );
  }
  return { command: path, args: [] };
}

/** franz-go: kgo producer/consumer (classic and KIP-848 groups, transactions), kadm admin. */
export function franzGoDriverCommand(): DriverCommand {
  return goDriver('franz-driver');
}

/** IBM/sarama: SyncProducer, partition consumers, ConsumerGroup (classic only), ClusterAdmin. */
export function saramaDriverCommand(): DriverCommand {
  return goDriver('sarama-driver');
}

/**
 * franz-go's SASL and TLS check (cmd/franz-security): one run produces three records with the
 * security its flags name and reads them back, printing one JSON line (security tests).
 */
export function franzSecurityCommand(): DriverCommand {
  return goDriver('franz-security');
}
