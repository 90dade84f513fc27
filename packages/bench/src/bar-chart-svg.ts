/**
 * Hand-written SVG bar charts for docs/bench/: one horizontal bar per figure, an optional
 * dashed target line per bar, values printed beside the bars. Pure string building, so the
 * output is deterministic for the same input and can be unit-tested.
 */

export interface ChartBar {
  label: string;
  value: number;
  /** Drawn as a dashed marker on the bar's row when present. */
  target?: number;
}

export interface BarChart {
  title: string;
  unit: string;
  bars: ChartBar[];
}

const labelWidthPx = 300;
const plotWidthPx = 420;
const valueWidthPx = 140;
const rowHeightPx = 26;
const topPx = 40;

export function renderBarChartSvg(chart: BarChart): string {
  const width = labelWidthPx + plotWidthPx + valueWidthPx;
  const height = topPx + chart.bars.length * rowHeightPx + 30;
  const maxValue = Math.max(1e-9, ...chart.bars.flatMap((bar) => [bar.value, bar.target ?? 0]));
  const scale = plotWidthPx / maxValue;
  const rows = chart.bars.map((bar, index) => {
    const y = topPx + index * rowHeightPx;
    const barWidth = Math.max(1, bar.value * scale);
    const parts = [
      `<text x="${labelWidthPx - 8}" y="${y + 17}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${labelWidthPx}" y="${y + 4}" width="${fmt(barWidth)}" height="${rowHeightPx - 8}" ` +
        `fill="#3b7dd8"/>`,
      `<text x="${fmt(labelWidthPx + barWidth + 6)}" y="${y + 17}">` +
        `${escapeXml(formatValue(bar.value))} ${escapeXml(chart.unit)}</text>`,
    ];
    if (bar.target !== undefined) {
      const x = fmt(labelWidthPx + bar.target * scale);
      parts.push(
        `<line x1="${x}" y1="${y + 1}" x2="${x}" y2="${y + rowHeightPx - 1}" stroke="#d83b3b" ` +
          `stroke-width="2" stroke-dasharray="4 3"><title>target ${formatValue(bar.target)}` +
          `</title></line>`,
      );
    }
    return parts.join('\n  ');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `  <rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `  <text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `  ${rows.join('\n  ')}`,
    `  <text x="10" y="${height - 8}" fill="#666666">dashed red line: target from issue 5</text>`,
    '</svg>',
    '',
  ].join('\n');
}

export function formatValue(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 0.1) return value.toFixed(2);
  return value.toPrecision(2);
}

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function fmt(value: number): string {
  return value.toFixed(1);
}
