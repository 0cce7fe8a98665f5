// The growth bench's chart: samples/s against model size, one panel per sweep and one line per
// system, drawn by ECharts' server-side SVG renderer, as the CLI draws its learning curves
// (packages/cli/src/output/learning-curves.ts); echarts is the CLI's dependency.
import { createRequire } from 'node:module';

const echarts = createRequire(new URL('../../packages/cli/package.json', import.meta.url))('echarts');

// Okabe and Ito's palette, as in the CLI's comparison plot.
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00'];

/**
 * `panels`: [{ title, axis, labels: [x label per point], series: [{ name, values: [samples/s or null] }] }],
 * side by side, sharing one legend (the series' names).
 */
export function growthSvg(panels, title, subtitle) {
  const width = 40 + 400 * panels.length;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height: 440 });
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const slot = 100 / panels.length;
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    title: [
      { text: title, subtext: subtitle, left: 'center', top: 4, textStyle: { fontSize: 15 }, subtextStyle: { fontSize: 12, color: '#444444' } },
      ...panels.map((p, i) => ({ text: p.title, left: `${i * slot + slot / 2}%`, textAlign: 'center', top: 88, textStyle: { fontSize: 13 } })),
    ],
    legend: { top: 56, data: names },
    grid: panels.map((_, i) => ({ left: `${i * slot + 7}%`, width: `${slot - 10}%`, top: 120, bottom: 60 })),
    xAxis: panels.map((p, i) => ({ gridIndex: i, type: 'category', data: p.labels, name: p.axis, nameLocation: 'middle', nameGap: 30 })),
    yAxis: panels.map((_, i) => ({ gridIndex: i, type: 'value', name: 'training samples/s', nameLocation: 'middle', nameGap: 48, min: 0 })),
    series: panels.flatMap((p, i) =>
      p.series.map((s) => ({
        name: s.name,
        type: 'line',
        xAxisIndex: i,
        yAxisIndex: i,
        data: s.values,
        symbolSize: 6,
        color: COLOURS[names.indexOf(s.name) % COLOURS.length],
        lineStyle: { width: 2 },
      })),
    ),
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}
