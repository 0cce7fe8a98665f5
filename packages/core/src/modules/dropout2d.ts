import { LockstepError } from '../errors.js';
import { checkDropoutRate, checkScaling, evalScale, scaleInto, trainScale, type DropoutScaling } from '../ops/dropout.js';
import { fillBatchMask, layerMaskKey } from '../random/mask.js';
import { formatShape, Scratch, type Tensor } from '../tensor.js';
import type { DropoutLayerOptions } from './dropout.js';
import { Module, type ForwardContext } from './module.js';

/**
 * Channel dropout (spatial dropout) over NCHW batches: each feature map of each sample is kept or
 * dropped whole. Channel c of global sample s at step t is kept when keep(seed, path, t, s, c), the
 * same addressing as element dropout, with channels as the units.
 */
export class Dropout2d extends Module {
  readonly kind = 'Dropout2d';
  readonly p: number;
  readonly scaling: DropoutScaling;
  private multipliers = new Float32Array(0);
  private area = 0;
  private trainedForward = false;
  private readonly outputs = new Scratch();
  private readonly gradInputs = new Scratch();

  constructor(p = 0.5, options: DropoutLayerOptions = {}) {
    super();
    this.p = checkDropoutRate(p, 'Dropout2d');
    this.scaling = checkScaling(options.scaling ?? 'inverted', 'Dropout2d');
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new LockstepError('E_SHAPE', `${this.describe()}: expects samples of shape [C,H,W], got ${formatShape(inputShape)}`);
    return [...inputShape];
  }

  override forward(input: Tensor, context: ForwardContext): Tensor {
    const out = this.outputs.take(input.data.length);
    this.trainedForward = this.training;
    if (!this.training) {
      scaleInto(input.data, evalScale(this.p, this.scaling), out);
      return { data: out, shape: input.shape };
    }
    const [samples, channels] = input.shape;
    if (context.samples.length !== samples) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: ${samples} rows but ${context.samples.length} sample indices`);
    }
    if (this.multipliers.length < samples * channels) this.multipliers = new Float32Array(samples * channels);
    const multipliers = this.multipliers.subarray(0, samples * channels);
    fillBatchMask(layerMaskKey(context.key, this.path), context.step, context.samples, channels, this.p, multipliers, trainScale(this.p, this.scaling));
    this.area = input.data.length / (samples * channels);
    this.expand(input.data, out);
    return { data: out, shape: input.shape };
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const gradIn = this.gradInputs.take(gradOutput.data.length);
    if (this.trainedForward) this.expand(gradOutput.data, gradIn);
    else scaleInto(gradOutput.data, evalScale(this.p, this.scaling), gradIn);
    return { data: gradIn, shape: gradOutput.shape };
  }

  /** out = x times its feature map's multiplier. */
  private expand(x: Float32Array, out: Float32Array): void {
    const area = this.area;
    for (let plane = 0; plane * area < x.length; plane++) {
      const m = this.multipliers[plane];
      for (let i = plane * area; i < (plane + 1) * area; i++) out[i] = x[i] * m;
    }
  }
}
