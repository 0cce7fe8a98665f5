import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImageFolder } from '../packages/cli/src/data/images/folder.js';
import { fashionMnistInstalled, loadFashionMnist } from '../examples/src/fashion-mnist-data.js';
import { fingerprintOf, lockstep } from './helpers/lockstep.js';

// Decoding is exact: Fashion-MNIST written as PNG files by tools/data/fashion-mnist-png.mjs (its own
// encoder) reads back as the IDX files' tensors, bit for bit. CI installs dataset-fashion-mnist; where
// it is missing, this is skipped.
const TOOL = fileURLToPath(new URL('../tools/data/fashion-mnist-png.mjs', import.meta.url));
const COUNT = 1000;

describe.skipIf(!fashionMnistInstalled())('Fashion-MNIST as a PNG tree (skipped: Debian\'s dataset-fashion-mnist is not installed)', () => {
  const work = mkdtempSync(join(tmpdir(), 'lockstep-fmnist-png-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const tree = join(work, 'tree');
  let idx: ReturnType<typeof loadFashionMnist>;

  beforeAll(() => {
    execFileSync(process.execPath, [TOOL, '--out', tree, '--count', String(COUNT)]);
    idx = loadFashionMnist();
  });

  /** The first COUNT samples of an IDX split in the tree's order: by label, then by index (the file names). */
  function treeOrder(split: 'train' | 'test'): { inputs: Float32Array; labels: Int32Array; order: number[] } {
    const data = idx[split];
    const labels = data.targets.kind === 'classes' ? data.targets.labels : new Int32Array();
    const order = Array.from({ length: COUNT }, (_, i) => i).sort((a, b) => labels[a] - labels[b] || a - b);
    const selected = data.select(order);
    return { inputs: selected.inputs, labels: selected.targets.kind === 'classes' ? selected.targets.labels : new Int32Array(), order };
  }

  it(`every image of the tree (${COUNT} train + ${COUNT} test PNGs) equals its IDX original pixel for pixel, with its label`, () => {
    expect(readdirSync(join(tree, 'train'))).toEqual(['0_T-shirt_top', '1_Trouser', '2_Pullover', '3_Dress', '4_Coat', '5_Sandal', '6_Shirt', '7_Sneaker', '8_Bag', '9_Ankle_boot']);
    const folder = readImageFolder(tree, { imageChannels: 1 });
    expect(folder.skipped).toEqual([]);
    for (const [split, data] of [['train', folder.train], ['test', folder.test!]] as const) {
      const expected = treeOrder(split);
      expect(data.sampleShape).toEqual([1, 28, 28]);
      expect(data.size).toBe(COUNT);
      expect(data.targets.kind === 'classes' ? data.targets.labels : null).toEqual(expected.labels);
      // Float32Array equality compares every value: bit for bit, as each is v / 255 of the same byte.
      expect(Buffer.from(data.inputs.buffer, data.inputs.byteOffset, data.inputs.byteLength).equals(Buffer.from(expected.inputs.buffer))).toBe(true);
    }
  });

  it('train on the tree and on an IDX pair of the same images in the same order: the same parameters; predict on a class folder gives its IDX rows\' numbers', () => {
    const idxDir = join(work, 'idx');
    mkdirSync(idxDir);
    const { inputs, labels } = treeOrder('train');
    const images = Buffer.alloc(16 + inputs.length);
    images.writeUInt32BE(0x803, 0);
    [COUNT, 28, 28].forEach((dim, i) => images.writeUInt32BE(dim, 4 + 4 * i));
    inputs.forEach((value, i) => (images[16 + i] = Math.round(value * 255)));
    const labelBytes = Buffer.alloc(8 + COUNT);
    labelBytes.writeUInt32BE(0x801, 0);
    labelBytes.writeUInt32BE(COUNT, 4);
    labels.forEach((label, i) => (labelBytes[8 + i] = label));
    writeFileSync(join(idxDir, 'train-images-idx3-ubyte'), images);
    writeFileSync(join(idxDir, 'train-labels-idx1-ubyte'), labelBytes);
    const common = ['--epochs', '1', '--workers', '2', '--quiet'];
    const fromPng = lockstep(['train', '--data', `images:${tree}`, '--image-channels', '1', '--out', 'png', ...common], work);
    const fromIdx = lockstep(['train', '--data', `idx:${idxDir}`, '--out', 'idx', ...common], work);
    expect(fromPng.stderr).toBe('');
    expect(fingerprintOf(fromPng.stdout)).toBe(fingerprintOf(fromIdx.stdout));

    const test = treeOrder('test');
    const dresses = test.order.filter((i) => (idx.test.targets.kind === 'classes' ? idx.test.targets.labels[i] : -1) === 3);
    const testImages = Buffer.alloc(16 + dresses.length * 784);
    testImages.writeUInt32BE(0x803, 0);
    [dresses.length, 28, 28].forEach((dim, i) => testImages.writeUInt32BE(dim, 4 + 4 * i));
    dresses.forEach((i, r) => idx.test.inputs.subarray(i * 784, (i + 1) * 784).forEach((v, p) => (testImages[16 + r * 784 + p] = Math.round(v * 255))));
    writeFileSync(join(work, 'dresses-idx3-ubyte'), testImages);
    const predict = (input: string) => lockstep(['predict', '--checkpoint', 'png/checkpoint.lockstep', '--input', input, '--format', 'csv', '--workers', '1'], work);
    const fromFolder = predict(join(tree, 'test', '3_Dress'));
    expect(fromFolder.stderr).toBe('');
    const lines = fromFolder.stdout.trim().split('\n');
    expect(lines).toHaveLength(dresses.length + 1);
    // The folder's rows also name their file and predicted class: the probabilities that follow are the IDX rows'.
    const probabilities = (line: string): string => line.split(',').slice(2).join(',');
    expect(lines[0]!.startsWith('path,class,')).toBe(true);
    expect(lines.map(probabilities).join('\n')).toBe(predict('dresses-idx3-ubyte').stdout.trim());
  });
});
