/**
 * Parses the ISO-8601 durations kafka-consumer-groups accepts for --by-duration: PnDTnHnMnS
 * (each part optional, at least one present, seconds may have a fraction), with an optional
 * leading '-'. Years, months and weeks are refused: their length in milliseconds is not fixed.
 */

const pattern = /^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/i;

/** Returns the duration in milliseconds; throws on text that is not PnDTnHnMnS. */
export function parseIsoDurationMs(text: string): number {
  const match = pattern.exec(text.trim());
  const [, sign, days, hours, minutes, seconds] = match ?? [];
  const hasPart = [days, hours, minutes, seconds].some((part) => part !== undefined);
  if (match === null || !hasPart || /T$/i.test(text.trim())) {
    throw new Error(`'${text}' is not an ISO-8601 duration like PT10M or P1DT2H`);
  }
  const ms =
    Number(days ?? 0) * 86_400_000 +
    Number(hours ?? 0) * 3_600_000 +
    Number(minutes ?? 0) * 60_000 +
    Math.round(Number((seconds ?? '0').replace(',', '.')) * 1000);
  return sign === undefined ? ms : -ms;
}
