/** One uPlot chart of a metric's difference (candidate − control) over time with its always-valid
 * confidence band, and a zero line: the band leaving zero is the evidence. Created once; new data is
 * pushed with setData so a live refresh does not rebuild the canvas or lose the reader's place. */
import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';
import { metricLabel, metricUnit } from '../logic/format';
import { type MetricSeries, pointCount } from '../logic/history';

const COLOURS = ['#0b5cad', '#b35900', '#6f42c1', '#116329'];

function toData(s: MetricSeries): uPlot.AlignedData {
  const zero = s.x.map(() => 0);
  return [s.x, zero, ...s.candidates.flatMap((c) => [c.estimate, c.low, c.high])] as uPlot.AlignedData;
}

function options(s: MetricSeries, width: number): uPlot.Options {
  const unit = metricUnit(s.metric);
  const series: uPlot.Series[] = [
    {},
    { label: 'no difference', stroke: '#8c959f', width: 1, dash: [4, 4], points: { show: false } },
  ];
  const bands: uPlot.Band[] = [];
  s.candidates.forEach((c, k) => {
    const colour = COLOURS[k % COLOURS.length]!;
    const base = 2 + k * 3;
    series.push(
      { label: `v${c.candidate} − control`, stroke: colour, width: 2, points: { show: true, size: 5 } },
      { label: `v${c.candidate} lower bound`, stroke: `${colour}66`, width: 1, points: { show: false } },
      { label: `v${c.candidate} upper bound`, stroke: `${colour}66`, width: 1, points: { show: false } },
    );
    bands.push({ series: [base + 2, base + 1], fill: `${colour}22` });
  });
  return {
    width,
    height: 240,
    series,
    bands,
    scales: { x: { time: true } },
    axes: [{}, { label: unit ? `difference (${unit})` : 'difference', size: 60 }],
    legend: { live: true },
  };
}

export function DiffChart(props: { series: MetricSeries }) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const shape = props.series.candidates.map((c) => c.candidate).join(',');

  const latest = useRef(props.series);
  latest.current = props.series;

  // Rebuilt only when the metric or the candidates change; data updates go through setData below.
  // uPlot is loaded on the first chart (its own chunk), so pages without charts stay small.
  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    let gone = false;
    const width = () => Math.max(280, el.clientWidth);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: width(), height: 240 }));
    void import('uplot').then(({ default: UPlot }) => {
      if (gone) return;
      plot.current = new UPlot(options(latest.current, width()), toData(latest.current), el);
      resize.observe(el);
    });
    return () => {
      gone = true;
      resize.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [props.series.metric, shape]);

  useEffect(() => {
    plot.current?.setData(toData(props.series));
  }, [props.series]);

  const n = pointCount(props.series);
  return (
    <figure class="chart-figure">
      <figcaption>
        <strong>{metricLabel(props.series.metric)}</strong>{' '}
        <span class="muted small">
          difference to the control with its always-valid 95 % band, {n} {n === 1 ? 'point' : 'points'}
        </span>
      </figcaption>
      <div
        class="chart"
        ref={holder}
        data-points={n}
        role="img"
        aria-label={`${metricLabel(props.series.metric)} difference over time, ${n} points`}
      />
    </figure>
  );
}
