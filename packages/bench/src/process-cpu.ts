/**
 * CPU time of another process from /proc/<pid>/stat (Linux only): user and system time,
 * including all threads (libuv's pool does the broker's fsyncs), excluding children.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc times; 100 on mainstream Linux builds (`getconf CLK_TCK`). */
const clockTicksPerSecond = 100;

export interface CpuTimes {
  userSeconds: number;
  systemSeconds: number;
}

export function processCpuTimes(pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name, fields are numbered from 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`cannot parse /proc/${pid}/stat`);
  }
  return { userSeconds: utime / clockTicksPerSecond, systemSeconds: stime / clockTicksPerSecond };
}

/** User plus system CPU seconds. */
export function processCpuSeconds(pid: number): number {
  const times = processCpuTimes(pid);
  return times.userSeconds + times.systemSeconds;
}

/** Live child pids of `pid` (the children file of each of its threads); empty once it is gone. */
export function childPids(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((task) => {
    try {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      return text === '' ? [] : text.split(' ').map(Number);
    } catch {
      return [];
    }
  });
}

/**
 * CPU seconds of `pid` and everything below it: its own time, the time of children it has
 * reaped (cutime, cstime) and the time of live descendants. PostgreSQL serves each connection
 * in a child of the postmaster, so its own time alone would miss nearly all the work. A child
 * that exits inside a window moves its time from "live" to "reaped", so the sum stays whole.
 */
export function processTreeCpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14 to 17; fields resume at 3 after the name.
  const ticks = [14, 15, 16, 17].reduce((sum, field) => sum + Number(fields[field - 3]), 0);
  const own = Number.isFinite(ticks) ? ticks / clockTicksPerSecond : 0;
  return childPids(pid).reduce((sum, child) => sum + processTreeCpuSeconds(child), own);
}
