// The growth bench's chart: samples/s against model size, one panel per sweep and one line per
// system, drawn by the CLI's SVG chart module (packages/cli/src/output/svg-chart.ts), as the CLI draws
// its learning curves; needs `pnpm build`.
import { chartSvg } from '../../packages/cli/dist/modules/output/svg-chart.js';

// Okabe and Ito's palette, as in the CLI's comparison plot.
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00'];

/**
 * `panels`: [{ title, axis, labels: [x label per point], series: [{ name, values: [samples/s or null] }] }],
 * side by side, sharing one legend (the series' names).
 */
export function growthSvg(panels, title, subtitle) {
  const width = 40 + 400 * panels.length;
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const slot = width / panels.length;
  return chartSvg({
    width,
    height: 440,
    title,
    subtitle,
    legend: { top: 62 },
    panels: panels.map((p, i) => ({
      left: i * slot + 80,
      top: 120,
      width: slot - 110,
      height: 260,
      title: p.title,
      x: { categories: p.labels, name: p.axis },
      y: { min: 0, name: 'training samples/s' },
      lines: p.series.map((s) => ({ name: s.name, color: COLOURS[names.indexOf(s.name) % COLOURS.length], points: s.values.map((v, j) => [j, v]) })),
    })),
  });
}
