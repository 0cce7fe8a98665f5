// Writes a small generated colour data set as a class-folder tree, for `lockstep train --data
// images:DIR` with 3 channels (no colour image set can be installed here):
//
//   node tools/data/colour-shapes.mjs --out DIR [--count N] [--size S] [--format png|jpeg] [--seed K]
//
// DIR/train/<class>/<index>.<ext> and DIR/test/<class>/<index>.<ext>, N images per class and split
// (default 200; the test split gets N / 4), S x S pixels (default 32). Four classes, each a shape
// drawn in one colour on a background of another: circle, cross, ring, square; the shape's place,
// size and both colours are drawn from a seeded generator (mulberry32), so the same seed writes the
// same files. PNG is this file's own encoder (8-bit RGB); JPEG is jpeg-js's encoder at quality 90.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import jpeg from 'jpeg-js';
import { pngFile } from './png-file.mjs';

const CLASSES = ['circle', 'cross', 'ring', 'square'];

const { values } = parseArgs({
  options: { out: { type: 'string' }, count: { type: 'string' }, size: { type: 'string' }, format: { type: 'string' }, seed: { type: 'string' } },
});
const fail = (message) => {
  process.stderr.write(`colour-shapes: ${message}\n`);
  process.exit(1);
};
const positive = (name, text, fallback) => {
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(value) || value < 1) fail(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
};
if (values.out === undefined) fail('give --out DIR, the folder to write the tree to');
const count = positive('count', values.count, 200);
const size = positive('size', values.size, 32);
const seed = positive('seed', values.seed, 1);
const format = values.format ?? 'png';
if (format !== 'png' && format !== 'jpeg') fail(`--format must be png or jpeg, got ${JSON.stringify(format)}`);

function mulberry32(state) {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whether (x, y) is on the shape of `kind` centred at (cx, cy) with radius r. */
function inside(kind, x, y, cx, cy, r) {
  const dx = x + 0.5 - cx;
  const dy = y + 0.5 - cy;
  const d = Math.sqrt(dx * dx + dy * dy);
  if (kind === 'circle') return d <= r;
  if (kind === 'ring') return d <= r && d >= r * 0.55;
  if (kind === 'square') return Math.abs(dx) <= r * 0.8 && Math.abs(dy) <= r * 0.8;
  return (Math.abs(dx) <= r * 0.25 && Math.abs(dy) <= r) || (Math.abs(dy) <= r * 0.25 && Math.abs(dx) <= r);
}

function image(kind, random) {
  const colour = () => [0, 1, 2].map(() => Math.floor(random() * 256));
  const background = colour();
  let shape = colour();
  while (shape.reduce((sum, c, i) => sum + Math.abs(c - background[i]), 0) < 150) shape = colour();
  const r = size * (0.2 + 0.15 * random());
  const cx = r + random() * (size - 2 * r);
  const cy = r + random() * (size - 2 * r);
  const rgba = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) rgba.set([...(inside(kind, x, y, cx, cy, r) ? shape : background), 255], 4 * (y * size + x));
  }
  return rgba;
}

const random = mulberry32(seed);
for (const [split, n] of [['train', count], ['test', Math.max(1, Math.floor(count / 4))]]) {
  for (const kind of CLASSES) {
    mkdirSync(join(values.out, split, kind), { recursive: true });
    for (let i = 0; i < n; i++) {
      const rgba = image(kind, random);
      const bytes = format === 'png' ? pngFile(rgba.filter((_, i) => i % 4 !== 3), size, size, 3) : jpeg.encode({ width: size, height: size, data: rgba }, 90).data;
      writeFileSync(join(values.out, split, kind, `${String(i).padStart(4, '0')}.${format === 'png' ? 'png' : 'jpg'}`), bytes);
    }
  }
  process.stdout.write(`wrote ${n * CLASSES.length} ${split} images to ${join(values.out, split)}\n`);
}
