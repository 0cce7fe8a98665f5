import { LockstepError } from '../errors.js';
import { applyMask, dropout, trainScale } from '../ops/dropout.js';
import { applyBroadcastMask, noiseLayout, type NoiseLayout } from '../ops/noise-shape.js';
import { layerMaskKey } from '../random/mask.js';
import { formatShape, sizeOf, type Tensor } from '../tensor.js';
import { KeyedDropout } from './keyed-dropout.js';
import type { ForwardContext } from './module.js';

/** What a custom mask source is asked for: one training forward's rows, mask units per sample, step and global sample indices. */
export interface MaskRequest {
  readonly rows: number;
  readonly units: number;
  readonly step: number;
  readonly samples: ArrayLike<number>;
  readonly p: number;
}

/** Fills `keep` (rows x units, row-major) with 1 for a kept unit and 0 for a dropped one; it starts all 0. */
export type MaskFunction = (request: MaskRequest, keep: Float32Array) => void;

/** Which mask unit each element of a sample belongs to, for samples of one shape. */
interface MaskLayout {
  readonly sampleShape: string;
  /** Undefined: every element is its own unit. */
  readonly noise: NoiseLayout | undefined;
}

/**
 * Dropout that keeps or drops whole mask units: a thin module over the pure `dropout()`, with the
 * layer's rate, scaling, mask key and buffers. Subclasses say which elements of a sample share a
 * unit (`maskShape`, Keras' noise_shape): element dropout, a `noiseShape`, whole feature maps.
 */
export abstract class MaskDropout extends KeyedDropout {
  private layout: MaskLayout | null = null;

  /** The per-sample shape of the mask for samples of `sampleShape`; null for one unit per element. */
  protected abstract maskShape(sampleShape: readonly number[]): readonly number[] | null;

  /** A research mask in place of the keyed one, while training: fixed keep flags, or a function; null for the keyed masks. */
  private maskSource: Float32Array | MaskFunction | null = null;

  /**
   * Uses your own masks in training-mode forwards instead of the keyed ones: `keep` flags (1 keep, 0
   * drop) of rows x units for every forward, or a function that fills them per forward; kept units
   * are scaled as the layer's scaling says, and backward uses the same mask. null goes back to the
   * keyed masks. A unit is an element of a sample, or one entry of the mask shape (noiseShape,
   * Dropout2d's channels). The source lives on this layer object only: a worker pool, a checkpoint
   * and the spec do not carry it, so use it in a hand-written loop on one thread.
   */
  useMask(source: Float32Array | MaskFunction | null): this {
    this.maskSource = source;
    return this;
  }

  override forward(input: Tensor, context: ForwardContext): Tensor {
    const rows = input.shape[0] ?? 0;
    if (this.training && this.maskSource !== null) return this.forwardWithMask(input, context, this.maskSource);
    const { output } = dropout(input, this.p, {
      training: this.training,
      scaling: this.scaling,
      key: layerMaskKey(context.key, this.path),
      step: context.step,
      samples: context.samples,
      noise: this.layoutOf(input.shape.slice(1)).noise,
      out: this.outputs.take(input.data.length),
      mask: this.training ? this.takeMultipliers(rows * this.unitsPerSample(input.shape)) : undefined,
    });
    this.trainedForward = this.training;
    return output;
  }

  private forwardWithMask(input: Tensor, context: ForwardContext, source: Float32Array | MaskFunction): Tensor {
    const rows = input.shape[0] ?? 0;
    this.layoutOf(input.shape.slice(1));
    const units = this.unitsPerSample(input.shape);
    const keep = this.takeMultipliers(rows * units);
    if (typeof source === 'function') {
      keep.fill(0);
      source({ rows, units, step: context.step, samples: context.samples, p: this.p }, keep);
    } else if (source.length !== keep.length) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: the mask has ${source.length} values, this forward needs ${rows} rows x ${units} units = ${keep.length}; give one keep flag per unit`);
    } else keep.set(source);
    const scale = trainScale(this.p, this.scaling);
    for (let i = 0; i < keep.length; i++) {
      if (keep[i] !== 0 && keep[i] !== 1) throw new LockstepError('E_OPTION', `${this.describe()}: mask value ${keep[i]} at ${i} is not 0 or 1; give 1 to keep a unit and 0 to drop it`);
      keep[i] *= scale;
    }
    const out = this.outputs.take(input.data.length);
    this.applyMultipliers(input.data, out);
    this.trainedForward = true;
    return { data: out, shape: input.shape };
  }

  protected unitsPerSample(shape: readonly number[]): number {
    const sampleShape = shape.slice(1);
    return sizeOf(this.maskShape(sampleShape) ?? sampleShape);
  }

  protected applyMultipliers(x: Float32Array, out: Float32Array): void {
    const noise = this.layout?.noise;
    if (noise === undefined) applyMask(x, this.multipliers.subarray(0, x.length), out);
    else applyBroadcastMask(x, this.multipliers, noise, out);
  }

  private layoutOf(sampleShape: readonly number[]): MaskLayout {
    const key = formatShape(sampleShape);
    if (this.layout?.sampleShape !== key) {
      const maskShape = this.maskShape(sampleShape);
      const noise = maskShape === null ? undefined : noiseLayout(sampleShape, maskShape, this.describe());
      this.layout = { sampleShape: key, noise };
    }
    return this.layout;
  }
}
