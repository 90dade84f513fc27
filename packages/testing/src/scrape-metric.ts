/**
 * Reads one series from a broker's Prometheus endpoint, for tests and benches that assert on
 * /metrics. A series matches when its name is exactly `name` and it carries every label given
 * (it may carry more); the first match in the text wins. Values are parsed as numbers, so
 * `NaN`, `+Inf` and exponents read as Prometheus writes them.
 */
import assert from 'node:assert/strict';
import type { SpawnedBroker } from './spawn-broker.ts';

export type MetricLabels = Readonly<Record<string, string>>;

const labelPattern = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const metricsLinePattern = /metrics on (http:\/\/\S+)/;

/** The value of the first series `name{labels...}` in Prometheus text, or undefined. */
export function metricValue(
  text: string,
  name: string,
  labels: MetricLabels = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelsEnd = line.startsWith(`${name}{`) ? line.lastIndexOf('}') : name.length;
    const found = new Map<string, string>();
    for (const [, key, value] of line.slice(name.length, labelsEnd).matchAll(labelPattern)) {
      if (key !== undefined && value !== undefined) found.set(key, value);
    }
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) {
      return Number(
        line
          .slice(labelsEnd + 1)
          .trim()
          .split(' ')[0],
      );
    }
  }
  return undefined;
}

/** Fetches `url` (a /metrics endpoint) and returns the series' value, or undefined. */
export async function scrapeMetric(
  url: string,
  name: string,
  labels: MetricLabels = {},
): Promise<number | undefined> {
  const response = await fetch(url);
  return metricValue(await response.text(), name, labels);
}

/** The /metrics URL from the `metrics on http://...` line `tributary start` prints. */
export function printedMetricsUrl(broker: SpawnedBroker): string {
  const url = metricsLinePattern.exec(broker.stdout())?.[1];
  assert.ok(url !== undefined, `no metrics line in:\n${broker.stdout()}`);
  return url;
}
