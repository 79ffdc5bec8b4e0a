// A line chart on uPlot (canvas; stays quick with 100,000 points and more). New data redraws at most once a
// frame; each redraw is timed with the Performance API (`lk-chart:<id>` measures) for benchmarks/.
import { Box, useComputedColorScheme } from "@mantine/core";
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface LineSpec {
  label: string;
  color: string;
  width?: number;
  dash?: number[];
}

export interface ChartProps {
  /** Names the measure `lk-chart:<id>` and the element's data-chart attribute. */
  id: string;
  /** What the chart shows, for screen readers (a canvas has no words of its own). */
  label: string;
  lines: LineSpec[];
  /** The data: x values first, then one array per line (same length). Called when `version` changes. */
  getData: () => uPlot.AlignedData;
  version: number | string;
  height?: number;
  xLabel?: string;
  yLabel?: string;
  logY?: boolean;
}

const STEP_TICKS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000].map((p) => m * p)).sort((a, b) => a - b);

const frame = (fn: () => void) =>
  typeof window.requestAnimationFrame === "function" ? window.requestAnimationFrame(fn) : window.setTimeout(fn, 16);
const cancelFrame = (handle: number) =>
  typeof window.cancelAnimationFrame === "function" ? window.cancelAnimationFrame(handle) : window.clearTimeout(handle);

export function Chart({ id, label, lines, getData, version, height = 260, xLabel = "Step", yLabel, logY }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(getData);
  latest.current = getData;
  const scheme = useComputedColorScheme("light", { getInitialValueInEffect: false });
  const shape = JSON.stringify([lines, scheme, height, xLabel, yLabel, logY]);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const dark = scheme === "dark";
    const ink = dark ? "#c9c9c9" : "#3d4248";
    const grid = dark ? "rgba(255,255,255,0.10)" : "rgba(0,0,0,0.08)";
    const axis = (label?: string): uPlot.Axis => ({ stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, label });
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth || 600),
      height,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
      // Steps are whole numbers: no tick at 2.5.
      axes: [{ ...axis(xLabel), incrs: STEP_TICKS }, axis(yLabel)],
      series: [{ label: xLabel }, ...lines.map((line) => ({ label: line.label, stroke: line.color, width: line.width ?? 1.5, dash: line.dash, points: { show: false }, spanGaps: true }))],
    };
    const chart = new uPlot(options, latest.current(), element);
    plot.current = chart;
    let observer: ResizeObserver | null = null;
    if (typeof ResizeObserver !== "undefined") {
      observer = new ResizeObserver(() => {
        const width = Math.max(200, element.clientWidth);
        if (width !== chart.width) chart.setSize({ width, height });
      });
      observer.observe(element);
    }
    return () => {
      observer?.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [shape]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    const handle = frame(() => {
      const chart = plot.current;
      if (!chart) return;
      const start = performance.now();
      // batch: setData and the redraw happen now (not in a later microtask), so the measure holds both.
      chart.batch(() => chart.setData(latest.current()));
      performance.measure?.(`lk-chart:${id}`, { start, end: performance.now() });
    });
    return () => cancelFrame(handle);
  }, [version, id]);

  return <Box ref={box} role="img" aria-label={label} data-chart={id} className="lk-chart" />;
}
