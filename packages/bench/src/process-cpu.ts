/**
 * CPU time of another process from /proc/<pid>/stat (Linux only): user plus system time,
 * including threads (libuv's thread pool does the broker's fsyncs), excluding children.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc times; 100 on every mainstream Linux build (`getconf CLK_TCK`). */
const clockTicksPerSecond = 100;

export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name, fields are numbered from 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`cannot parse /proc/${pid}/stat`);
  }
  return (utime + stime) / clockTicksPerSecond;
}
