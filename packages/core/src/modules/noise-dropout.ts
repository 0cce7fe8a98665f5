import { LockstepError } from '../errors.js';
import type { LayerFactory } from '../layer-registry.js';
import { checkDropoutRate } from '../ops/dropout.js';
import { fillNormal, foldIn, type Key } from '../random/key.js';
import { fillBatchMask, layerMaskKey } from '../random/mask.js';
import { sizeOf, type Tensor } from '../tensor.js';
import { KeyedDropout } from './keyed-dropout.js';
import type { ForwardContext } from './module.js';

function checkBelowOne(name: string, p: number): number {
  checkDropoutRate(p, name);
  if (p >= 1) throw new LockstepError('E_OPTION', `${name}: p=${p} must be below 1; the noise would be unbounded`);
  return p;
}

/**
 * A layer that multiplies its units by keyed noise while training and is the identity in eval: the
 * noise is drawn per (seed, layer path, step, sample, unit), like a dropout mask.
 */
abstract class NoiseDropout extends KeyedDropout {
  /** Draws the noise of a batch, one multiplier per unit of each sample. */
  protected abstract drawMultipliers(layerKey: Key, step: number, samples: ArrayLike<number>, units: number, out: Float32Array): void;

  /** out = x with the noise applied: by default each value times its unit's multiplier. */
  protected applyForward(x: Float32Array, out: Float32Array): void {
    this.applyMultipliers(x, out);
  }

  override forward(input: Tensor, context: ForwardContext): Tensor {
    this.trainedForward = this.training;
    if (!this.training) return input;
    const rows = input.shape[0] ?? 0;
    if (context.samples.length !== rows) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: ${rows} rows but ${context.samples.length} sample indices`);
    }
    const units = this.unitsPerSample(input.shape);
    this.drawMultipliers(layerMaskKey(context.key, this.path), context.step, context.samples, units, this.takeMultipliers(rows * units));
    const out = this.outputs.take(input.data.length);
    this.applyForward(input.data, out);
    return { data: out, shape: input.shape };
  }
}

/**
 * Multiplicative Gaussian noise (Srivastava et al. 2014): each unit is multiplied by a keyed draw of
 * N(1, p / (1 - p)) while training; the identity in eval.
 */
export class GaussianDropout extends NoiseDropout {
  readonly kind = 'GaussianDropout';

  constructor(p = 0.5) {
    super('GaussianDropout', checkBelowOne('GaussianDropout', p), {});
  }

  override toSpec(): GaussianDropoutSpec {
    return { type: 'gaussian-dropout', p: this.p };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  protected unitsPerSample(shape: readonly number[]): number {
    return sizeOf(shape.slice(1));
  }

  protected override drawMultipliers(layerKey: Key, step: number, samples: ArrayLike<number>, units: number, out: Float32Array): void {
    const stepKey = foldIn(layerKey, step);
    const std = Math.sqrt(this.p / (1 - this.p));
    for (let row = 0; row < samples.length; row++) {
      fillNormal(foldIn(stepKey, samples[row]), out.subarray(row * units, (row + 1) * units), 1, std);
    }
  }

  protected applyMultipliers(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = x[i] * this.multipliers[i];
  }
}

/** SELU's negative saturation value, -scale * alpha (Klambauer et al. 2017). */
const SATURATION = -1.0507009873554805 * 1.6732632423543772;

/**
 * Alpha dropout for self-normalizing (SELU) networks: dropped units take SELU's negative saturation
 * value instead of 0, then an affine map a x + b restores zero mean and unit variance. The identity
 * in eval. Units are kept or dropped with the same keyed draws as `Dropout`.
 */
export class AlphaDropout extends NoiseDropout {
  readonly kind = 'AlphaDropout';
  private readonly a: number;
  private readonly b: number;

  constructor(p = 0.5) {
    super('AlphaDropout', checkBelowOne('AlphaDropout', p), {});
    this.a = 1 / Math.sqrt((1 - this.p) * (1 + this.p * SATURATION * SATURATION));
    this.b = -this.a * SATURATION * this.p;
  }

  override toSpec(): AlphaDropoutSpec {
    return { type: 'alpha-dropout', p: this.p };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  protected unitsPerSample(shape: readonly number[]): number {
    return sizeOf(shape.slice(1));
  }

  protected override drawMultipliers(layerKey: Key, step: number, samples: ArrayLike<number>, units: number, out: Float32Array): void {
    fillBatchMask(layerKey, step, samples, units, this.p, out, 1);
  }

  protected override applyForward(x: Float32Array, out: Float32Array): void {
    const { a, b } = this;
    for (let i = 0; i < x.length; i++) {
      const kept = this.multipliers[i];
      out[i] = a * (kept * x[i] + (1 - kept) * SATURATION) + b;
    }
  }

  /** The gradient: a where the unit was kept, 0 where it was dropped. */
  protected applyMultipliers(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = x[i] * this.a * this.multipliers[i];
  }
}

export type GaussianDropoutSpec = { type: 'gaussian-dropout'; p: number };
export type AlphaDropoutSpec = { type: 'alpha-dropout'; p: number };

export const gaussianDropoutLayer: LayerFactory<GaussianDropoutSpec> = {
  type: 'gaussian-dropout',
  fields: { required: { p: 'number' } },
  fromSpec: (entry) => new GaussianDropout(entry.p),
};

export const alphaDropoutLayer: LayerFactory<AlphaDropoutSpec> = {
  type: 'alpha-dropout',
  fields: { required: { p: 'number' } },
  fromSpec: (entry) => new AlphaDropout(entry.p),
};
