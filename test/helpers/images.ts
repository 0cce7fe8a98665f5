import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A small IDX pair of `size` x `size` images in DIR, `classes` classes drawn as bright bars in
 * different rows over a faint pattern, so that crops, shifts and flips change them.
 */
export function writeIdxImages(dir: string, count: number, size = 28, classes = 4): void {
  mkdirSync(dir, { recursive: true });
  const header = (magic: number, dims: number[]): Buffer => {
    const bytes = Buffer.alloc(4 + 4 * dims.length);
    bytes.writeUInt32BE(magic, 0);
    dims.forEach((d, i) => bytes.writeUInt32BE(d, 4 + 4 * i));
    return bytes;
  };
  const pixels = Buffer.alloc(count * size * size);
  const labels = Buffer.alloc(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % classes;
    for (let p = 0; p < size * size; p++) {
      const [y, x] = [Math.floor(p / size), p % size];
      pixels[i * size * size + p] = (y % classes === labels[i] && x < size - 4 ? 200 : 0) + ((i * 31 + p * 7) % 50);
    }
  }
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), Buffer.concat([header(0x803, [count, size, size]), pixels]));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), Buffer.concat([header(0x801, [count]), labels]));
}
