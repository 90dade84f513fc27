/**
 * CPU time of another process from /proc/<pid>/stat (Linux only): user and system time,
 * including all threads (libuv's pool does the broker's fsyncs), excluding children.
 */
import { readFileSync } from 'node:fs';

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
