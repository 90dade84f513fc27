import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeXml, formatValue, renderBarChartSvg } from './bar-chart-svg.ts';

test('renderBarChartSvg draws one bar per figure, scaled to the largest value or target', () => {
  const svg = renderBarChartSvg({
    title: 'T <1>',
    unit: 'MB/s',
    bars: [
      { label: 'a', value: 50, target: 100 },
      { label: 'b & c', value: 25 },
    ],
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(svg.match(/<rect x="300"/g)?.length, 2);
  // The target (100) spans the 420 px plot: 50 is half of it.
  assert.match(svg, /<rect x="300" y="44" width="210.0"/);
  assert.match(svg, /<line x1="720.0"/);
  assert.match(svg, /T &lt;1&gt;/);
  assert.match(svg, /b &amp; c/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
});

test('renderBarChartSvg is deterministic and survives all-zero values', () => {
  const chart = { title: 'z', unit: '', bars: [{ label: 'zero', value: 0 }] };
  assert.equal(renderBarChartSvg(chart), renderBarChartSvg(chart));
  assert.doesNotMatch(renderBarChartSvg(chart), /NaN|Infinity/);
});

test('formatValue keeps about three significant figures', () => {
  assert.equal(formatValue(0), '0');
  assert.equal(formatValue(123456.7), '123,457');
  assert.equal(formatValue(12.345), '12.3');
  assert.equal(formatValue(1.2345), '1.23');
  assert.equal(formatValue(0.012345), '0.012');
  assert.equal(escapeXml('"a"'), '&quot;a&quot;');
});
