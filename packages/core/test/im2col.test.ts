import { describe, expect, it } from 'vitest';
import { kernelMemory, useKernelMemory } from '@lockstep/core';
import { addColumnsToImages, imagesToColumns, outputSize, planesToRows, rowsToPlanes, type PatchGeometry } from '../src/ops/im2col.js';

/**
 * The definition, one window element at a time in (sample, output position, channel, kh, kw) order:
 * its index in the columns (row (channel, kh, kw), column (sample, output position)) and in the images.
 */
function eachWindowElement(g: PatchGeometry, samples: number, first: number, count: number, visit: (column: number, image: number | null) => void): void {
  const [kH, kW] = g.kernel;
  const positions = samples * g.outHeight * g.outWidth;
  for (let n = 0; n < samples; n++) {
    for (let oh = 0; oh < g.outHeight; oh++) {
      for (let ow = 0; ow < g.outWidth; ow++) {
        const position = (n * g.outHeight + oh) * g.outWidth + ow;
        let feature = 0;
        for (let c = 0; c < count; c++) {
          for (let kh = 0; kh < kH; kh++) {
            for (let kw = 0; kw < kW; kw++, feature++) {
              const ih = oh * g.stride[0] - g.padding[0] + kh * g.dilation[0];
              const iw = ow * g.stride[1] - g.padding[1] + kw * g.dilation[1];
              const inside = ih >= 0 && ih < g.height && iw >= 0 && iw < g.width;
              visit(feature * positions + position, inside ? ((n * g.channels + first + c) * g.height + ih) * g.width + iw : null);
            }
          }
        }
      }
    }
  }
}

const values = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 3);

describe('im2col and col2im', () => {
  // Odd sizes, unequal strides, padding and dilation, and a channel range that is not the whole image.
  // The first three are "same" convolutions (strides 1, output rows as wide as the image's), whose
  // rows are copied as one block; the fourth has strides 1 without padding.
  const geometries = [
    { channels: 5, height: 9, width: 7, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] },
    { channels: 5, height: 9, width: 7, kernel: [5, 3], stride: [1, 1], padding: [2, 2], dilation: [1, 2] },
    { channels: 5, height: 4, width: 10, kernel: [7, 9], stride: [1, 1], padding: [3, 4], dilation: [1, 1] },
    { channels: 5, height: 9, width: 11, kernel: [2, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
    { channels: 5, height: 11, width: 8, kernel: [3, 2], stride: [2, 3], padding: [2, 1], dilation: [2, 1] },
    { channels: 5, height: 6, width: 6, kernel: [5, 5], stride: [1, 2], padding: [0, 3], dilation: [1, 2] },
  ].map((partial) => {
    const [kH, kW] = partial.kernel as [number, number];
    return {
      ...partial,
      kernel: [kH, kW] as const,
      stride: partial.stride as [number, number],
      padding: partial.padding as [number, number],
      dilation: partial.dilation as [number, number],
      outHeight: outputSize(partial.height, kH, partial.stride[0]!, partial.padding[0]!, partial.dilation[0]!),
      outWidth: outputSize(partial.width, kW, partial.stride[1]!, partial.padding[1]!, partial.dilation[1]!),
    } satisfies PatchGeometry;
  });
  const [samples, first, count] = [3, 1, 3];

  const columnFloats = (g: PatchGeometry, taken: number): number => samples * g.outHeight * g.outWidth * taken * g.kernel[0] * g.kernel[1];

  it.each(geometries.map((g, i) => [i, g] as const))('geometry %i: the columns hold the window values, padding reads 0', (_, g) => {
    const images = values(samples * g.channels * g.height * g.width, 1);
    const columns = new Float32Array(columnFloats(g, count)).fill(Number.NaN);
    imagesToColumns(g, samples, first, count, images, columns);
    eachWindowElement(g, samples, first, count, (column, image) => expect(columns[column]).toBe(image === null ? 0 : images[image]));
  });

  it.each(geometries.map((g, i) => [i, g] as const))('geometry %i: col2im adds in the fixed order, bit for bit', (_, g) => {
    const columns = values(columnFloats(g, count), 2);
    const expected = values(samples * g.channels * g.height * g.width, 3);
    const images = expected.slice();
    eachWindowElement(g, samples, first, count, (column, image) => {
      if (image !== null) expected[image] = Math.fround(expected[image]! + columns[column]!);
    });
    addColumnsToImages(g, samples, first, count, columns, images);
    expect(Buffer.from(images.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });

  // Runs of values move four at a time; the images end where the memory ends (the channel range takes
  // the last plane), so a read past them would trap, and values after the columns would show a write.
  it.each(geometries.map((g, i) => [i, g] as const))('geometry %i in a kernel memory, the images last in it: im2col and col2im read and write nothing past their arrays', (_, g) => {
    const [from, taken] = [2, 3];
    const imageFloats = samples * g.channels * g.height * g.width;
    const memory = kernelMemory(4 * (columnFloats(g, taken) + 64 + imageFloats) + 65536, 'a test memory');
    const columns = new Float32Array(memory.buffer, 0, columnFloats(g, taken));
    const after = new Float32Array(memory.buffer, columns.byteLength, 64).fill(7);
    const images = new Float32Array(memory.buffer, memory.buffer.byteLength - 4 * imageFloats, imageFloats);
    images.set(values(imageFloats, 4));
    try {
      useKernelMemory(memory, [memory.buffer]);
      imagesToColumns(g, samples, from, taken, images, columns);
      eachWindowElement(g, samples, from, taken, (column, image) => expect(columns[column]).toBe(image === null ? 0 : images[image]));
      columns.set(values(columns.length, 5));
      const sums = images.slice();
      eachWindowElement(g, samples, from, taken, (column, image) => {
        if (image !== null) sums[image] = Math.fround(sums[image]! + columns[column]!);
      });
      addColumnsToImages(g, samples, from, taken, columns, images);
      expect(Buffer.from(images.slice().buffer).equals(Buffer.from(sums.buffer))).toBe(true);
      expect(after.every((v) => v === 7)).toBe(true);
    } finally {
      useKernelMemory(null);
    }
  });

  // Counts and planes that are multiples of 4 go in 4 x 4 blocks on SIMD, others one value at a time.
  it.each([
    [3, 7, 2, 4, 5],
    [3, 7, 2, 4, 8],
    [2, 9, 1, 8, 12],
  ])('planes to rows and back, bit for bit: %i samples of %i channels, channels from %i, %i of them, planes of %i', (n, channels, first, count, plane) => {
    const planes = values(n * channels * plane, 4);
    const rows = new Float32Array(n * plane * count).fill(Number.NaN);
    planesToRows(n, channels, first, count, plane, planes, rows);
    for (let s = 0; s < n; s++)
      for (let p = 0; p < plane; p++)
        for (let o = 0; o < count; o++) expect(rows[(s * plane + p) * count + o]).toBe(planes[(s * channels + first + o) * plane + p]);
    const back = values(n * channels * plane, 5);
    const expected = back.slice();
    for (let s = 0; s < n; s++)
      for (let o = 0; o < count; o++)
        for (let p = 0; p < plane; p++) expected[(s * channels + first + o) * plane + p] = rows[(s * plane + p) * count + o]!;
    rowsToPlanes(n, channels, first, count, plane, rows, back);
    expect(Buffer.from(back.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });

  it.each([
    [3, 7, 2, 4, 5],
    [3, 7, 2, 4, 8],
    [2, 9, 1, 8, 12],
  ])('rows plus a bias to planes, each a float32 sum: %i samples of %i channels, channels from %i, %i of them, planes of %i', (n, channels, first, count, plane) => {
    const rows = values(n * plane * count, 6);
    const bias = values(count, 7);
    bias[0] = -0;
    const planes = values(n * channels * plane, 8);
    const expected = planes.slice();
    for (let s = 0; s < n; s++)
      for (let o = 0; o < count; o++)
        for (let p = 0; p < plane; p++) expected[(s * channels + first + o) * plane + p] = Math.fround(rows[(s * plane + p) * count + o]! + bias[o]!);
    rowsToPlanes(n, channels, first, count, plane, rows, planes, bias);
    expect(Buffer.from(planes.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });
  it.each([
    [3, 7, 2, 4, 5],
    [3, 7, 2, 4, 8],
    [2, 9, 1, 8, 12],
  ])('a ReLU riding along, each way, with the bits of relu and its backward: %i samples of %i channels, channels from %i, %i of them, planes of %i', (n, channels, first, count, plane) => {
    const rows = values(n * plane * count, 9);
    rows[0] = Number.NaN;
    rows[1] = -0;
    const bias = values(count, 10);
    const planes = values(n * channels * plane, 11);
    const expected = planes.slice();
    const relu = (v: number): number => (v < 0 ? 0 : v);
    for (let s = 0; s < n; s++)
      for (let o = 0; o < count; o++)
        for (let p = 0; p < plane; p++) expected[(s * channels + first + o) * plane + p] = relu(Math.fround(rows[(s * plane + p) * count + o]! + bias[o]!));
    rowsToPlanes(n, channels, first, count, plane, rows, planes, bias, true);
    expect(Buffer.from(planes.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    // Back through it: the gradient kept where the rectified output is > 0 (NaN and -0 are not).
    const grads = values(n * channels * plane, 12);
    const gradRows = new Float32Array(n * plane * count).fill(Number.NaN);
    planesToRows(n, channels, first, count, plane, grads, gradRows, planes);
    const want = new Float32Array(n * plane * count);
    for (let s = 0; s < n; s++)
      for (let p = 0; p < plane; p++)
        for (let o = 0; o < count; o++) {
          const at = (s * channels + first + o) * plane + p;
          want[(s * plane + p) * count + o] = planes[at]! > 0 ? grads[at]! : 0;
        }
    expect(Buffer.from(gradRows.buffer).equals(Buffer.from(want.buffer))).toBe(true);
  });
});
