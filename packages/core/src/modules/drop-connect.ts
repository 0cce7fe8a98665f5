import { checkOptionsObject } from '../errors.js';
import { checkDropoutRate, trainScale } from '../ops/dropout.js';
import { matmul, rowMajor, transposed } from '../ops/matmul.js';
import { fillWeightMask, layerMaskKey } from '../random/mask.js';
import { Scratch } from '../tensor.js';
import { Linear, type LinearOptions, type LinearSpec } from './linear.js';
import type { ForwardContext, GradientMode } from './module.js';

export interface DropConnectLinearOptions extends LinearOptions {
  /** Probability of dropping each weight while training, in [0, 1]. */
  p: number;
}

/**
 * DropConnect (Wan et al. 2013): a Linear layer that drops individual weights with probability p
 * while training and scales the kept ones by 1/(1-p) (inverted scaling), so it is a plain Linear in
 * eval mode. The bias is never dropped.
 *
 * Wan et al. draw a weight mask per sample; lockstep draws one per chunk, so the layer stays one
 * matrix product. The mask of chunk c at optimizer step t is addressed by (seed, layer path, t, s0),
 * s0 being the global index of the chunk's first sample: weight j (row-major in [out, in]) is kept
 * when keep(seed, L, t, s0, j). Chunks are cut by `chunkSize` from the config, never by the worker
 * count, so each chunk meets the same mask whichever worker computes it, and runs stay bit-identical
 * at any worker count. The gradient with respect to the weights is masked the same way.
 */
export class DropConnectLinear extends Linear {
  override readonly kind = 'DropConnectLinear';
  readonly p: number;
  private readonly maskBuffer = new Scratch();
  private readonly masked = new Scratch();
  private readonly gradMasked = new Scratch();
  /** 0 or 1/(1-p) per weight, drawn by the last forward; null when it ran in eval mode. */
  private mask: Float32Array | null = null;

  constructor(options: DropConnectLinearOptions) {
    super(checkOptionsObject('DropConnectLinear options', options, 'with at least inFeatures, outFeatures and p'), 'DropConnectLinear');
    this.p = checkDropoutRate(options.p, 'DropConnectLinear');
  }

  override toSpec(): LinearSpec {
    const { maxNorm, ...entry } = super.toSpec();
    return maxNorm === undefined ? { ...entry, dropConnect: this.p } : { ...entry, dropConnect: this.p, maxNorm };
  }

  protected override forwardWeights(context: ForwardContext): Float32Array {
    const weights = super.forwardWeights(context);
    this.mask = null;
    if (!this.training) return weights;
    // An empty batch multiplies by no weights; any mask will do.
    const firstSample = context.samples.length > 0 ? context.samples[0] : 0;
    const key = layerMaskKey(context.key, this.path);
    const mask = fillWeightMask(key, context.step, firstSample, this.p, this.maskBuffer.take(weights.length), trainScale(this.p, 'inverted'));
    const masked = this.masked.take(weights.length);
    for (let i = 0; i < weights.length; i++) masked[i] = weights[i] * mask[i];
    this.mask = mask;
    return masked;
  }

  protected override writeWeightGradient(gradOutput: Float32Array, x: Float32Array, rows: number, grad: Float32Array, gradients: GradientMode): void {
    const mask = this.mask;
    if (mask === null) {
      super.writeWeightGradient(gradOutput, x, rows, grad, gradients);
      return;
    }
    const gradMasked = this.gradMasked.take(grad.length);
    matmul(transposed(gradOutput, this.outFeatures), rowMajor(x, this.inFeatures), this.outFeatures, rows, this.inFeatures, gradMasked);
    if (gradients === 'add') {
      for (let i = 0; i < grad.length; i++) grad[i] += gradMasked[i] * mask[i];
      return;
    }
    // + 0 turns a dropped weight's -0 into the +0 that adding it to a zeroed gradient gives.
    for (let i = 0; i < grad.length; i++) grad[i] = gradMasked[i] * mask[i] + 0;
  }
}
