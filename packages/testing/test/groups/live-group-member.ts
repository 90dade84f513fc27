/**
 * A python3-confluent-kafka group member running in its own process for as long as the test wants
 * (drivers/group_member_stream.py), watched through the events it streams: the test can wait for
 * an assignment, SIGKILL the member mid-flight (a crash: no commit, no LeaveGroup) or SIGTERM it
 * (a clean close). Every member started here must be ended by `end()` in an after hook, which is
 * safe to call twice and after the process already exited.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { systemPython } from '../../src/index.ts';

const script = fileURLToPath(new URL('../../drivers/group_member_stream.py', import.meta.url));
const stopGraceMs = 10_000;

export interface LiveMemberOptions {
  readonly bootstrap: string;
  readonly group: string;
  readonly topic: string;
  readonly name: string;
  /** librdkafka partition.assignment.strategy, e.g. 'cooperative-sticky'. */
  readonly strategy?: string;
  readonly sessionTimeoutMs?: number;
}

export interface MemberRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string | null;
}

export interface AssignmentChange {
  readonly kind: 'assigned' | 'revoked';
  readonly partitions: readonly number[];
  /** Wall-clock milliseconds when the member's callback ran. */
  readonly atMs: number;
}

export interface LiveMember {
  readonly name: string;
  readonly records: MemberRecord[];
  readonly changes: AssignmentChange[];
  /** The partitions the member owns now: everything assigned minus everything revoked. */
  assignment(): number[];
  /** True once the member closed cleanly after SIGTERM. */
  closed(): boolean;
  /** SIGKILL: the member vanishes without committing or leaving the group. */
  crash(): Promise<void>;
  /** SIGTERM and wait for the clean close; SIGKILL if it takes more than a few seconds. */
  end(): Promise<void>;
  stderrTail(): string;
}

export function startLiveGroupMember(options: LiveMemberOptions): LiveMember {
  const child = spawn(systemPython, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const records: MemberRecord[] = [];
  const changes: AssignmentChange[] = [];
  let closed = false;
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = parseEvent(line);
    if (event === null) return;
    if (event.event === 'record') records.push(event as unknown as MemberRecord);
    else if (event.event === 'closed') closed = true;
    else if (event.event === 'assigned' || event.event === 'revoked') {
      const partitions = event['partitions'] as number[];
      changes.push({ kind: event.event, partitions, atMs: Number(event['t']) * 1000 });
    }
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(
    `${JSON.stringify({
      bootstrap: options.bootstrap,
      group: options.group,
      topic: options.topic,
      name: options.name,
      strategy: options.strategy ?? null,
      session_timeout_ms: options.sessionTimeoutMs ?? 6000,
    })}\n`,
  );
  return {
    name: options.name,
    records,
    changes,
    assignment: () => currentAssignment(changes),
    closed: () => closed,
    crash: async () => {
      signal(child, 'SIGKILL');
      await exited;
    },
    end: () => endChild(child, exited),
    stderrTail: () => stderr,
  };
}

function parseEvent(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function currentAssignment(changes: readonly AssignmentChange[]): number[] {
  const owned = new Set<number>();
  for (const change of changes) {
    for (const partition of change.partitions) {
      if (change.kind === 'assigned') owned.add(partition);
      else owned.delete(partition);
    }
  }
  return [...owned].toSorted((a, b) => a - b);
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(name);
}

async function endChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  signal(child, 'SIGTERM');
  const timer = setTimeout(() => signal(child, 'SIGKILL'), stopGraceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Polls `check` every 50 ms until it holds; throws naming `what` after `timeoutMs` (a function
 * when the name should show the state at that moment).
 */
export async function waitUntil(
  check: () => boolean,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
