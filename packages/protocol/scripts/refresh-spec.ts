/**
 * Replaces the vendored Kafka message definitions in packages/protocol/spec/ with those of a
 * given Apache Kafka release, taken from that release's `kafka-clients` jar on Maven Central
 * (the jar carries `common/message/*.json`, its LICENSE and NOTICE). The 4.x files go to spec/,
 * the files of the last 3.x release (for the versions Kafka 4.0 removed) to spec/legacy-3.9.0/,
 * and spec/VERSION records both. Run `npm run generate` afterwards and review the codec diff.
 *
 *   node packages/protocol/scripts/refresh-spec.ts --kafka-version 4.1.1
 *
 * Needs `unzip` on PATH and access to Maven Central. Nothing is changed unless both jars were
 * downloaded and unpacked.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { legacySpecDirectory, specDirectory } from './spec-directory.ts';

const legacyKafkaVersion = '3.9.0';
const mavenCentral = 'https://repo1.maven.org/maven2/org/apache/kafka/kafka-clients';
const usage = `usage: node packages/protocol/scripts/refresh-spec.ts --kafka-version VERSION

Replaces packages/protocol/spec/ with the message definitions of Apache Kafka VERSION (from the
kafka-clients jar on Maven Central); legacy-3.9.0/ is refreshed from kafka-clients
${legacyKafkaVersion}.
`;

async function downloadJar(version: string, directory: string): Promise<string> {
  const url = `${mavenCentral}/${version}/kafka-clients-${version}.jar`;
  process.stdout.write(`downloading ${url}\n`);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} (is ${version} released?)`);
  const path = join(directory, `kafka-clients-${version}.jar`);
  writeFileSync(path, Buffer.from(await response.arrayBuffer()));
  return path;
}

function unpackMessages(jar: string, into: string): string {
  execFileSync('unzip', ['-q', '-o', jar, 'common/message/*', 'LICENSE', 'NOTICE', '-d', into]);
  const messages = join(into, 'common/message');
  const count = readdirSync(messages).filter((file) => file.endsWith('.json')).length;
  if (count === 0) throw new Error(`${jar} holds no common/message/*.json`);
  return messages;
}

function replaceJsonFiles(from: string, to: string): number {
  for (const file of readdirSync(to)) if (file.endsWith('.json')) rmSync(join(to, file));
  const files = readdirSync(from).filter((file) => file.endsWith('.json'));
  for (const file of files) cpSync(join(from, file), join(to, file));
  return files.length;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'kafka-version': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    process.stdout.write(usage);
    return;
  }
  const version = values['kafka-version'];
  if (version === undefined) {
    process.stderr.write(usage);
    process.exitCode = 2;
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'kafka-spec-'));
  try {
    const current = unpackMessages(await downloadJar(version, work), join(work, 'current'));
    const legacyJar = await downloadJar(legacyKafkaVersion, work);
    const legacy = unpackMessages(legacyJar, join(work, 'legacy'));
    const currentCount = replaceJsonFiles(current, specDirectory);
    const legacyCount = replaceJsonFiles(legacy, legacySpecDirectory);
    cpSync(join(current, 'README.md'), join(specDirectory, 'MESSAGE-FORMAT.md'));
    cpSync(join(work, 'current', 'LICENSE'), join(specDirectory, 'LICENSE'));
    cpSync(join(work, 'current', 'NOTICE'), join(specDirectory, 'NOTICE'));
    writeFileSync(
      join(specDirectory, 'VERSION'),
      `kafka ${version} (kafka-clients-${version}.jar, common/message/)\n` +
        `legacy-3.9.0: kafka ${legacyKafkaVersion} (kafka-clients-${legacyKafkaVersion}.jar)\n`,
    );
    process.stdout.write(
      `spec/: ${currentCount} files from Kafka ${version}; legacy-3.9.0/: ${legacyCount} files\n` +
        'now run npm run generate and review the codec changes\n',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
