import { LockstepError } from '../errors.js';
import { runPatchPass } from './patches.js';

/** Where the patches of a 2-D convolution or pooling window come from. */
export interface PatchGeometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly outHeight: number;
  readonly outWidth: number;
}

/** Output size along one axis; below 1 means the kernel does not fit. */
export function outputSize(size: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** The pass's size arguments: the geometry, then the channel range. */
function sizes(g: PatchGeometry, samples: number, first: number, count: number): number[] {
  return [samples, g.channels, g.height, g.width, first, count, ...g.kernel, ...g.stride, ...g.padding, ...g.dilation, g.outHeight, g.outWidth];
}

function rowsLength(g: PatchGeometry, samples: number, count: number): number {
  return samples * g.outHeight * g.outWidth * count * g.kernel[0] * g.kernel[1];
}

function checkLengths(name: string, g: PatchGeometry, samples: number, images: Float32Array, rows: Float32Array, count: number): void {
  const imageFloats = samples * g.channels * g.height * g.width;
  if (images.length < imageFloats || rows.length < rowsLength(g, samples, count)) {
    throw new LockstepError('E_SHAPE', `${name}: ${samples} samples need ${imageFloats} image values and ${rowsLength(g, samples, count)} row values, got ${images.length} and ${rows.length}`);
  }
}

/**
 * im2col: row (n, oh, ow) of `rows` gets channels [first, first + count) of the window at (oh, ow) of
 * sample n, ordered (channel, kh, kw); positions in the padding read 0. On the patch kernel
 * (wasm/patches.wat), which writes the rows one after another.
 */
export function imagesToRows(geometry: PatchGeometry, samples: number, first: number, count: number, images: Float32Array, rows: Float32Array): void {
  checkLengths('im2col', geometry, samples, images, rows, count);
  const imageFloats = samples * geometry.channels * geometry.height * geometry.width;
  runPatchPass(
    'imagesToRows',
    [
      [images.subarray(0, imageFloats), 'read'],
      [rows.subarray(0, rowsLength(geometry, samples, count)), 'write'],
    ],
    sizes(geometry, samples, first, count),
  );
}

/**
 * col2im: adds each value of `rows` (laid out as `imagesToRows` makes them) back into the image
 * position it came from, in float32; padding positions are skipped. Windows are visited in one fixed
 * order (sample, output position, channel, kh, kw), so overlapping windows sum the same way every time.
 */
export function addRowsToImages(geometry: PatchGeometry, samples: number, first: number, count: number, rows: Float32Array, images: Float32Array): void {
  checkLengths('col2im', geometry, samples, images, rows, count);
  const imageFloats = samples * geometry.channels * geometry.height * geometry.width;
  runPatchPass(
    'addRowsToImages',
    [
      [rows.subarray(0, rowsLength(geometry, samples, count)), 'read'],
      [images.subarray(0, imageFloats), 'update'],
    ],
    sizes(geometry, samples, first, count),
  );
}

/**
 * rows[(n * plane + p) * count + o] = planes[(n * channels + first + o) * plane + p]: channels
 * [first, first + count) of NCHW planes of `plane` values as the rows of a product, one row per
 * position; `rowsToPlanes` moves them back.
 */
export function planesToRows(samples: number, channels: number, first: number, count: number, plane: number, planes: Float32Array, rows: Float32Array): void {
  transpose(samples, channels, first, count, plane, planes, rows, false);
}

/** With `bias` (count values), each value moved to the planes is the row's value plus its channel's bias, in float32. */
export function rowsToPlanes(samples: number, channels: number, first: number, count: number, plane: number, rows: Float32Array, planes: Float32Array, bias: Float32Array | null = null): void {
  transpose(samples, channels, first, count, plane, planes, rows, true, bias);
}

const NO_BIAS = new Float32Array(0);

function transpose(samples: number, channels: number, first: number, count: number, plane: number, planes: Float32Array, rows: Float32Array, toPlanes: boolean, bias: Float32Array | null = null): void {
  const planeFloats = samples * channels * plane;
  const rowFloats = samples * plane * count;
  if (planes.length < planeFloats || rows.length < rowFloats || first + count > channels || (bias !== null && bias.length < count)) {
    throw new LockstepError('E_SHAPE', `transpose: channels [${first}, ${first + count}) of ${channels}, ${samples} samples of ${plane} positions need ${planeFloats} plane and ${rowFloats} row values, got ${planes.length} and ${rows.length}`);
  }
  // Planes written back are updated, not written: the channels outside the range keep their values.
  runPatchPass(
    'transpose',
    [
      [planes.subarray(0, planeFloats), toPlanes ? 'update' : 'read'],
      [rows.subarray(0, rowFloats), toPlanes ? 'read' : 'write'],
      [bias === null ? NO_BIAS : bias.subarray(0, count), 'read'],
    ],
    [samples, channels, first, count, plane, toPlanes ? 1 : 0, bias === null ? 0 : 1],
  );
}
