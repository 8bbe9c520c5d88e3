import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  values: ReadonlyArray<number | null>;
  /** A colour token, e.g. '--color-chart-1' (chart lines must stay apart for colour-blind readers too: dash the second). */
  stroke: `--color-${string}`;
  dash?: number[];
}

const darkScheme = '(prefers-color-scheme: dark)';

/** Whether the system asks for dark colours, kept current: a canvas does not restyle itself. */
function useDarkScheme(): boolean {
  const [dark, setDark] = useState(() => matchMedia(darkScheme).matches);
  useEffect(() => {
    const query = matchMedia(darkScheme);
    const changed = () => setDark(query.matches);
    query.addEventListener('change', changed);
    return () => query.removeEventListener('change', changed);
  }, []);
  return dark;
}

/**
 * A time-series line chart (uPlot: small, fast, canvas). The canvas is for looking; the caption
 * says what it shows in words, so the chart is never the only way to learn it.
 */
export function LineChart({ id, title, summary, times, series, unit }: { id: string; title: string; summary: string; times: readonly number[]; series: readonly ChartSeries[]; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  const dark = useDarkScheme();
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    // uPlot draws on a canvas, which CSS cannot colour: read the tokens' current values.
    const styles = getComputedStyle(element);
    const token = (name: string) => styles.getPropertyValue(name).trim();
    const axis = { stroke: token('--color-text-muted'), grid: { stroke: token('--color-border') }, ticks: { stroke: token('--color-border') } };
    const plot = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 180,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [axis, { ...axis, label: unit, size: 56 }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: token(s.stroke), width: 2, spanGaps: false, ...(s.dash ? { dash: s.dash } : {}) }))],
      },
      [[...times], ...series.map((s) => [...s.values])] as uPlot.AlignedData,
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height: 180 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, unit, dark]);
  return (
    <figure class="chart" aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`}>
      <figcaption>
        <strong id={`${id}-title`}>{title}</strong> <span id={`${id}-summary`}>{summary}</span>
      </figcaption>
      <div ref={box} class="chart-canvas" aria-hidden="true" />
    </figure>
  );
}
