/**
 * Line driver commands (DRIVER-PROTOCOL.md) for the current Python clients, which live in the
 * virtualenv packages/testing/.venv that scripts/build-python-drivers.sh (npm test runs it first)
 * builds from drivers/requirements.txt: confluent-kafka from PyPI (its wheel bundles a recent
 * librdkafka) and aiokafka. Debian's older clients keep their one-shot drivers in
 * python-client-driver.ts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DriverCommand } from './line-driver.ts';

const testingDir = fileURLToPath(new URL('../', import.meta.url));
const venvPython = `${testingDir}.venv/bin/python`;
const driversDir = `${testingDir}drivers/`;

/** The virtualenv's interpreter; throws, naming the setup script, when the venv is missing. */
export function venvPythonPath(): string {
  if (!existsSync(venvPython)) {
    throw new Error(
      `no Python virtualenv at ${venvPython}: run ` +
        'packages/testing/scripts/build-python-drivers.sh (it installs the pinned ' +
        'confluent-kafka and aiokafka from packages/testing/drivers/requirements.txt)',
    );
  }
  return venvPython;
}

function venvDriver(script: string): DriverCommand {
  // -u: unbuffered, so an answer line reaches the test as soon as it is written.
  return { command: venvPythonPath(), args: ['-u', `${driversDir}${script}`] };
}

/** confluent-kafka (PyPI) on its bundled librdkafka, including KIP-848 consumer groups. */
export function confluentKafkaLineDriverCommand(): DriverCommand {
  return venvDriver('confluent_line_driver.py');
}

/** aiokafka (asyncio); classic consumer groups only, as aiokafka has no KIP-848. */
export function aiokafkaDriverCommand(): DriverCommand {
  return venvDriver('aiokafka_line_driver.py');
}
