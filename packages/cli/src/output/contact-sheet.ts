import { PNG } from 'pngjs';
import { drawText, fillRect, fitText, GLYPH_HEIGHT, wrapText, type Rgb, type RgbaImage } from './bitmap-font.js';

/** One cell of a contact sheet: a sample as stored and as augmented (shape [C, H, W] each), and its label. */
export interface SheetCell {
  readonly original: Float32Array;
  readonly augmented: Float32Array;
  readonly label: string;
}

const BACKGROUND: Rgb = [48, 48, 56];
const TEXT: Rgb = [235, 235, 235];
const MARGIN = 10;
/** Between a sample's two pictures. */
const PAIR_GAP = 4;
const TEXT_SCALE = 2;
const LINE = GLYPH_HEIGHT * TEXT_SCALE + 6;
/** Pictures are scaled up (nearest neighbour) to about this many pixels across, never down. */
const SHOWN_SIZE = 96;
/** Room for the title's lines. */
const MIN_WIDTH = 400;

/** Whole-number magnification of a picture of height x width for the sheet. */
export function sheetScale(height: number, width: number): number {
  return Math.max(1, Math.floor(SHOWN_SIZE / Math.max(height, width)));
}

/** Columns of the sheet's grid: about square. */
export function sheetColumns(cells: number): number {
  return Math.min(cells, Math.max(1, Math.round(Math.sqrt(cells))));
}

/**
 * A PNG of `cells` in a grid, each sample's original on the left and its augmented version on the
 * right, its label below, under the `title` lines (wrapped to the sheet's width). Stored values map linearly from the originals'
 * lowest (black) to highest (white), augmented values clamped to that range, so a brightness change
 * stays visible; one channel is drawn grey, three or more as RGB from the first three.
 */
export function contactSheet(cells: readonly SheetCell[], sampleShape: readonly number[], title: readonly string[]): Buffer {
  const [channels, height, width] = sampleShape as [number, number, number];
  const scale = sheetScale(height, width);
  const pictureWidth = width * scale;
  const pictureHeight = height * scale;
  const cellWidth = 2 * pictureWidth + PAIR_GAP;
  const cellHeight = pictureHeight + LINE;
  const columns = sheetColumns(cells.length);
  const rows = Math.ceil(cells.length / columns);
  const sheetWidth = Math.max(columns * (cellWidth + MARGIN) + MARGIN, MIN_WIDTH);
  const lines = title.flatMap((line) => wrapText(line, sheetWidth - 2 * MARGIN, TEXT_SCALE));
  const top = MARGIN + lines.length * LINE;
  const png = new PNG({ width: sheetWidth, height: top + rows * (cellHeight + MARGIN) + MARGIN });
  const image: RgbaImage = png;
  fillRect(image, 0, 0, image.width, image.height, BACKGROUND);
  lines.forEach((line, i) => drawText(image, line, MARGIN, MARGIN + i * LINE, TEXT_SCALE, TEXT));
  const [low, high] = range(cells);
  cells.forEach((cell, i) => {
    const x = MARGIN + (i % columns) * (cellWidth + MARGIN);
    const y = top + Math.floor(i / columns) * (cellHeight + MARGIN);
    const picture = { channels, height, width, scale, low, high };
    drawPicture(image, cell.original, x, y, picture);
    drawPicture(image, cell.augmented, x + pictureWidth + PAIR_GAP, y, picture);
    drawText(image, fitText(cell.label, cellWidth, TEXT_SCALE), x, y + pictureHeight + 4, TEXT_SCALE, TEXT);
  });
  return PNG.sync.write(png);
}

/** The lowest and highest stored value of the originals (0 and 1 when they are all one value). */
function range(cells: readonly SheetCell[]): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const { original } of cells) {
    for (const value of original) {
      if (value < low) low = value;
      if (value > high) high = value;
    }
  }
  return high > low ? [low, high] : [0, 1];
}

function drawPicture(
  image: RgbaImage,
  values: Float32Array,
  left: number,
  top: number,
  picture: { channels: number; height: number; width: number; scale: number; low: number; high: number },
): void {
  const { channels, height, width, scale, low, high } = picture;
  const plane = height * width;
  const level = (value: number): number => Math.round((255 * (Math.min(high, Math.max(low, value)) - low)) / (high - low));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * width + x;
      const color: Rgb = channels >= 3 ? [level(values[at]!), level(values[plane + at]!), level(values[2 * plane + at]!)] : [level(values[at]!), level(values[at]!), level(values[at]!)];
      fillRect(image, left + x * scale, top + y * scale, scale, scale, color);
    }
  }
}
