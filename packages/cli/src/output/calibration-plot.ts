import * as echarts from 'echarts';
import type { CoveragePoint, ReliabilityBin } from '@lockstep/core';

/** One prediction method's numbers, drawn as one series. */
export interface CalibrationSeries<T> {
  readonly name: string;
  readonly color: string;
  readonly values: readonly T[];
}

function render(option: echarts.EChartsCoreOption): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 800, height: 480 });
  chart.setOption({ animation: false, backgroundColor: '#ffffff', ...option });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

/**
 * A reliability diagram (Guo et al. 2017) as an SVG: accuracy per confidence bin, one bar per series,
 * against the diagonal a calibrated model would follow (each bin's midpoint). Empty bins have no bar.
 */
export function reliabilitySvg(series: readonly CalibrationSeries<ReliabilityBin>[], title: string, subtitle: string): string {
  const bins = series[0]?.values ?? [];
  const label = (b: ReliabilityBin): string => `${b.lower.toFixed(2)}-${b.upper.toFixed(2)}`;
  return render({
    title: { text: title, subtext: subtitle, left: 'center', top: 4, textStyle: { fontSize: 14 } },
    legend: { top: 48, itemGap: 30, data: [...series.map((s) => s.name), 'calibrated'] },
    grid: { left: 70, right: 30, top: 85, bottom: 70 },
    xAxis: { type: 'category', data: bins.map(label), name: 'confidence (largest probability)', nameLocation: 'middle', nameGap: 45, axisLabel: { rotate: 45, fontSize: 10 } },
    yAxis: { type: 'value', min: 0, max: 1, name: 'accuracy', nameLocation: 'middle', nameGap: 45 },
    series: [
      ...series.map((s) => ({ name: s.name, type: 'bar' as const, color: s.color, data: s.values.map((b) => b.accuracy) })),
      {
        name: 'calibrated',
        type: 'line' as const,
        color: '#555555',
        symbol: 'none',
        lineStyle: { type: 'dashed' as const },
        data: bins.map((b) => (b.lower + b.upper) / 2),
      },
    ],
  });
}

/** Accuracy against coverage (the fraction of rows answered, surest first) as an SVG, one line per series. */
export function coverageSvg(series: readonly CalibrationSeries<CoveragePoint>[], title: string): string {
  return render({
    title: { text: title, left: 'center', top: 4, textStyle: { fontSize: 14 } },
    legend: { top: 28, itemGap: 30, data: series.map((s) => s.name) },
    grid: { left: 70, right: 30, top: 70, bottom: 60 },
    xAxis: { type: 'value', min: 0, max: 1, name: 'coverage (surest rows first, by predictive entropy)', nameLocation: 'middle', nameGap: 32 },
    yAxis: { type: 'value', scale: true, max: 1, name: 'accuracy', nameLocation: 'middle', nameGap: 45 },
    series: series.map((s) => ({
      name: s.name,
      type: 'line' as const,
      color: s.color,
      showSymbol: false,
      data: s.values.map((p) => [p.coverage, p.accuracy]),
    })),
  });
}
