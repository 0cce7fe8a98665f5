import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** The CRC-32 PNG chunks carry. */
export function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** An RGBA image of `width` x `height` whose pixels come from `pixel(x, y)` ([r, g, b] or [r, g, b, a]). */
export function rgbaOf(width: number, height: number, pixel: (x: number, y: number) => number[]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b, a = 255] = pixel(x, y);
      data.set([r, g, b, a], 4 * (y * width + x));
    }
  }
  return data;
}

/** An 8-bit PNG (colour type 6 by default, 0 for grey) of the pixels `pixel` gives. */
export function pngOf(width: number, height: number, pixel: (x: number, y: number) => number[], colorType: 0 | 2 | 6 = 6): Buffer {
  const png = new PNG({ width, height });
  png.data = rgbaOf(width, height, pixel);
  return PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true });
}

/** A baseline JPEG (jpeg-js's encoder, 4:2:0) of the pixels `pixel` gives. */
export function jpegOf(width: number, height: number, pixel: (x: number, y: number) => number[], quality = 90): Buffer {
  return encodeJpeg({ width, height, data: rgbaOf(width, height, pixel) }, quality).data;
}

/** A deterministic pixel pattern per (class, image), so that classes differ and can be learned. */
export function classPattern(label: number, index: number): (x: number, y: number) => number[] {
  return (x, y) => [(label * 80 + x * 9 + index * 7) % 256, (label * 40 + y * 11 + index * 3) % 256, (255 - label * 60 + x * y) % 256];
}

/** Writes `files` (path under `root` -> bytes), making folders as needed. */
export function writeTree(root: string, files: Record<string, Uint8Array>): void {
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), bytes);
  }
}

/** A tree of `perClass` 8 x 8 PNGs in each of the `classes` folders (under `split/` when given). */
export function pngTree(root: string, classes: string[], perClass: number, split = ''): void {
  const files: Record<string, Uint8Array> = {};
  classes.forEach((name, label) => {
    for (let i = 0; i < perClass; i++) files[join(split, name, `${String(i).padStart(3, '0')}.png`)] = pngOf(8, 8, classPattern(label, i));
  });
  writeTree(root, files);
}
