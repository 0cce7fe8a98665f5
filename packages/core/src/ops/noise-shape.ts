import { LockstepError } from '../errors.js';
import { formatShape, sizeOf } from '../tensor.js';
import { multiplyRunsInto } from './elementwise.js';

/**
 * Keras' `noise_shape`: the per-sample shape of a dropout mask. Each entry is either the sample's size
 * on that axis or 1, and a 1 shares one keep/drop decision along the axis: for [C,H,W] samples,
 * [C,1,1] drops whole channels and [1,H,W] drops the same pixels in every channel. Mask unit u is the
 * row-major index into the noise shape, so masks stay addressed by (seed, layer path, step, sample, u).
 */

export function checkNoiseShape(noiseShape: unknown, where: string): number[] {
  if (!Array.isArray(noiseShape) || noiseShape.length === 0 || !noiseShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new LockstepError('E_OPTION', `${where}: noiseShape must be a non-empty list of positive integers, got ${JSON.stringify(noiseShape)}`);
  }
  return [...(noiseShape as number[])];
}

/** Throws E_SHAPE unless `noiseShape` has one entry per axis of `sampleShape`, each 1 or that axis's size. */
export function checkNoiseShapeFits(noiseShape: readonly number[], sampleShape: readonly number[], where: string): void {
  if (noiseShape.length !== sampleShape.length) {
    throw new LockstepError(
      'E_SHAPE',
      `${where}: noiseShape ${formatShape(noiseShape)} has ${noiseShape.length} ${noiseShape.length === 1 ? 'axis' : 'axes'} ` +
        `but samples have shape ${formatShape(sampleShape)}; give one entry per axis`,
    );
  }
  noiseShape.forEach((size, axis) => {
    if (size !== 1 && size !== sampleShape[axis]) {
      throw new LockstepError(
        'E_SHAPE',
        `${where}: noiseShape ${formatShape(noiseShape)} has ${size} on axis ${axis} where samples ${formatShape(sampleShape)} have ${sampleShape[axis]}; ` +
          'use 1 (shared along the axis) or the sample size',
      );
    }
  });
}

/**
 * Mask units shared by several elements of a sample: the unit of each element (row-major), the units
 * per sample, and, when each unit is one run of consecutive elements in order (whole feature maps of
 * NCHW samples, as Dropout2d drops them), the run's length, else 0.
 */
export interface NoiseLayout {
  readonly unitOf: Uint32Array;
  readonly units: number;
  readonly run: number;
}

/** The noise layout of samples of `sampleShape` under `noiseShape`, checked to fit; built once per sample shape. */
export function noiseLayout(sampleShape: readonly number[], noiseShape: readonly number[], where: string): NoiseLayout {
  checkNoiseShapeFits(noiseShape, sampleShape, where);
  const unitOf = noiseUnitIndex(sampleShape, noiseShape);
  const units = sizeOf(noiseShape);
  return { unitOf, units, run: unitRun(unitOf, units) };
}

/** For each element of a sample (row-major), the index of its mask unit in the noise shape. */
function noiseUnitIndex(sampleShape: readonly number[], noiseShape: readonly number[]): Uint32Array {
  let size = 1;
  for (const dim of sampleShape) size *= dim;
  const unitOf = new Uint32Array(size);
  const position = new Array<number>(sampleShape.length).fill(0);
  for (let element = 0; element < size; element++) {
    let unit = 0;
    for (let axis = 0; axis < sampleShape.length; axis++) unit = unit * noiseShape[axis] + (noiseShape[axis] === 1 ? 0 : position[axis]);
    unitOf[element] = unit;
    for (let axis = sampleShape.length - 1; axis >= 0 && ++position[axis] === sampleShape[axis]; axis--) position[axis] = 0;
  }
  return unitOf;
}

/** The run length when each unit is one run of consecutive elements, in order; else 0. */
function unitRun(unitOf: Uint32Array, units: number): number {
  const run = unitOf.length / units;
  if (!Number.isInteger(run)) return 0;
  for (let e = 0; e < unitOf.length; e++) if (unitOf[e] !== Math.floor(e / run)) return 0;
  return run;
}

/**
 * out[i] = x[i] times the multiplier of its row's unit `unitOf[i % sampleSize]`; also the backward pass.
 * Units that are runs of elements go on the element-wise SIMD kernel, the same float32 products.
 */
export function applyBroadcastMask(x: Float32Array, multipliers: Float32Array, noise: NoiseLayout, out: Float32Array): void {
  const { unitOf, units, run } = noise;
  if (run > 0) {
    multiplyRunsInto(x, multipliers, run, out);
    return;
  }
  const sampleSize = unitOf.length;
  for (let row = 0, at = 0; at < x.length; row++, at += sampleSize) {
    const first = row * units;
    for (let e = 0; e < sampleSize; e++) out[at + e] = x[at + e] * multipliers[first + unitOf[e]];
  }
}
