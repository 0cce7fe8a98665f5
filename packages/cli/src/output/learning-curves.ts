import type { EpochMetrics } from '@lockstep/core';
import { chartSvg, escapeXml, type LineSeries } from './svg-chart.js';

/**
 * Learning curves as an SVG, in three panels side by side: train and validation loss, train and
 * validation accuracy, and the learning rate of each epoch's first step, against the epoch.
 */
export function learningCurvesSvg(history: readonly EpochMetrics[], title: string): string {
  const points = (pick: (m: EpochMetrics) => number | null | undefined): Array<[number, number]> =>
    history.flatMap((m) => {
      const value = pick(m);
      return value === null || value === undefined ? [] : [[m.epoch, value] as [number, number]];
    });
  // Training in blue and solid, validation in orange and dashed, in both panels.
  const line = (name: string, data: Array<[number, number]>, validation: boolean): LineSeries => ({
    name,
    points: data,
    color: validation ? '#e8702a' : '#2f6fdf',
    dashed: validation,
  });
  const epoch = { name: 'epoch', integer: true, includeZero: true };
  const panel = { top: 80, height: 270 };
  return chartSvg({
    width: 960,
    height: 400,
    title,
    legend: { top: 32 },
    panels: [
      { ...panel, left: 60, width: 238, title: 'loss', x: epoch, y: {}, lines: [line('train loss', points((m) => m.loss), false), line('validation loss', points((m) => m.valLoss), true)] },
      { ...panel, left: 365, width: 240, title: 'accuracy', x: epoch, y: { max: 1 }, lines: [line('train accuracy', points((m) => m.accuracy), false), line('validation accuracy', points((m) => m.valAccuracy), true)] },
      // Metrics written by an older lockstep have no lr.
      { ...panel, left: 672, width: 258, title: 'learning rate', x: epoch, y: {}, lines: [{ ...line('learning rate', points((m) => m.lr), false), color: '#3a9d5d' }] },
    ],
  });
}

export function learningCurvesHtml(svg: string, title: string): string {
  const escaped = escapeXml(title);
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${escaped}</title></head>\n<body>\n<h1>${escaped}</h1>\n${svg}\n</body>\n</html>\n`;
}
