import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeIdxImages } from './helpers/images.js';
import { lockstep } from './helpers/lockstep.js';

// IDX labels follow CSV's rule: each is a class from 0 to 65535, and a training set has two classes
// or more; otherwise one line names the labels file (and the sample).
const work = mkdtempSync(join(tmpdir(), 'lockstep-idx-labels-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const COUNT = 8;

/** An IDX labels file of `type` (0x08 uint8, 0x09 int8, 0x0c int32) holding `labels`, big-endian. */
function labelsFile(type: number, labels: number[]): Buffer {
  const size = type === 0x0c ? 4 : 1;
  const bytes = Buffer.alloc(8 + size * labels.length);
  bytes.writeUInt32BE((type << 8) | 1, 0);
  bytes.writeUInt32BE(labels.length, 4);
  labels.forEach((label, i) => (size === 4 ? bytes.writeInt32BE(label, 8 + 4 * i) : bytes.writeUInt8(label & 0xff, 8 + i)));
  return bytes;
}

/** An IDX folder of COUNT 8 x 8 images whose train labels are `labels`. */
function folder(name: string, labels: Buffer, file = 'train-labels-idx1-ubyte'): string {
  const dir = join(work, name);
  writeIdxImages(dir, COUNT, 8);
  writeFileSync(join(dir, file), labels);
  return dir;
}

const twoClasses = Array.from({ length: COUNT }, (_, i) => i % 2);
const cases: Array<[string, string, string]> = [
  ['int8 -1', folder('negative', labelsFile(0x09, [-1, ...twoClasses.slice(1)])), 'sample 0 (counting from 0) has label -1'],
  ['int32 2147483647', folder('huge', labelsFile(0x0c, [...twoClasses.slice(0, 5), 2147483647, 0, 1])), 'sample 5 (counting from 0) has label 2147483647'],
  ['int32 65536', folder('past', labelsFile(0x0c, [...twoClasses.slice(0, 7), 65536])), 'sample 7 (counting from 0) has label 65536'],
];

describe('IDX labels', () => {
  it.each(cases)('%s: one line naming the labels file and the sample, exit 1, no run folder', (_, dir, what) => {
    const { status, stdout, stderr } = lockstep(['train', '--data', `idx:${dir}`, '--out', 'never'], work);
    expect(stderr).toBe(`lockstep: ${join(dir, 'train-labels-idx1-ubyte')}: ${what}; a label must be an integer from 0 to 65535, its class, so pass the labels file that belongs to these images\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('a test pair with a negative label: the same line, naming the test labels file', () => {
    const dir = folder('test-negative', labelsFile(0x09, [0, 1, 0, 1, 0, -3, 0, 1]), 't10k-labels-idx1-ubyte');
    copyFileSync(join(dir, 'train-images-idx3-ubyte'), join(dir, 't10k-images-idx3-ubyte'));
    const { status, stderr } = lockstep(['train', '--data', `idx:${dir}`, '--out', 'never'], work);
    expect(stderr).toBe(`lockstep: ${join(dir, 't10k-labels-idx1-ubyte')}: sample 5 (counting from 0) has label -3; a label must be an integer from 0 to 65535, its class, so pass the labels file that belongs to these images\n`);
    expect(status).toBe(1);
  });

  it('one class (every label 2): refused as image folders are, naming the labels file', () => {
    const dir = folder('one-class', labelsFile(0x08, new Array(COUNT).fill(2)));
    const { status, stdout, stderr } = lockstep(['train', '--data', `idx:${dir}`, '--out', 'never'], work);
    expect(stderr).toBe(`lockstep: ${join(dir, 'train-labels-idx1-ubyte')} holds one class (every label is 2); classification needs two or more, so pass a labels file with samples of every class\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
  });
});
