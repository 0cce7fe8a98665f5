import type { CoveragePoint, ReliabilityBin } from '@lockstep/core';
import { chartSvg } from './svg-chart.js';

/** One prediction method's numbers, drawn as one series. */
export interface CalibrationSeries<T> {
  readonly name: string;
  readonly color: string;
  readonly values: readonly T[];
}

/**
 * A reliability diagram (Guo et al. 2017) as an SVG: accuracy per confidence bin, one bar per series,
 * against the diagonal a calibrated model would follow (each bin's midpoint). Empty bins have no bar.
 */
export function reliabilitySvg(series: readonly CalibrationSeries<ReliabilityBin>[], title: string, subtitle: string): string {
  const bins = series[0]?.values ?? [];
  const label = (b: ReliabilityBin): string => `${b.lower.toFixed(2)}-${b.upper.toFixed(2)}`;
  return chartSvg({
    width: 800,
    height: 480,
    title,
    subtitle,
    legend: { top: 56 },
    panels: [
      {
        left: 70,
        top: 85,
        width: 700,
        height: 325,
        x: { categories: bins.map(label), rotateLabels: true, name: 'confidence (largest probability)' },
        y: { min: 0, max: 1, name: 'accuracy' },
        bars: series.map((s) => ({ name: s.name, color: s.color, values: s.values.map((b) => b.accuracy) })),
        lines: [{ name: 'calibrated', color: '#555555', dashed: true, markers: false, width: 1.5, points: bins.map((b, i) => [i, (b.lower + b.upper) / 2]) }],
      },
    ],
  });
}

/** Accuracy against coverage (the fraction of rows answered, surest first) as an SVG, one line per series. */
export function coverageSvg(series: readonly CalibrationSeries<CoveragePoint>[], title: string): string {
  return chartSvg({
    width: 800,
    height: 480,
    title,
    legend: { top: 36 },
    panels: [
      {
        left: 70,
        top: 70,
        width: 700,
        height: 350,
        x: { min: 0, max: 1, name: 'coverage (surest rows first, by predictive entropy)' },
        y: { max: 1, name: 'accuracy' },
        lines: series.map((s) => ({ name: s.name, color: s.color, markers: false, points: s.values.map((p) => [p.coverage, p.accuracy]) })),
      },
    ],
  });
}
