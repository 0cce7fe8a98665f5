import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { checkIdxPair, idxImagesToFloat, idxLabels, LockstepError, parseIdx, type IdxArray } from '@lockstep/core';

const TYPE_CODES = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e } as const;
const SIZES = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 } as const;

/** Writes an IDX buffer: magic, big-endian dimensions, then big-endian values. */
function idx(dataType: keyof typeof TYPE_CODES, shape: number[], values: number[] = []): Uint8Array {
  const header = 4 + 4 * shape.length;
  const bytes = new Uint8Array(header + values.length * SIZES[dataType]);
  const view = new DataView(bytes.buffer);
  bytes[2] = TYPE_CODES[dataType];
  bytes[3] = shape.length;
  shape.forEach((dim, i) => view.setUint32(4 + 4 * i, dim));
  values.forEach((value, i) => {
    const at = header + i * SIZES[dataType];
    if (dataType === 'uint8') view.setUint8(at, value);
    else if (dataType === 'int8') view.setInt8(at, value);
    else if (dataType === 'int16') view.setInt16(at, value);
    else if (dataType === 'int32') view.setInt32(at, value);
    else if (dataType === 'float32') view.setFloat32(at, value);
    else view.setFloat64(at, value);
  });
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Asserts the exact message and the stable E_IDX code. */
function expectIdxError(action: () => unknown, message: string): void {
  expect(action).toThrow(message);
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(LockstepError);
    expect((error as LockstepError).code).toBe('E_IDX');
    expect((error as Error).message).toBe(message);
    expect((error as Error).message).not.toContain('\n');
  }
}

describe('parseIdx', () => {
  it('reads uint8 as a view without copying', () => {
    const bytes = idx('uint8', [2, 3], [0, 1, 2, 253, 254, 255]);
    const result = parseIdx(bytes);
    expect(result.dataType).toBe('uint8');
    expect(result.shape).toEqual([2, 3]);
    expect(result.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(result.data)).toEqual([0, 1, 2, 253, 254, 255]);
    expect(result.data.buffer).toBe(bytes.buffer);
  });

  it('reads int8 with signs', () => {
    const result = parseIdx(idx('int8', [4], [-128, -1, 0, 127]));
    expect(result.dataType).toBe('int8');
    expect(result.data).toBeInstanceOf(Int8Array);
    expect(Array.from(result.data)).toEqual([-128, -1, 0, 127]);
  });

  it('reads big-endian int16', () => {
    const result = parseIdx(idx('int16', [3], [-32768, 258, 32767]));
    expect(result.dataType).toBe('int16');
    expect(result.data).toBeInstanceOf(Int16Array);
    expect(Array.from(result.data)).toEqual([-32768, 258, 32767]);
  });

  it('reads big-endian int32 from hand-written bytes', () => {
    const bytes = new Uint8Array([0, 0, 0x0c, 1, 0, 0, 0, 2, 0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xfe]);
    const result = parseIdx(bytes);
    expect(result.dataType).toBe('int32');
    expect(result.shape).toEqual([2]);
    expect(result.data).toBeInstanceOf(Int32Array);
    expect(Array.from(result.data)).toEqual([0x01020304, -2]);
  });

  it('reads big-endian float32', () => {
    const bytes = new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 2, 0x3f, 0x80, 0, 0, 0xc0, 0x49, 0x0f, 0xdb]);
    const result = parseIdx(bytes);
    expect(result.dataType).toBe('float32');
    expect(result.data).toBeInstanceOf(Float32Array);
    expect(result.data[0]).toBe(1);
    expect(result.data[1]).toBe(Math.fround(-Math.PI));
  });

  it('reads big-endian float64 in 4 dimensions', () => {
    const values = [0.1, -2.5, 1e300, -0, 3, 4, 5, Number.MIN_VALUE];
    const result = parseIdx(idx('float64', [2, 1, 2, 2], values));
    expect(result.dataType).toBe('float64');
    expect(result.shape).toEqual([2, 1, 2, 2]);
    expect(result.data).toBeInstanceOf(Float64Array);
    expect(Array.from(result.data)).toEqual(values);
  });

  it('reads from a Uint8Array that is an offset view into a larger buffer', () => {
    const inner = idx('int32', [2], [7, -9]);
    const outer = concat(new Uint8Array(3), inner, new Uint8Array(5));
    const result = parseIdx(outer.subarray(3, 3 + inner.length));
    expect(Array.from(result.data)).toEqual([7, -9]);
  });

  it('round-trips through gzip', () => {
    const raw = idx('int16', [2, 2], [1, -2, 300, -400]);
    const result = parseIdx(gzipSync(raw));
    expect(result.dataType).toBe('int16');
    expect(result.shape).toEqual([2, 2]);
    expect(Array.from(result.data)).toEqual([1, -2, 300, -400]);
  });

  it('rejects bad magic', () => {
    expectIdxError(
      () => parseIdx(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), 'data.zip'),
      'data.zip: not an IDX file: the first two bytes are 0x50 0x4B, expected 0x00 0x00; pass an IDX file, raw or gzip-compressed',
    );
  });

  it('rejects an unknown data type', () => {
    expectIdxError(
      () => parseIdx(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 1, 0]), 'x.idx'),
      'x.idx: unknown IDX data type 0x0A; expected 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32 or 0x0E float64',
    );
  });

  it('rejects 0 and 5 dimensions', () => {
    expectIdxError(
      () => parseIdx(new Uint8Array([0, 0, 0x08, 0])),
      'IDX data: IDX header declares 0 dimensions, expected 1 to 4',
    );
    expectIdxError(
      () => parseIdx(idx('uint8', [1, 1, 1, 1, 1], [9]), 'five.idx'),
      'five.idx: IDX header declares 5 dimensions, expected 1 to 4',
    );
  });

  it('rejects a zero dimension', () => {
    expectIdxError(
      () => parseIdx(idx('uint8', [3, 0]), 'empty.idx'),
      'empty.idx: IDX dimension 1 is 0, every dimension must be a positive integer; re-download or re-install the data set',
    );
  });

  it('rejects truncated headers', () => {
    expectIdxError(
      () => parseIdx(new Uint8Array([0, 0, 8]), 'tiny.idx'),
      'tiny.idx: truncated IDX header: need at least 4 bytes, found 3; re-download or re-install the data set',
    );
    expectIdxError(
      () => parseIdx(new Uint8Array(0), 'empty.idx'),
      'empty.idx: truncated IDX header: need at least 4 bytes, found 0; re-download or re-install the data set',
    );
    expectIdxError(
      () => parseIdx(idx('uint8', [10, 28, 28]).subarray(0, 10), 'head.idx'),
      'head.idx: truncated IDX header: 3 dimensions need 16 header bytes, found 10; re-download or re-install the data set',
    );
  });

  it('rejects a truncated payload, saying how many bytes were expected and found', () => {
    const bytes = concat(idx('uint8', [60000, 28, 28]), new Uint8Array(1000));
    expectIdxError(
      () => parseIdx(bytes, 'train-images-idx3-ubyte.gz'),
      'train-images-idx3-ubyte.gz: truncated IDX file: header promises 47040000 bytes of uint8 data, found 1000; re-download or re-install the data set',
    );
    expectIdxError(
      () => parseIdx(idx('float64', [2], [1, 2]).subarray(0, 20)),
      'IDX data: truncated IDX file: header promises 16 bytes of float64 data, found 12; re-download or re-install the data set',
    );
  });

  it('rejects trailing bytes', () => {
    const bytes = concat(idx('int32', [2], [1, 2]), new Uint8Array(3));
    expectIdxError(
      () => parseIdx(bytes, 'labels.idx'),
      'labels.idx: IDX file has 3 trailing bytes: header promises 8 bytes of int32 data, found 11; re-download or re-install the data set',
    );
  });

  it('rejects a header claiming 10^12 items fast, before allocating', () => {
    // A dimension is a uint32, so 10^12 items take two dimensions; the buffer holds only the header.
    const header = idx('uint8', [1_000_000, 1_000_000]);
    const started = performance.now();
    expectIdxError(
      () => parseIdx(header, 'huge.idx'),
      'huge.idx: IDX header claims shape [1000000,1000000] of uint8, 1000000000000 bytes, above the limit of 2147483648 bytes; pass a larger maxBytes if the file is genuine',
    );
    const images = idx('float64', [4_000_000_000, 28, 28, 3]);
    expectIdxError(
      () => parseIdx(images, 'huge-images.idx'),
      'huge-images.idx: IDX header claims shape [4000000000,28,28,3] of float64, 75264000000000 bytes, above the limit of 2147483648 bytes; pass a larger maxBytes if the file is genuine',
    );
    // Even with the limit lifted, the length check comes before any allocation.
    expectIdxError(
      () => parseIdx(header, 'huge.idx', { maxBytes: 2 ** 50 }),
      'huge.idx: truncated IDX file: header promises 1000000000000 bytes of uint8 data, found 0; re-download or re-install the data set',
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('applies a custom maxBytes limit', () => {
    const bytes = idx('int16', [3], [1, 2, 3]);
    expect(parseIdx(bytes, 'small.idx', { maxBytes: 6 }).shape).toEqual([3]);
    expectIdxError(
      () => parseIdx(bytes, 'small.idx', { maxBytes: 5 }),
      'small.idx: IDX header claims shape [3] of int16, 6 bytes, above the limit of 5 bytes; pass a larger maxBytes if the file is genuine',
    );
  });

  it('stops a gzip stream at the size its IDX header promises', () => {
    const bomb = gzipSync(concat(idx('uint8', [100]), new Uint8Array(10_000)));
    expectIdxError(
      () => parseIdx(bomb, 'bomb.gz', { maxBytes: 100 }),
      'bomb.gz: gzip data decompresses to more than 108 bytes, the 8 header bytes and 100 bytes of uint8 data its IDX header promises; re-download or re-install the data set',
    );
    // 16 MiB of zeros behind one 28x28 image: 16 KiB of gzip, stopped after 800 bytes of output.
    const large = gzipSync(concat(idx('uint8', [1, 28, 28]), new Uint8Array(16 * 2 ** 20)));
    expect(large.length).toBeLessThan(20_000);
    expectIdxError(
      () => parseIdx(large, 'image.gz'),
      'image.gz: gzip data decompresses to more than 800 bytes, the 16 header bytes and 784 bytes of uint8 data its IDX header promises; re-download or re-install the data set',
    );
    const claim = gzipSync(idx('uint8', [1_000_000, 1_000_000]));
    expectIdxError(
      () => parseIdx(claim, 'claim.gz'),
      'claim.gz: IDX header claims shape [1000000,1000000] of uint8, 1000000000000 bytes, above the limit of 2147483648 bytes; pass a larger maxBytes if the file is genuine',
    );
  });

  it('with the IDX header past the first 4 KiB of gzip input, stops at the maxBytes limit', () => {
    const emptyMembers = Buffer.concat(Array.from({ length: 300 }, () => gzipSync(new Uint8Array(0))));
    expect(emptyMembers.length).toBeGreaterThan(4096);
    const bomb = concat(emptyMembers, gzipSync(concat(idx('uint8', [100]), new Uint8Array(10_000))));
    expectIdxError(
      () => parseIdx(bomb, 'bomb.gz', { maxBytes: 100 }),
      'bomb.gz: gzip data decompresses to more than 120 bytes, above the limit of 100 bytes of data; pass a larger maxBytes if the file is genuine',
    );
    const genuine = concat(emptyMembers, gzipSync(idx('int16', [2], [5, -6])));
    expect(Array.from(parseIdx(genuine).data)).toEqual([5, -6]);
  });

  it('rejects a corrupt gzip stream with a clear message', () => {
    const gz = gzipSync(idx('uint8', [4], [1, 2, 3, 4]));
    expectIdxError(
      () => parseIdx(gz.subarray(0, gz.length - 10), 't10k-labels-idx1-ubyte.gz'),
      't10k-labels-idx1-ubyte.gz: corrupt gzip stream (unexpected end of file); re-download or re-install the data set',
    );
    expectIdxError(
      () => parseIdx(new Uint8Array([0x1f, 0x8b, 1, 2, 3]), 'bad.gz'),
      'bad.gz: corrupt gzip stream (unknown compression method); re-download or re-install the data set',
    );
  });
});

describe('idxImagesToFloat', () => {
  it('scales uint8 images to [0, 1] and splits off the sample shape', () => {
    const images = parseIdx(idx('uint8', [2, 1, 2], [0, 255, 51, 102]));
    const { data, sampleShape } = idxImagesToFloat(images);
    expect(sampleShape).toEqual([1, 2]);
    expect(data).toBeInstanceOf(Float32Array);
    expect(Array.from(data)).toEqual([0, 1, 0.2, 0.4].map(Math.fround));
  });

  it('rejects non-uint8 data and too few dimensions', () => {
    expectIdxError(
      () => idxImagesToFloat(parseIdx(idx('float32', [1, 1], [0.5])), 'images.idx'),
      'images.idx: IDX images must be uint8, got float32; pass an images file (idx3-ubyte)',
    );
    expectIdxError(
      () => idxImagesToFloat(parseIdx(idx('uint8', [3], [1, 2, 3])), 'labels.idx'),
      'labels.idx: IDX images need at least 2 dimensions (count, then per-sample dimensions), got shape [3]; pass an images file, not a labels file',
    );
  });
});

describe('idxLabels', () => {
  it('converts every integer type to Int32Array', () => {
    expect(Array.from(idxLabels(parseIdx(idx('uint8', [3], [0, 9, 255]))))).toEqual([0, 9, 255]);
    expect(Array.from(idxLabels(parseIdx(idx('int8', [2], [-1, 5]))))).toEqual([-1, 5]);
    expect(Array.from(idxLabels(parseIdx(idx('int16', [2], [-300, 300]))))).toEqual([-300, 300]);
    const int32 = parseIdx(idx('int32', [2], [70000, -1]));
    expect(idxLabels(int32)).toBe(int32.data);
    expect(idxLabels(int32)).toBeInstanceOf(Int32Array);
  });

  it('rejects more than one dimension and float types', () => {
    expectIdxError(
      () => idxLabels(parseIdx(idx('uint8', [1, 2], [1, 2])), 'images.idx'),
      'images.idx: IDX labels must have 1 dimension, got shape [1,2]; pass a labels file (idx1-ubyte), not an images file',
    );
    expectIdxError(
      () => idxLabels(parseIdx(idx('float64', [1], [1])), 'floats.idx'),
      'floats.idx: IDX labels must have an integer type, got float64',
    );
  });
});

describe('checkIdxPair', () => {
  it('accepts equal counts and names both counts when they differ', () => {
    expect(() => checkIdxPair(10, 10)).not.toThrow();
    expectIdxError(
      () => checkIdxPair(10000, 60000, 'fashion-mnist t10k'),
      'fashion-mnist t10k: images and labels do not match: 10000 images but 60000 labels; pass the images and labels files of the same split',
    );
  });
});

const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const exists = existsSync(join(FASHION_MNIST, 't10k-images-idx3-ubyte.gz'))
  && existsSync(join(FASHION_MNIST, 't10k-labels-idx1-ubyte.gz'));

describe('real Fashion-MNIST', () => {
  it.skipIf(!exists)('reads the t10k images and labels', () => {
    const imagesFile = 't10k-images-idx3-ubyte.gz';
    const labelsFile = 't10k-labels-idx1-ubyte.gz';
    const images: IdxArray = parseIdx(readFileSync(join(FASHION_MNIST, imagesFile)), imagesFile);
    const labels: IdxArray = parseIdx(readFileSync(join(FASHION_MNIST, labelsFile)), labelsFile);
    expect(images.dataType).toBe('uint8');
    expect(images.shape).toEqual([10000, 28, 28]);
    const { data, sampleShape } = idxImagesToFloat(images, imagesFile);
    expect(sampleShape).toEqual([28, 28]);
    expect(data.length).toBe(10000 * 28 * 28);
    expect(data.every((v) => v >= 0 && v <= 1)).toBe(true);
    const classes = idxLabels(labels, labelsFile);
    expect(classes.length).toBe(10000);
    expect(classes.every((label) => Number.isInteger(label) && label >= 0 && label <= 9)).toBe(true);
    expect(new Set(classes).size).toBe(10);
    checkIdxPair(images.shape[0], classes.length, 'fashion-mnist t10k');
  });
});
