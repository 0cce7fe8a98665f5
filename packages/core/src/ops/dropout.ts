import { describeValue, LockstepError } from '../errors.js';
import type { Key } from '../random/key.js';
import { fillBatchMask } from '../random/mask.js';
import { multiplyInto } from './elementwise.js';
import { applyBroadcastMask, type NoiseLayout } from './noise-shape.js';
import type { Tensor } from '../tensor.js';

/**
 * `inverted` (default) scales kept units by 1/(1-p) while training and is the identity in eval.
 * `classic` keeps units unscaled while training and multiplies by the keep probability 1-p in eval.
 * Both give the same expected activation.
 */
export type DropoutScaling = 'inverted' | 'classic';

export function checkDropoutRate(p: unknown, where = 'dropout'): number {
  if (typeof p !== 'number') throw new LockstepError('E_OPTION', `${where}: p must be a number in [0, 1], got ${describeValue(p)}`);
  if (!(p >= 0 && p <= 1)) {
    throw new LockstepError('E_OPTION', `${where}: p=${String(p)} is out of range [0, 1]`);
  }
  return p;
}

export function checkScaling(scaling: unknown, where = 'dropout'): DropoutScaling {
  if (scaling !== 'inverted' && scaling !== 'classic') {
    throw new LockstepError('E_OPTION', `${where}: scaling must be "inverted" or "classic", got ${JSON.stringify(scaling)}`);
  }
  return scaling;
}

/** The factor applied to kept units while training; with p = 1 nothing is kept and the factor is moot. */
export function trainScale(p: number, scaling: DropoutScaling): number {
  if (scaling === 'classic') return 1;
  return p < 1 ? 1 / (1 - p) : 0;
}

/** The factor applied to every unit in eval mode. */
export function evalScale(p: number, scaling: DropoutScaling): number {
  return scaling === 'classic' ? 1 - p : 1;
}

/**
 * out[i] = x[i] * multipliers[i], where a multiplier is 0 (dropped) or the kept units' scale. Also the
 * backward pass, with x = the output gradient. x's length is the number of values.
 */
export function applyMask(x: Float32Array, multipliers: Float32Array, out: Float32Array): void {
  multiplyInto(x, multipliers, out);
}

export function scaleInto(x: Float32Array, scale: number, out: Float32Array): void {
  if (scale === 1) out.set(x);
  else for (let i = 0; i < x.length; i++) out[i] = x[i] * scale;
}

export interface DropoutOptions {
  training: boolean;
  scaling?: DropoutScaling;
  /** The layer's mask key (see `layerMaskKey`). */
  key: Key;
  step: number;
  /** Global sample index of each row. */
  samples: ArrayLike<number>;
  /** Mask units shared by several elements (`noiseLayout`); default: every element of a sample is a unit. */
  noise?: NoiseLayout;
  /** Buffers to fill instead of new arrays (a layer reuses them): the output, and the mask (rows x units). */
  out?: Float32Array;
  mask?: Float32Array;
}

/**
 * Pure dropout over a batch: the output and, in training, the multipliers it used (the backward pass
 * multiplies the output gradient by them). Inverted dropout in eval mode returns `x` itself.
 */
export function dropout(x: Tensor, p: number, options: DropoutOptions): { output: Tensor; mask: Float32Array | null } {
  checkDropoutRate(p);
  const scaling = checkScaling(options.scaling ?? 'inverted');
  if (!options.training) {
    const scale = evalScale(p, scaling);
    if (scale === 1) return { output: x, mask: null };
    const out = options.out ?? new Float32Array(x.data.length);
    scaleInto(x.data, scale, out);
    return { output: { data: out, shape: x.shape }, mask: null };
  }
  const rows = x.shape[0] ?? 0;
  if (options.samples.length !== rows) {
    throw new LockstepError('E_SHAPE', `dropout: ${rows} rows but ${options.samples.length} sample indices`);
  }
  const { noise } = options;
  const units = noise?.units ?? (rows === 0 ? 0 : x.data.length / rows);
  const mask = fillBatchMask(options.key, options.step, options.samples, units, p, options.mask ?? new Float32Array(rows * units), trainScale(p, scaling));
  const out = options.out ?? new Float32Array(x.data.length);
  if (noise === undefined) applyMask(x.data, mask, out);
  else applyBroadcastMask(x.data, mask, noise, out);
  return { output: { data: out, shape: x.shape }, mask };
}
