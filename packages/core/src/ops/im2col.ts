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

/** Runs im2col (columns written from the images) or col2im (images updated from the columns) on the patch kernel. */
function patchPass(pass: 'imagesToColumns' | 'addColumnsToImages', g: PatchGeometry, samples: number, first: number, count: number, images: Float32Array, columns: Float32Array): void {
  const toColumns = pass === 'imagesToColumns';
  const imageFloats = samples * g.channels * g.height * g.width;
  const columnFloats = samples * g.outHeight * g.outWidth * count * g.kernel[0] * g.kernel[1];
  if (images.length < imageFloats || columns.length < columnFloats) {
    throw new LockstepError('E_SHAPE', `${toColumns ? 'im2col' : 'col2im'}: ${samples} samples need ${imageFloats} image values and ${columnFloats} column values, got ${images.length} and ${columns.length}`);
  }
  const imageArray = [images.subarray(0, imageFloats), toColumns ? 'read' : 'update'] as const;
  const columnArray = [columns.subarray(0, columnFloats), toColumns ? 'write' : 'read'] as const;
  runPatchPass(pass, toColumns ? [imageArray, columnArray] : [columnArray, imageArray], sizes(g, samples, first, count));
}

/**
 * im2col, transposed: row f of `columns` (f = (channel - first, kh, kw) in that order) holds window
 * element f of every position (n, oh, ow) in order; positions in the padding read 0. (The patches'
 * matrix with one row per position is its transpose: the conv's products read it as a transposed view.)
 * On the patch kernel (wasm/patches.wat), which copies runs of image values four at a time.
 */
export function imagesToColumns(geometry: PatchGeometry, samples: number, first: number, count: number, images: Float32Array, columns: Float32Array): void {
  patchPass('imagesToColumns', geometry, samples, first, count, images, columns);
}

/**
 * col2im: adds each value of `columns` (laid out as `imagesToColumns` makes them) back into the image
 * position it came from, in float32; padding positions are skipped. Each image value's terms are added
 * in one fixed order, that of the windows in (sample, output position, channel, kh, kw) order, so
 * overlapping windows sum the same way every time.
 */
export function addColumnsToImages(geometry: PatchGeometry, samples: number, first: number, count: number, columns: Float32Array, images: Float32Array): void {
  patchPass('addColumnsToImages', geometry, samples, first, count, images, columns);
}

/**
 * rows[(n * plane + p) * count + o] = planes[(n * channels + first + o) * plane + p]: channels
 * [first, first + count) of NCHW planes of `plane` values as the rows of a product, one row per
 * position; `rowsToPlanes` moves them back. With `signs` (laid out like `planes`: a ReLU's output),
 * each value is taken back through that ReLU on the way: kept where its sign value is > 0, else 0.
 */
export function planesToRows(samples: number, channels: number, first: number, count: number, plane: number, planes: Float32Array, rows: Float32Array, signs: Float32Array | null = null): void {
  transpose(samples, channels, first, count, plane, planes, rows, false, null, signs !== null, signs);
}

/**
 * With `bias` (count values), each value moved to the planes is the row's value plus its channel's
 * bias, in float32; with `rectify`, then v < 0 ? 0 : v, as a ReLU after it would make it.
 */
export function rowsToPlanes(samples: number, channels: number, first: number, count: number, plane: number, rows: Float32Array, planes: Float32Array, bias: Float32Array | null = null, rectify = false): void {
  transpose(samples, channels, first, count, plane, planes, rows, true, bias, rectify, null);
}

const NO_VALUES = new Float32Array(0);

/** With `rectify`, a ReLU rides along: applied going to the planes, taken back by `signs` going to the rows. */
function transpose(
  samples: number,
  channels: number,
  first: number,
  count: number,
  plane: number,
  planes: Float32Array,
  rows: Float32Array,
  toPlanes: boolean,
  bias: Float32Array | null,
  rectify: boolean,
  signs: Float32Array | null,
): void {
  const planeFloats = samples * channels * plane;
  const rowFloats = samples * plane * count;
  const signsShort = signs !== null && signs.length < planeFloats;
  if (planes.length < planeFloats || rows.length < rowFloats || first + count > channels || (bias !== null && bias.length < count) || signsShort) {
    throw new LockstepError('E_SHAPE', `transpose: channels [${first}, ${first + count}) of ${channels}, ${samples} samples of ${plane} positions need ${planeFloats} plane (and sign) and ${rowFloats} row values, got ${planes.length} and ${rows.length}`);
  }
  // Planes written back are updated, not written: the channels outside the range keep their values.
  runPatchPass(
    'transpose',
    [
      [planes.subarray(0, planeFloats), toPlanes ? 'update' : 'read'],
      [rows.subarray(0, rowFloats), toPlanes ? 'read' : 'write'],
      [bias === null ? NO_VALUES : bias.subarray(0, count), 'read'],
      [signs === null ? NO_VALUES : signs.subarray(0, planeFloats), 'read'],
    ],
    [samples, channels, first, count, plane, toPlanes ? 1 : 0, bias === null ? 0 : 1, rectify ? 1 : 0],
  );
}
