import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  values: ReadonlyArray<number | null>;
  /** A CSS colour from the palette (chart lines must stay apart for colour-blind readers too: dash the second). */
  stroke: string;
  dash?: number[];
}

/**
 * A time-series line chart (uPlot: small, fast, canvas). The canvas is for looking; the caption
 * says what it shows in words, so the chart is never the only way to learn it.
 */
export function LineChart({ id, title, summary, times, series, unit }: { id: string; title: string; summary: string; times: readonly number[]; series: readonly ChartSeries[]; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const plot = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 180,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [{}, { label: unit, size: 56 }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: false, ...(s.dash ? { dash: s.dash } : {}) }))],
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
  }, [times, series, unit]);
  return (
    <figure class="chart" aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`}>
      <figcaption>
        <strong id={`${id}-title`}>{title}</strong> <span id={`${id}-summary`}>{summary}</span>
      </figcaption>
      <div ref={box} class="chart-canvas" aria-hidden="true" />
    </figure>
  );
}
