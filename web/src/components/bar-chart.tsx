import { niceCeiling } from './chart-scale.ts';

export interface Bar {
  key: string;
  value: number;
  /** Shown on hover, e.g. "3 Jan: 4 messages". */
  title: string;
}

interface Props {
  bars: readonly Bar[];
  /** The chart's text alternative: what it shows and its highlights. The full data is a table nearby. */
  summary: string;
  /** Axis labels under the first and last bar. */
  startLabel: string;
  endLabel: string;
  format(value: number): string;
}

const SLOT = 10;
const HEIGHT = 100;

/**
 * A bar chart drawn as SVG attributes (a strict CSP forbids inline styles). The plot stretches to
 * its box; text sits in HTML around it so it is not stretched with it.
 */
export function BarChart({ bars, summary, startLabel, endLabel, format }: Props) {
  const top = niceCeiling(Math.max(0, ...bars.map((b) => b.value)));
  const width = Math.max(1, bars.length) * SLOT;
  const gridlines = [0.25, 0.5, 0.75];
  return (
    <figure class="chart">
      <div class="chart-body">
        <div class="chart-axis" aria-hidden="true">
          <span>{format(top)}</span>
          <span>{format(top / 2)}</span>
          <span>0</span>
        </div>
        <svg class="chart-plot" viewBox={`0 0 ${width} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={summary}>
          {gridlines.map((g) => (
            <line key={g} class="chart-grid" x1="0" x2={width} y1={HEIGHT * g} y2={HEIGHT * g} vector-effect="non-scaling-stroke" />
          ))}
          {bars.map((b, i) => {
            const h = top > 0 ? (b.value / top) * HEIGHT : 0;
            return (
              <rect key={b.key} class="chart-bar" data-key={b.key} x={i * SLOT + SLOT * 0.15} width={SLOT * 0.7} y={HEIGHT - h} height={h}>
                <title>{b.title}</title>
              </rect>
            );
          })}
          <line class="chart-baseline" x1="0" x2={width} y1={HEIGHT} y2={HEIGHT} vector-effect="non-scaling-stroke" />
        </svg>
      </div>
      <div class="chart-x" aria-hidden="true">
        <span>{startLabel}</span>
        <span>{endLabel}</span>
      </div>
    </figure>
  );
}
