import { checkDropoutRate, checkScaling, evalScale, scaleInto, type DropoutScaling } from '../ops/dropout.js';
import { Scratch, type Tensor } from '../tensor.js';
import { Module } from './module.js';

export interface KeyedDropoutOptions {
  /** How kept units are scaled; see `DropoutScaling` (default 'inverted'). */
  scaling?: DropoutScaling;
}

/**
 * What the dropout family shares: rate and scaling, keyed multipliers of (seed, layer path, step,
 * sample, unit) drawn by the forward pass, and a backward pass that reuses them. Keep-or-drop layers
 * (`MaskDropout`) draw theirs with the pure `dropout()`, noise layers (`NoiseDropout`) their noise.
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

  /** out = x with each value times its unit's multiplier: the backward pass. */
  protected abstract applyMultipliers(x: Float32Array, out: Float32Array): void;

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
