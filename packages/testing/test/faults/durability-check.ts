/**
 * The checker for the durability tests: compares what librdkafka acknowledged with what an
 * assign-from-0 reader found. It returns violations instead of throwing, so the checker itself
 * can be tested with hand-written histories (durability-check.test.ts).
 *
 * Rules: every acknowledged record is present at exactly its acknowledged partition/offset with
 * the same value; each partition's offsets run contiguously from 0 (no holes, no duplicates);
 * every record read was written by the producer (`value` starts with `key|`). Unacknowledged
 * records may or may not be present.
 */
import type { AckLine, RecordLine } from './python-driver.ts';

export function checkAckedRecords(
  acks: readonly AckLine[],
  records: readonly RecordLine[],
): string[] {
  const violations: string[] = [];
  const byPartition = new Map<number, RecordLine[]>();
  for (const record of records) {
    const list = byPartition.get(record.p) ?? [];
    list.push(record);
    byPartition.set(record.p, list);
  }
  for (const [partition, unsorted] of byPartition) {
    const list = unsorted.toSorted((a, b) => a.o - b.o);
    byPartition.set(partition, list);
    for (const [index, record] of list.entries()) {
      if (record.o !== index) {
        violations.push(`partition ${partition}: expected offset ${index}, found ${record.o}`);
        break;
      }
      if (record.k === null || record.v?.startsWith(`${record.k}|`) !== true) {
        violations.push(`partition ${partition} offset ${record.o}: not written by the producer`);
      }
    }
  }
  for (const ack of acks) {
    const found = byPartition.get(ack.p)?.find((record) => record.o === ack.o);
    if (found === undefined) violations.push(`acked ${ack.k} at ${ack.p}/${ack.o} is missing`);
    else if (found.v !== ack.v) {
      violations.push(`acked ${ack.k} at ${ack.p}/${ack.o} has value ${String(found.v)}`);
    }
  }
  return violations;
}

/**
 * The log continued after each kill: for every partition acknowledged before kill k, some ack
 * after it lies past every offset acknowledged before it. `acksAtKill[k]` is how many acks had
 * arrived when kill k happened.
 */
export function checkLogContinued(
  acks: readonly AckLine[],
  acksAtKill: readonly number[],
): string[] {
  const violations: string[] = [];
  for (const [round, boundary] of acksAtKill.entries()) {
    const afterKill = acks.slice(boundary);
    if (afterKill.length === 0) {
      violations.push(`no acks after kill ${round}`);
      continue;
    }
    const maxBefore = new Map<number, number>();
    for (const ack of acks.slice(0, boundary)) {
      maxBefore.set(ack.p, Math.max(maxBefore.get(ack.p) ?? -1, ack.o));
    }
    for (const [partition, max] of maxBefore) {
      if (!afterKill.some((ack) => ack.p === partition && ack.o > max)) {
        violations.push(`partition ${partition}: log did not continue after kill ${round}`);
      }
    }
  }
  return violations;
}
