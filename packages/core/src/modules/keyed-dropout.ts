import { LockstepError } from '../errors.js';
import { checkDropoutRate, checkScaling, evalScale, scaleInto, trainScale, type DropoutScaling } from '../ops/dropout.js';
import type { Key } from '../random/key.js';
import { fillBatchMask, layerMaskKey } from '../random/mask.js';
import { Scratch, type Tensor } from '../tensor.js';
import { Module, type ForwardContext } from './module.js';

export interface KeyedDropoutOptions {
  /** How kept units are scaled; see `DropoutScaling` (default 'inverted'). */
  scaling?: DropoutScaling;
}

/**
 * What element and channel dropout share: eval-mode scaling, the keyed mask of (seed, layer path,
 * step, sample, unit), and a backward pass that reuses the forward's multipliers. Subclasses say what
 * a unit is and how its multiplier reaches the values.
 */
export abstract class KeyedDropout extends Module {
  readonly p: number;
  readonly scaling: DropoutScaling;
  /** One multiplier per unit of the last training forward: 0, or the kept units' scale. */
  protected multipliers = new Float32Array(0);
  /** How many of `multipliers` the last training forward drew (rows x units). */
  protected drawn = 0;
  /** Whether the last forward ran in training mode, so its multipliers are what backward applies. */
  protected trainedForward = false;
  protected readonly outputs = new Scratch();
  private readonly gradInputs = new Scratch();

  constructor(name: string, p: number, options: KeyedDropoutOptions) {
    super();
    this.p = checkDropoutRate(p, name);
    this.scaling = checkScaling(options.scaling ?? 'inverted', name);
  }

  /** Units per sample of an input of this shape (batch dimension included). */
  protected abstract unitsPerSample(shape: readonly number[]): number;

  /** out = x with each value times its unit's multiplier: the backward pass, and by default the forward. */
  protected abstract applyMultipliers(x: Float32Array, out: Float32Array): void;

  /** Draws the multipliers of a batch; by default keep-or-drop with the layer's scaling. */
  protected drawMultipliers(layerKey: Key, step: number, samples: ArrayLike<number>, units: number, out: Float32Array): void {
    fillBatchMask(layerKey, step, samples, units, this.p, out, trainScale(this.p, this.scaling));
  }

  protected applyForward(x: Float32Array, out: Float32Array): void {
    this.applyMultipliers(x, out);
  }

  override forward(input: Tensor, context: ForwardContext): Tensor {
    this.trainedForward = this.training;
    if (!this.training) {
      // Inverted dropout is the identity at eval time: no copy.
      const scale = evalScale(this.p, this.scaling);
      if (scale === 1) return input;
      const out = this.outputs.take(input.data.length);
      scaleInto(input.data, scale, out);
      return { data: out, shape: input.shape };
    }
    const out = this.outputs.take(input.data.length);
    const rows = input.shape[0] ?? 0;
    if (context.samples.length !== rows) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: ${rows} rows but ${context.samples.length} sample indices`);
    }
    const units = this.unitsPerSample(input.shape);
    const multipliers = this.takeMultipliers(rows * units);
    this.drawMultipliers(layerMaskKey(context.key, this.path), context.step, context.samples, units, multipliers);
    this.applyForward(input.data, out);
    return { data: out, shape: input.shape };
  }

  /** The first `count` multipliers, for this forward to draw. */
  protected takeMultipliers(count: number): Float32Array {
    if (this.multipliers.length < count) this.multipliers = new Float32Array(count);
    this.drawn = count;
    return this.multipliers.subarray(0, count);
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const gradIn = this.gradInputs.take(gradOutput.data.length);
    if (this.trainedForward) this.applyMultipliers(gradOutput.data, gradIn);
    else scaleInto(gradOutput.data, evalScale(this.p, this.scaling), gradIn);
    return { data: gradIn, shape: gradOutput.shape };
  }
}
