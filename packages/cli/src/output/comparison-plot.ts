import * as echarts from 'echarts';
import type { VariantRun } from './comparison.js';

// Okabe and Ito's palette, which stays distinguishable with the common colour-vision deficiencies.
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#a08c00'];

export const trainSeriesName = (name: string): string => `${name}: train`;
export const validationSeriesName = (name: string): string => `${name}: validation`;

/**
 * Accuracy per epoch for every variant (dropout rate or config) in one chart, rendered by ECharts'
 * server-side SVG renderer: train accuracy dashed, validation accuracy solid, one colour per variant.
 */
export function comparisonSvg(runs: readonly VariantRun[], options: { title: string; subtitle: string; epochs: number }): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 960, height: 540 });
  const series = runs.flatMap((run, i) => {
    const line = (name: string, pick: (e: VariantRun['epochs'][number]) => number, dashed: boolean) => ({
      name,
      type: 'line' as const,
      data: run.epochs.map((e) => [e.epoch, pick(e)]),
      symbolSize: 5,
      color: COLOURS[i % COLOURS.length],
      lineStyle: { type: dashed ? ('dashed' as const) : ('solid' as const), width: 2 },
    });
    return [line(trainSeriesName(run.name), (e) => e.trainEvalAccuracy, true), line(validationSeriesName(run.name), (e) => e.valAccuracy, false)];
  });
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    title: {
      text: options.title,
      subtext: options.subtitle,
      left: 'center',
      top: 6,
      textStyle: { fontSize: 15 },
      subtextStyle: { fontSize: 12, color: '#444444', lineHeight: 16 },
    },
    legend: { orient: 'vertical', left: 760, top: 'middle', itemWidth: 30, data: series.map((s) => s.name) },
    grid: { left: 70, right: 215, top: 90, bottom: 56 },
    xAxis: { type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 30, min: 1, max: Math.max(2, options.epochs), minInterval: 1 },
    yAxis: { type: 'value', name: 'accuracy', nameLocation: 'middle', nameGap: 48, scale: true, max: (extent: { max: number }) => Math.min(1, Math.ceil(extent.max * 50) / 50) },
    series,
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}
