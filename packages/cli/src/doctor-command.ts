/**
 * `tributary doctor --data-dir DIR [--skip-damaged]`: verifies an embedded broker's data
 * directory while the broker is stopped — every sealed object (footer, index, each batch's
 * checksum) and every WAL segment — and lists damaged data by topic, partition and offset range
 * (storage's data-dir-doctor.ts; docs/adr/0013). `--skip-damaged` moves each damaged partition's
 * log start offset past its damage, as kafka-delete-records would. Progress goes to stderr.
 * Exit code: 0 nothing damaged (or all of it skipped), 1 damage remains or the check failed
 * (the directory in use, unreadable), 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { type DoctorProgress, type DoctorReport, doctorDataDir } from '@tributary/storage';
import { type CommandIo, isParseArgsError } from './command-io.ts';
import { formatTable } from './text-table.ts';

export const doctorUsage = `usage: tributary doctor --data-dir DIR [--skip-damaged]
Verifies every sealed object and WAL segment of a stopped broker's data directory and reports
damaged records by topic, partition and offset range.
  --data-dir DIR     the broker's log.dirs (default TRIBUTARY_LOG_DIRS, then ./data)
  --skip-damaged     move the log start offset of each damaged partition past its damaged
                     batches (like kafka-delete-records); consumers then reset per
                     auto.offset.reset. Records below the new log start are no longer served.
Exit code: 0 no damage (or all of it skipped), 1 damage found or the check failed, 2 bad usage.`;

const options = {
  'data-dir': { type: 'string' },
  'skip-damaged': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Progress lines at most this often, so a check of many objects stays readable. */
const progressIntervalMs = 1000;

export async function runDoctorCommand(args: readonly string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...args], options, allowPositionals: false }));
  } catch (error: unknown) {
    if (!isParseArgsError(error)) throw error;
    io.err(`tributary doctor: ${(error as Error).message}\n${doctorUsage}\n`);
    return 2;
  }
  if (values.help === true) {
    io.out(`${doctorUsage}\n`);
    return 0;
  }
  const dataDir = values['data-dir'] ?? io.env['TRIBUTARY_LOG_DIRS'] ?? 'data';
  const skipDamaged = values['skip-damaged'] === true;
  io.err(`Checking data directory ${dataDir}\n`);
  let lastProgressMs = io.nowMs();
  const progress = (state: DoctorProgress): void => {
    const now = io.nowMs();
    if (now - lastProgressMs < progressIntervalMs) return;
    lastProgressMs = now;
    io.err(progressLine(state));
  };
  let report: DoctorReport;
  try {
    report = await doctorDataDir({ dataDir, skipDamaged, progress });
  } catch (error: unknown) {
    io.err(`tributary doctor: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  printReport(report, io);
  return remainingDamage(report) > 0 ? 1 : 0;
}

function progressLine(state: DoctorProgress): string {
  return (
    `Checked ${state.objectsChecked}/${state.objectCount} objects, ` +
    `${state.segmentsChecked}/${state.segmentCount} WAL segments ` +
    `(${mebibytes(state.bytesChecked)} MiB)\n`
  );
}

function printReport(report: DoctorReport, io: CommandIo): void {
  io.out(
    `Checked ${report.objectsChecked} objects and ${report.segmentsChecked} WAL segments: ` +
      `${report.batchesChecked} batches, ${mebibytes(report.bytesChecked)} MiB.\n`,
  );
  for (const torn of report.tornTails) {
    io.out(
      `${torn.file}: torn tail of ${torn.bytes} bytes at byte ${torn.position} ` +
        `(never acknowledged; the broker cuts it at start)\n`,
    );
  }
  if (report.damaged.length === 0) {
    io.out('No damaged data found.\n');
    return;
  }
  const rows = report.damaged.map((damage) => [
    damage.topic,
    damage.partition < 0 ? '-' : String(damage.partition),
    damage.firstOffset === undefined ? '-' : `${damage.firstOffset}-${damage.lastOffset}`,
    damage.file,
    String(damage.position),
    damage.reason,
  ]);
  io.out(`Found ${plural(report.damaged.length, 'damaged range')}:\n`);
  io.out(formatTable(['TOPIC', 'PARTITION', 'OFFSETS', 'FILE', 'BYTE', 'PROBLEM'], rows));
  for (const skipped of report.skipped) {
    io.out(
      `Skipped: ${skipped.topic}-${skipped.partition} log start offset is now ` +
        `${skipped.logStartOffset}\n`,
    );
  }
  const left = remainingDamage(report);
  if (left > 0) {
    io.out(
      `${plural(left, 'damaged range')} remain. Restore the files from a backup, or run again with ` +
        `--skip-damaged (WAL damage: see docs/operations.md).\n`,
    );
  }
}

/** Damaged ranges that --skip-damaged did not move past (all of them without it). */
function remainingDamage(report: DoctorReport): number {
  const skippedTo = new Map(
    report.skipped.map((s) => [`${s.topic}\u0000${s.partition}`, s.logStartOffset]),
  );
  return report.damaged.filter((damage) => {
    const start = skippedTo.get(`${damage.topic}\u0000${damage.partition}`);
    return damage.lastOffset === undefined || start === undefined || damage.lastOffset >= start;
  }).length;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function mebibytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
