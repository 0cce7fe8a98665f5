// Writes Fashion-MNIST as a tree of PNG files in class folders, the layout `lockstep train --data
// images:DIR` reads:
//
//   node tools/data/fashion-mnist-png.mjs --out DIR [--count N] [--source IDX_DIR]
//
// DIR/train/<class>/<index>.png and DIR/test/<class>/<index>.png, one 28 x 28 8-bit greyscale PNG per
// image, named by its index in the IDX file. The class folders are "0_T-shirt_top" ... "9_Ankle_boot",
// so that their sorted order is Fashion-MNIST's label order. --count N writes the first N images of
// each split (default: all 60,000 and 10,000). --source is the folder of the IDX files (default
// $FASHION_MNIST_DIR, else Debian's /usr/share/datasets/fashion-mnist).
//
// The PNG encoder is this file's own (IHDR, one IDAT of unfiltered rows, IEND), so it shares no code
// with the decoder lockstep reads the tree with.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { pngFile } from './png-file.mjs';

const CLASSES = ['T-shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle_boot'].map((name, i) => `${i}_${name}`);

const { values } = parseArgs({ options: { out: { type: 'string' }, count: { type: 'string' }, source: { type: 'string' } } });
const fail = (message) => {
  process.stderr.write(`fashion-mnist-png: ${message}\n`);
  process.exit(1);
};
if (values.out === undefined) fail('give --out DIR, the folder to write the tree to');
const count = values.count === undefined ? Infinity : Number(values.count);
if (values.count !== undefined && (!Number.isInteger(count) || count < 1)) fail(`--count must be a positive integer, got ${JSON.stringify(values.count)}`);
const source = values.source ?? process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

/** The bytes of an IDX file, gzip or raw, found by its name's start. */
function idx(prefix) {
  const name = [`${prefix}`, `${prefix}.gz`].find((n) => existsSync(join(source, n)));
  if (name === undefined) fail(`${join(source, prefix)}(.gz) is missing; install dataset-fashion-mnist or give --source`);
  const bytes = readFileSync(join(source, name));
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const dims = raw[3];
  const shape = Array.from({ length: dims }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  return { shape, data: raw.subarray(4 + 4 * dims) };
}

for (const [split, prefix] of [['train', 'train'], ['test', 't10k']]) {
  const images = idx(`${prefix}-images-idx3-ubyte`);
  const labels = idx(`${prefix}-labels-idx1-ubyte`);
  const [total, height, width] = images.shape;
  const n = Math.min(count, total);
  const digits = String(total - 1).length;
  for (const name of CLASSES) mkdirSync(join(values.out, split, name), { recursive: true });
  for (let i = 0; i < n; i++) {
    const pixels = images.data.subarray(i * height * width, (i + 1) * height * width);
    const file = join(values.out, split, CLASSES[labels.data[i]], `${String(i).padStart(digits, '0')}.png`);
    writeFileSync(file, pngFile(pixels, width, height, 1));
  }
  process.stdout.write(`wrote ${n} ${split} images to ${join(values.out, split)}\n`);
}
