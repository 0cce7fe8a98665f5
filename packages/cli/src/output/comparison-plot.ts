import type { VariantRun } from './comparison.js';
import { chartSvg, type LineSeries } from './svg-chart.js';

// Okabe and Ito's palette, which stays distinguishable with the common colour-vision deficiencies.
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#a08c00'];

export const trainSeriesName = (name: string): string => `${name}: train`;
export const validationSeriesName = (name: string): string => `${name}: validation`;

/**
 * Accuracy per epoch for every variant (dropout rate or config) in one chart: train accuracy dashed,
 * validation accuracy solid, one colour per variant, the legend in a column on the right.
 */
export function comparisonSvg(runs: readonly VariantRun[], options: { title: string; subtitle: string; epochs: number }): string {
  const lines = runs.flatMap((run, i): LineSeries[] => {
    const line = (name: string, pick: (e: VariantRun['epochs'][number]) => number, dashed: boolean): LineSeries => ({
      name,
      points: run.epochs.map((e) => [e.epoch, pick(e)]),
      color: COLOURS[i % COLOURS.length]!,
      dashed,
    });
    return [line(trainSeriesName(run.name), (e) => e.trainEvalAccuracy, true), line(validationSeriesName(run.name), (e) => e.valAccuracy, false)];
  });
  const ys = lines.flatMap((s) => s.points.map((p) => p[1] ?? 0));
  return chartSvg({
    width: 960,
    height: 540,
    title: options.title,
    subtitle: options.subtitle,
    legend: { left: 760 },
    panels: [
      {
        left: 70,
        top: 90,
        width: 675,
        height: 394,
        x: { name: 'epoch', min: 1, max: Math.max(2, options.epochs), integer: true },
        // Up to the next 0.02 above the best accuracy, never above 1.
        y: { name: 'accuracy', ...(ys.length > 0 ? { max: Math.min(1, Math.ceil(Math.max(...ys) * 50) / 50) } : {}) },
        lines,
      },
    ],
  });
}
