import * as echarts from 'echarts';
import type { EpochMetrics } from '@lockstep/core';

/**
 * Learning curves (train and validation loss and accuracy per epoch, and the learning rate of each
 * epoch's first step) as an SVG, rendered by ECharts'
 * server-side SVG renderer: no browser and no DOM needed.
 */
export function learningCurvesSvg(history: readonly EpochMetrics[], title: string): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 960, height: 400 });
  const points = (pick: (m: EpochMetrics) => number | null | undefined): Array<[number, number]> =>
    history.flatMap((m) => {
      const value = pick(m);
      return value === null || value === undefined ? [] : [[m.epoch, value] as [number, number]];
    });
  // Training in blue and solid, validation in orange and dashed, in both panels.
  const line = (name: string, axis: number, data: Array<[number, number]>, validation: boolean) => ({
    name,
    type: 'line' as const,
    xAxisIndex: axis,
    yAxisIndex: axis,
    data,
    symbolSize: 6,
    color: validation ? '#e8702a' : '#2f6fdf',
    lineStyle: { type: validation ? ('dashed' as const) : ('solid' as const) },
  });
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    title: [
      { text: title, left: 'center', top: 4, textStyle: { fontSize: 14 } },
      { text: 'loss', left: '14%', top: 40, textStyle: { fontSize: 12 } },
      { text: 'accuracy', left: '46%', top: 40, textStyle: { fontSize: 12 } },
      { text: 'learning rate', left: '78%', top: 40, textStyle: { fontSize: 12 } },
    ],
    legend: { top: 22, data: ['train loss', 'validation loss', 'train accuracy', 'validation accuracy', 'learning rate'] },
    grid: [
      { left: 60, right: '69%', top: 70, bottom: 50 },
      { left: '38%', right: '37%', top: 70, bottom: 50 },
      { left: '70%', right: 30, top: 70, bottom: 50 },
    ],
    xAxis: [0, 1, 2].map((gridIndex) => ({ gridIndex, type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 28, minInterval: 1 })),
    yAxis: [
      { gridIndex: 0, type: 'value', scale: true },
      { gridIndex: 1, type: 'value', scale: true, max: 1 },
      { gridIndex: 2, type: 'value', scale: true },
    ],
    series: [
      line('train loss', 0, points((m) => m.loss), false),
      line('validation loss', 0, points((m) => m.valLoss), true),
      line('train accuracy', 1, points((m) => m.accuracy), false),
      line('validation accuracy', 1, points((m) => m.valAccuracy), true),
      // Metrics written by an older lockstep have no lr.
      { ...line('learning rate', 2, points((m) => m.lr), false), color: '#3a9d5d' },
    ],
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

export function learningCurvesHtml(svg: string, title: string): string {
  const escaped = title.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${escaped}</title></head>\n<body>\n<h1>${escaped}</h1>\n${svg}\n</body>\n</html>\n`;
}
