/**
 * lockstep's charts as SVG text: panels of lines (solid or dashed, with or without markers) and
 * grouped bars, each panel with its axes, ticks, grid and names, a title, a subtitle and one legend.
 * No browser, no DOM and no dependency: the curves, comparison, calibration and bench pictures need
 * no more, and a chart library cost the CLI's install 62 MB (README, "Install").
 */

export interface Axis {
  /** Written along the axis. */
  readonly name?: string;
  /** Fixed ends; otherwise the data's range widened to round ticks. */
  readonly min?: number;
  readonly max?: number;
  /** Widen the data's range to include 0 (ECharts' default for value axes; `scale: true` there is false here). */
  readonly includeZero?: boolean;
  /** Ticks at whole numbers only (epochs). */
  readonly integer?: boolean;
  /** A category axis (x only): one slot per label, points and bars at the slots' centres by index. */
  readonly categories?: readonly string[];
  /** Category labels turned 45 degrees, for long ones. */
  readonly rotateLabels?: boolean;
}

export interface LineSeries {
  readonly name: string;
  readonly color: string;
  /** [x, y]; on a category axis x is the category's index. A null y breaks the line. */
  readonly points: ReadonlyArray<readonly [number, number | null]>;
  readonly dashed?: boolean;
  /** Circles at the points (default true). */
  readonly markers?: boolean;
  readonly width?: number;
}

export interface BarSeries {
  readonly name: string;
  readonly color: string;
  /** One value per category; null leaves the slot empty. */
  readonly values: ReadonlyArray<number | null>;
}

export interface Panel {
  /** The plot area, in pixels. */
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly title?: string;
  readonly x: Axis;
  readonly y: Axis;
  readonly lines?: readonly LineSeries[];
  readonly bars?: readonly BarSeries[];
}

export interface Chart {
  readonly width: number;
  readonly height: number;
  readonly title: string;
  /** Lines separated by '\n', under the title. */
  readonly subtitle?: string;
  readonly panels: readonly Panel[];
  /** A row centred at `top`, or a column at `left` centred vertically. */
  readonly legend: { readonly top: number } | { readonly left: number };
}

const INK = '#333333';
const MUTED = '#6e7079';
const GRID = '#e0e6f1';
const FONT = 'font-family="sans-serif"';

export const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (value: number): string => String(Math.round(value * 100) / 100);

function text(x: number, y: number, content: string, options: { size?: number; anchor?: 'start' | 'middle' | 'end'; color?: string; rotate?: number; bold?: boolean } = {}): string {
  const rotate = options.rotate === undefined ? '' : ` transform="rotate(${options.rotate} ${num(x)} ${num(y)})"`;
  const weight = options.bold === true ? ' font-weight="bold"' : '';
  return `<text x="${num(x)}" y="${num(y)}" ${FONT} font-size="${options.size ?? 12}" text-anchor="${options.anchor ?? 'start'}" fill="${options.color ?? MUTED}"${weight}${rotate}>${escapeXml(content)}</text>`;
}

/** About how wide a line of 12px sans-serif text is; enough to lay out a legend. */
const textWidth = (content: string, size = 12): number => content.length * size * 0.56;

/** A round step for about `count` ticks over [min, max]: 1, 2 or 5 times a power of ten. */
function tickStep(min: number, max: number, count: number, integer: boolean): number {
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const step = (fraction >= Math.sqrt(50) ? 10 : fraction >= Math.sqrt(10) ? 5 : fraction >= Math.sqrt(2) ? 2 : 1) * power;
  return integer ? Math.max(1, Math.round(step)) : step;
}

interface Scale {
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly number[];
  readonly label: (value: number) => string;
}

/** The axis's range and ticks: fixed ends where given, the others rounded out to a tick. */
function valueScale(axis: Axis, values: readonly number[]): Scale {
  let low = Math.min(...values, ...(axis.includeZero === true ? [0] : []));
  let high = Math.max(...values, ...(axis.includeZero === true ? [0] : []));
  if (!Number.isFinite(low)) [low, high] = [0, 1];
  if (axis.min !== undefined) low = axis.min;
  if (axis.max !== undefined) high = Math.max(axis.max, low);
  if (high === low) {
    // One value (a constant learning rate): put it in the middle of a range around it.
    const pad = axis.integer === true ? 1 : Math.abs(low) / 2 || 1;
    if (axis.min === undefined) low -= pad;
    high += pad;
  }
  const step = tickStep(low, high, 5, axis.integer === true);
  const min = axis.min ?? Math.floor(low / step) * step;
  const max = axis.max ?? Math.ceil(high / step - 1e-9) * step;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: number[] = [];
  for (let tick = Math.ceil(min / step - 1e-9) * step; tick <= max + step * 1e-9; tick += step) ticks.push(Number(tick.toFixed(decimals)));
  return { min, max, ticks, label: (value) => String(Number(value.toFixed(decimals))) };
}

function panelSvg(panel: Panel): string[] {
  const { left, top, width, height } = panel;
  const lines = panel.lines ?? [];
  const bars = panel.bars ?? [];
  const categories = panel.x.categories;
  const ys = [...lines.flatMap((s) => s.points.map((p) => p[1])), ...bars.flatMap((b) => b.values)].filter((v): v is number => v !== null && Number.isFinite(v));
  const yScale = valueScale(panel.y, ys);
  const xScale = categories === undefined ? valueScale(panel.x, lines.flatMap((s) => s.points.map((p) => p[0]))) : null;
  const slot = categories === undefined ? 0 : width / Math.max(1, categories.length);
  const px = (x: number): number => (xScale === null ? left + (x + 0.5) * slot : left + ((x - xScale.min) / (xScale.max - xScale.min)) * width);
  const py = (y: number): number => top + height - ((y - yScale.min) / (yScale.max - yScale.min)) * height;
  const out: string[] = [];
  const bottom = top + height;
  for (const tick of yScale.ticks) {
    out.push(`<path d="M${num(left)} ${num(py(tick))}H${num(left + width)}" stroke="${GRID}" fill="none"/>`);
    out.push(text(left - 8, py(tick) + 4, yScale.label(tick), { anchor: 'end' }));
  }
  out.push(`<path d="M${num(left)} ${num(bottom)}H${num(left + width)}M${num(left)} ${num(top)}V${num(bottom)}" stroke="${MUTED}" fill="none"/>`);
  if (xScale !== null) {
    for (const tick of xScale.ticks) {
      out.push(`<path d="M${num(px(tick))} ${num(bottom)}v5" stroke="${MUTED}" fill="none"/>`);
      out.push(text(px(tick), bottom + 18, xScale.label(tick), { anchor: 'middle' }));
    }
  } else {
    categories!.forEach((label, i) => {
      out.push(`<path d="M${num(left + i * slot)} ${num(bottom)}v5" stroke="${MUTED}" fill="none"/>`);
      if (panel.x.rotateLabels === true) out.push(text(px(i) + 4, bottom + 12, label, { anchor: 'end', size: 10, rotate: -45 }));
      else out.push(text(px(i), bottom + 18, label, { anchor: 'middle' }));
    });
  }
  if (panel.x.name !== undefined) out.push(text(left + width / 2, bottom + (panel.x.rotateLabels === true ? 58 : 38), panel.x.name, { anchor: 'middle' }));
  // The axis name clears the widest tick label.
  const labelWidth = Math.max(0, ...yScale.ticks.map((tick) => textWidth(yScale.label(tick))));
  if (panel.y.name !== undefined) out.push(text(left - Math.max(46, labelWidth + 22), top + height / 2, panel.y.name, { anchor: 'middle', rotate: -90 }));
  if (panel.title !== undefined) out.push(text(left + width / 2, top - 12, panel.title, { anchor: 'middle', color: INK, bold: true }));
  // Bars side by side within each slot, 60% of it in all.
  const barWidth = (slot * 0.6) / Math.max(1, bars.length);
  bars.forEach((series, b) =>
    series.values.forEach((value, i) => {
      if (value === null) return;
      const x = left + i * slot + slot * 0.2 + b * barWidth;
      out.push(`<rect x="${num(x)}" y="${num(py(value))}" width="${num(barWidth)}" height="${num(bottom - py(value))}" fill="${series.color}"><title>${escapeXml(series.name)}</title></rect>`);
    }),
  );
  for (const series of lines) {
    let d = '';
    let pen = false;
    for (const [x, y] of series.points) {
      if (y === null) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${num(px(x))} ${num(py(y))}`;
      pen = true;
    }
    const dash = series.dashed === true ? ' stroke-dasharray="6 4"' : '';
    out.push(`<path d="${d}" fill="none" stroke="${series.color}" stroke-width="${series.width ?? 2}"${dash}><title>${escapeXml(series.name)}</title></path>`);
    if (series.markers !== false) {
      for (const [x, y] of series.points) if (y !== null) out.push(`<circle cx="${num(px(x))}" cy="${num(py(y))}" r="2.5" fill="#ffffff" stroke="${series.color}" stroke-width="1.5"/>`);
    }
  }
  return out;
}

interface LegendItem {
  readonly name: string;
  readonly color: string;
  readonly kind: 'line' | 'dashed' | 'bar';
}

function legendSvg(items: readonly LegendItem[], chart: Chart): string[] {
  const sample = (x: number, y: number, item: LegendItem): string =>
    item.kind === 'bar'
      ? `<rect x="${num(x)}" y="${num(y - 6)}" width="25" height="12" fill="${item.color}"/>`
      : `<path d="M${num(x)} ${num(y)}h25" stroke="${item.color}" stroke-width="2"${item.kind === 'dashed' ? ' stroke-dasharray="6 4"' : ''} fill="none"/>`;
  const out: string[] = [];
  if ('top' in chart.legend) {
    const widths = items.map((item) => 30 + textWidth(item.name) + 20);
    let x = (chart.width - widths.reduce((a, b) => a + b, 0) + 20) / 2;
    const y = chart.legend.top + 7;
    items.forEach((item, i) => {
      out.push(sample(x, y, item), text(x + 30, y + 4, item.name, { color: INK }));
      x += widths[i]!;
    });
  } else {
    const x = chart.legend.left;
    let y = chart.height / 2 - (items.length * 22) / 2 + 11;
    for (const item of items) {
      out.push(sample(x, y, item), text(x + 30, y + 4, item.name, { color: INK }));
      y += 22;
    }
  }
  return out;
}

/** The chart as one SVG document (no trailing newline). */
export function chartSvg(chart: Chart): string {
  const seen = new Set<string>();
  const legend: LegendItem[] = [];
  for (const panel of chart.panels) {
    for (const bar of panel.bars ?? []) if (!seen.has(bar.name)) seen.add(bar.name) && legend.push({ name: bar.name, color: bar.color, kind: 'bar' });
    for (const line of panel.lines ?? []) if (!seen.has(line.name)) seen.add(line.name) && legend.push({ name: line.name, color: line.color, kind: line.dashed === true ? 'dashed' : 'line' });
  }
  const subtitle = (chart.subtitle ?? '').split('\n').filter((line) => line !== '');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${chart.width}" height="${chart.height}" viewBox="0 0 ${chart.width} ${chart.height}">`,
    `<rect width="${chart.width}" height="${chart.height}" fill="#ffffff"/>`,
    text(chart.width / 2, 22, chart.title, { anchor: 'middle', size: 15, color: INK, bold: true }),
    ...subtitle.map((line, i) => text(chart.width / 2, 42 + i * 16, line, { anchor: 'middle', color: '#444444' })),
    ...chart.panels.flatMap(panelSvg),
    ...legendSvg(legend, chart),
    '</svg>',
  ].join('\n');
}
