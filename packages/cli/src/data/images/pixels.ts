import type { DecodedImage } from './decode.js';

/**
 * The image as `channels` planes of float64 values in [0, 1], channel by channel, row by row (CHW).
 * A sample s of an image whose samples go up to `max` becomes s / max: v / 255 for 8 bits, as the
 * IDX reader's, and v / 65535 for 16 bits. Alpha is dropped, the colour kept as stored (PIL's
 * convert("RGB")). One channel is the ITU-R 601 luma in PIL's integer form,
 * (19595 R + 38470 G + 7471 B + 32768) >> 16, which gives a grey pixel's value back exactly.
 */
export function toPlanes(image: DecodedImage, channels: number): Float64Array {
  const { width, height, max, rgba } = image;
  const area = width * height;
  const planes = new Float64Array(channels * area);
  for (let p = 0; p < area; p++) {
    const r = rgba[4 * p];
    const g = rgba[4 * p + 1];
    const b = rgba[4 * p + 2];
    if (channels === 1) {
      const grey = r === g && g === b ? r : Math.floor((19595 * r + 38470 * g + 7471 * b + 32768) / 65536);
      planes[p] = grey / max;
    } else {
      planes[p] = r / max;
      planes[area + p] = g / max;
      planes[2 * area + p] = b / max;
    }
  }
  return planes;
}
