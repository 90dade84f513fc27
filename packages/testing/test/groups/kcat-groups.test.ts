// kcat -G (librdkafka 2.0.2's balanced KafkaConsumer behind a command-line tool): two kcat
// processes share a six-partition topic and together read every record, and after they close
// (SIGTERM: kcat commits and leaves) a later kcat in the same group reads only what came after.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import {
  clientCell,
  compatibilityScenarios,
  kcatPath,
  recordStep,
  runCommand,
  tempDir,
} from '../../src/index.ts';
import { produceValues, startGroupBroker } from './group-helpers.ts';
import { waitUntil } from './live-group-member.ts';

const stopGraceMs = 10_000;
const cell = () => clientCell('kcat', compatibilityScenarios.classicGroup);

function kcatArgs(bootstrap: string, group: string, topic: string): string[] {
  return [
    '-b',
    bootstrap,
    '-G',
    group,
    '-u',
    '-f',
    '%p\\t%o\\t%s\\n',
    '-X',
    'auto.offset.reset=earliest',
    '-X',
    'auto.commit.interval.ms=200',
    '-X',
    'session.timeout.ms=6000',
    '-X',
    'heartbeat.interval.ms=500',
    topic,
  ];
}

interface KcatMember {
  readonly values: string[];
  /** The partitions of the last "assigned" rebalance, emptied by "revoked". */
  assignment: number[];
  stderr: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

function startKcat(args: readonly string[]): KcatMember {
  const child = spawn(kcatPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const member: KcatMember = { values: [], assignment: [], stderr: '', child, exited };
  createInterface({ input: child.stdout }).on('line', (line) => {
    member.values.push(line.split('\t')[2] ?? '');
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    member.stderr = `${member.stderr}${line}\n`.slice(-8000);
    const assigned = /rebalanced.*: assigned: (.*)$/.exec(line);
    if (assigned !== null) {
      const partitions = [...(assigned[1] ?? '').matchAll(/\[(\d+)\]/g)];
      member.assignment = partitions.map((match) => Number(match[1])).toSorted((a, b) => a - b);
    } else if (/rebalanced.*: revoked/.test(line)) member.assignment = [];
  });
  return member;
}

async function stopKcat(member: KcatMember): Promise<void> {
  const { child } = member;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
  await member.exited;
  clearTimeout(timer);
}

function describe(members: readonly KcatMember[]): string {
  return members
    .map((m, i) => `kcat ${i}: ${JSON.stringify(m.assignment)} ${m.values.length}\n${m.stderr}`)
    .join('\n');
}

test('two kcat -G consumers share six partitions, read everything and commit', (t) =>
  recordStep(t, cell, async () => {
    const dir = await tempDir('groups-kcat');
    const broker = await startGroupBroker(dir.path);
    const members: KcatMember[] = [];
    t.after(async () => {
      await Promise.all(members.map(stopKcat));
      await broker.close();
      await dir.remove();
    });
    const first = Array.from({ length: 6 }, (_, i) => `first-${i}`);
    await produceValues(broker.bootstrap, 'kc', 6, first);
    const args = kcatArgs(broker.bootstrap, 'g-kcat', 'kc');
    members.push(startKcat(args), startKcat(args));
    await waitUntil(
      () => members.every((m) => m.assignment.length === 3),
      20_000,
      () => `both kcats to own three partitions\n${describe(members)}`,
    );
    assert.deepEqual(members.flatMap((m) => m.assignment).toSorted(), [0, 1, 2, 3, 4, 5]);
    // Written once the group is stable, so each kcat reads the records of its own partitions.
    const second = Array.from({ length: 60 }, (_, i) => `second-${i}`);
    await produceValues(broker.bootstrap, 'kc', 6, second, false);
    const everything = [...first, ...second].toSorted();
    const seen = (): Set<string> => new Set(members.flatMap((m) => m.values));
    await waitUntil(
      () => seen().size === everything.length,
      15_000,
      () => `every record\n${describe(members)}`,
    );
    assert.deepEqual([...seen()].toSorted(), everything);
    for (const member of members) {
      const fresh = member.values.filter((value) => value.startsWith('second-'));
      assert.equal(fresh.length, 30, describe(members));
    }
    await Promise.all(members.map(stopKcat));

    const third = Array.from({ length: 6 }, (_, i) => `third-${i}`);
    await produceValues(broker.bootstrap, 'kc', 6, third, false);
    const later = await runCommand(kcatPath, ['-e', '-q', ...args], { timeoutMs: 30_000 });
    assert.equal(later.timedOut, false, later.stderr);
    const values = later.stdout.split('\n').filter((line) => line !== '');
    assert.deepEqual(values.map((line) => line.split('\t')[2]).toSorted(), third.toSorted());
  }));
