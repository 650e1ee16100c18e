/*
 * A bar chart as SVG. The dashboard's two charts are a few dozen bars each; drawn as SVG they need no
 * library, no canvas and no inline style (the CSP holds), scale with the page, and carry their figures
 * as text for screen readers (each bar's <title>, and the table under the chart).
 */

export interface Bar {
  label: string;
  /** Shown under the chart for some bars only, so that labels do not overlap. */
  tick?: string;
  value: number;
}

const W = 600;
const H = 160;
const PAD = { top: 8, right: 8, bottom: 22, left: 40 };

/** A round maximum for the axis: 1, 2 or 5 times a power of ten, at least the largest value. */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= max)!;
}

export function BarChart({ title, bars, id }: { title: string; bars: Bar[]; id: string }) {
  const top = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / Math.max(1, bars.length);
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const total = bars.reduce((s, b) => s + b.value, 0);
  return (
    <figure class="chart" aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`}>
        {title}: {total.toLocaleString('en')} in all
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-caption`}>
        {[0, top / 2, top].map((v) => (
          <g key={v}>
            <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} />
            <text class="axis" x={PAD.left - 4} y={y(v) + 4} text-anchor="end">
              {v.toLocaleString('en')}
            </text>
          </g>
        ))}
        {bars.map((b, i) => (
          <g key={b.label}>
            <rect class="bar" x={PAD.left + i * step + step * 0.1} width={step * 0.8} y={y(b.value)} height={Math.max(0, PAD.top + plotH - y(b.value))}>
              <title>
                {b.label}: {b.value.toLocaleString('en')}
              </title>
            </rect>
            {b.tick ? (
              <text class="axis" x={PAD.left + i * step + step / 2} y={H - 6} text-anchor="middle">
                {b.tick}
              </text>
            ) : null}
          </g>
        ))}
      </svg>
      <details>
        <summary>The figures</summary>
        <table class="compact">
          <caption class="visually-hidden">{title}</caption>
          <tbody>
            {bars.map((b) => (
              <tr key={b.label}>
                <th scope="row">{b.label}</th>
                <td>{b.value.toLocaleString('en')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
