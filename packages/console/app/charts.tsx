/** Small SVG charts: no chart library, so the bundle stays small and needs no CDN. */

export function Sparkline(props: { values: readonly number[]; label: string }) {
  const width = 120;
  const height = 28;
  const values = props.values.length > 0 ? props.values : [0];
  const max = Math.max(...values, 1);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values
    .map(
      (value, index) =>
        `${(index * step).toFixed(1)},${(height - (value / max) * height).toFixed(1)}`,
    )
    .join(' ');
  return (
    <svg className="sparkline" width={width} height={height} role="img" aria-label={props.label}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: readonly { readonly x: number; readonly y: number }[];
}

/** A line chart of series over time (x in ms), each scaled to its own maximum. */
export function LineChart(props: { series: readonly Series[]; title: string }) {
  const width = 640;
  const height = 180;
  const pad = 30;
  const xs = props.series.flatMap((series) => series.values.map((point) => point.x));
  const minX = xs.length === 0 ? 0 : Math.min(...xs);
  const maxX = Math.max(...xs, minX + 1);
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <svg width={width} height={height} role="img" aria-label={props.title}>
        <line x1={pad} y1={height - pad} x2={width} y2={height - pad} stroke="#999" />
        <line x1={pad} y1={0} x2={pad} y2={height - pad} stroke="#999" />
        {props.series.map((series) => {
          const maxY = Math.max(...series.values.map((point) => point.y), 1);
          const points = series.values
            .map((point) => {
              const x = pad + ((point.x - minX) / (maxX - minX)) * (width - pad);
              const y = height - pad - (point.y / maxY) * (height - pad - 5);
              return `${x.toFixed(1)},${y.toFixed(1)}`;
            })
            .join(' ');
          return (
            <g key={series.name}>
              <polyline points={points} fill="none" stroke={series.color} strokeWidth="2" />
              <text
                x={pad + 6}
                y={14 + props.series.indexOf(series) * 14}
                fill={series.color}
                textAnchor="start"
                fontSize="12"
              >
                {series.name} (max {maxY.toFixed(series.name.includes('seconds') ? 1 : 0)})
              </text>
            </g>
          );
        })}
        <text x={pad} y={height - 8} fontSize="11" fill="#666">
          {xs.length === 0 ? 'no samples yet' : new Date(minX).toLocaleTimeString()}
        </text>
        <text x={width} y={height - 8} fontSize="11" fill="#666" textAnchor="end">
          {xs.length === 0 ? '' : new Date(maxX).toLocaleTimeString()}
        </text>
      </svg>
    </figure>
  );
}
