import { checkInteger, checkOptionsObject, checkPositive, LockstepError } from '../errors.js';
import type { LayerFactory } from '../layer-registry.js';
import { channelMoments, inverseStd, normalizeChannels, normalizeChannelsBackward } from '../ops/normalization.js';
import { formatShape, Scratch, sizeOf, type Tensor } from '../tensor.js';
import { Module, type BufferSpec, type ParameterSpec, type ParameterViews } from './module.js';

export interface BatchNormOptions {
  /** Channels (C of [C], [C,L] or [C,H,W] samples). */
  numFeatures: number;
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
  /** Weight of a step's batch statistics in the running ones, in (0, 1] (default 0.1). */
  momentum?: number;
  /** A learned per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running mean and variance, and normalize with them in eval mode (default true); false: batch statistics in both modes. */
  trackRunningStats?: boolean;
}

/** What sets BatchNorm1d and BatchNorm2d apart: their names and the sample layouts they take. */
interface BatchNormLayout {
  readonly kind: 'BatchNorm1d' | 'BatchNorm2d';
  readonly specType: 'batch-norm1d' | 'batch-norm2d';
  /** Dimensions of a sample that it takes ([C] and [C,L]: 1 and 2). */
  readonly ranks: readonly number[];
  /** The layouts, and what to use instead, for the message about a sample of another layout. */
  readonly layouts: string;
  readonly hint: string;
}

const LAYOUT_1D: BatchNormLayout = { kind: 'BatchNorm1d', specType: 'batch-norm1d', ranks: [1, 2], layouts: '[C] or [C,L]', hint: 'use batch-norm2d for [C,H,W] samples' };
const LAYOUT_2D: BatchNormLayout = {
  kind: 'BatchNorm2d',
  specType: 'batch-norm2d',
  ranks: [3],
  layouts: '[C,H,W]',
  hint: 'it needs a channel axis: put it after a conv2d or pooling layer, or use batch-norm1d for flat samples',
};

/**
 * PyTorch's BatchNorm over the channel axis (axis 1 of the batch). In training mode each chunk is
 * normalized by its own mean and biased variance ("ghost" batch normalization: chunkSize is the
 * normalization batch, so nothing depends on the worker count); it writes (count, mean, M2) per
 * channel into its statistics slot, and once per step the chunks' statistics, merged in chunk order,
 * update the running mean and the running (unbiased) variance:
 * running = momentum * batch + (1 - momentum) * running. In eval mode it normalizes with the running
 * statistics (docs/design.md, "Batch statistics").
 */
export abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: ParameterViews | null = null;
  bias: ParameterViews | null = null;
  runningMean: Float32Array | null = null;
  runningVar: Float32Array | null = null;
  /** Values per channel of one sample (1 for [C], L for [C,L], H x W for [C,H,W]), known once a shape is given. */
  private spread = 0;
  private statistics: Float64Array | null = null;
  private readonly moments: Float64Array;
  private readonly mean: Float64Array;
  private readonly invStd: Float64Array;
  private usedBatchStatistics = false;
  private inputShape: readonly number[] = [];
  private readonly xHat = new Scratch();
  private readonly output = new Scratch();
  private readonly gradInput = new Scratch();

  private readonly layout: BatchNormLayout;

  protected constructor(options: BatchNormOptions, layout: BatchNormLayout) {
    super();
    this.layout = layout;
    checkOptionsObject(`${layout.kind} options`, options, 'with at least numFeatures');
    this.numFeatures = checkInteger(`${layout.kind} numFeatures`, options.numFeatures, 1);
    this.eps = checkPositive(`${layout.kind} eps`, options.eps ?? 1e-5);
    this.momentum = checkPositive(`${layout.kind} momentum`, options.momentum ?? 0.1);
    if (this.momentum > 1) throw new LockstepError('E_OPTION', `${layout.kind} momentum must be in (0, 1], got ${this.momentum}`);
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    this.moments = new Float64Array(3 * this.numFeatures);
    this.mean = new Float64Array(this.numFeatures);
    this.invStd = new Float64Array(this.numFeatures);
  }

  override toSpec(): BatchNormSpec {
    const { numFeatures, eps, momentum, affine, trackRunningStats } = this;
    return { type: this.layout.specType, numFeatures, eps, momentum, affine, trackRunningStats };
  }

  override parameterSpecs(): readonly ParameterSpec[] {
    if (!this.affine) return [];
    const c = this.numFeatures;
    return [
      { name: 'weight', shape: [c], fanIn: c, fanOut: c, init: (_key, out) => out.fill(1) },
      { name: 'bias', shape: [c], fanIn: c, fanOut: c, init: (_key, out) => out.fill(0) },
    ];
  }

  override bindParameters(views: readonly ParameterViews[]): void {
    this.weight = views[0] ?? null;
    this.bias = views[1] ?? null;
  }

  override bufferSpecs(): readonly BufferSpec[] {
    if (!this.trackRunningStats) return [];
    return [
      { name: 'runningMean', shape: [this.numFeatures], initial: 0 },
      { name: 'runningVar', shape: [this.numFeatures], initial: 1 },
    ];
  }

  override bindBuffers(views: readonly Float32Array[]): void {
    this.runningMean = views[0] ?? null;
    this.runningVar = views[1] ?? null;
  }

  override statisticsWidth(): number {
    return this.trackRunningStats ? 3 * this.numFeatures : 0;
  }

  override bindStatistics(view: Float64Array): void {
    this.statistics = view;
  }

  override updateBuffers(combined: Float64Array): void {
    const { runningMean, runningVar, momentum } = this;
    if (runningMean === null || runningVar === null) return;
    for (let c = 0; c < this.numFeatures; c++) {
      const count = combined[3 * c];
      runningMean[c] = momentum * combined[3 * c + 1] + (1 - momentum) * runningMean[c];
      runningVar[c] = momentum * (combined[3 * c + 2] / (count - 1)) + (1 - momentum) * runningVar[c];
    }
  }

  override minimumRows(training: boolean): number {
    return this.spread === 1 && (training || !this.trackRunningStats) ? 2 : 1;
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (!this.layout.ranks.includes(inputShape.length)) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: expects samples of shape ${this.layout.layouts}, got ${formatShape(inputShape)}; ${this.layout.hint}`);
    }
    if (inputShape[0] !== this.numFeatures) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: expects ${this.numFeatures} channels, got samples of shape ${formatShape(inputShape)}`);
    }
    this.spread = sizeOf(inputShape.slice(1));
    return [...inputShape];
  }

  override forward(input: Tensor): Tensor {
    this.outputShape(input.shape.slice(1));
    const rows = input.shape[0] ?? 0;
    const channels = this.numFeatures;
    const spread = this.spread;
    this.usedBatchStatistics = this.training || !this.trackRunningStats;
    if (this.usedBatchStatistics) {
      if (rows * spread <= 1) {
        const when = this.training ? 'when training' : 'in eval mode with trackRunningStats: false, which normalizes by the batch\'s statistics';
        throw new LockstepError('E_SHAPE', `${this.describe()}: expected more than 1 value per channel ${when}, got input of shape ${formatShape(input.shape)}`);
      }
      channelMoments(input.data, rows, channels, spread, this.moments);
      for (let c = 0; c < channels; c++) {
        this.mean[c] = this.moments[3 * c + 1];
        this.invStd[c] = inverseStd(this.moments[3 * c + 2] / this.moments[3 * c], this.eps);
      }
      if (this.training && this.statistics !== null) this.statistics.set(this.moments);
    } else {
      const runningMean = this.runningMean!;
      const runningVar = this.runningVar!;
      for (let c = 0; c < channels; c++) {
        this.mean[c] = runningMean[c];
        this.invStd[c] = inverseStd(runningVar[c], this.eps);
      }
    }
    const size = input.data.length;
    const out = this.output.take(size);
    normalizeChannels(input.data, rows, channels, spread, this.mean, this.invStd, this.weight?.value ?? null, this.bias?.value ?? null, this.xHat.take(size), out);
    this.inputShape = input.shape;
    return { data: out, shape: input.shape };
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    const rows = this.inputShape[0] ?? 0;
    const size = gradOutput.data.length;
    const dx = needInputGrad ? this.gradInput.take(size) : null;
    normalizeChannelsBackward(
      gradOutput.data,
      this.xHat.take(size),
      rows,
      this.numFeatures,
      this.spread,
      this.invStd,
      this.weight?.value ?? null,
      this.usedBatchStatistics,
      this.weight?.grad ?? null,
      this.bias?.grad ?? null,
      dx,
    );
    return dx === null ? null : { data: dx, shape: this.inputShape };
  }
}

/** BatchNorm over samples of shape [C] (a linear layer's output) or [C, L]. */
export class BatchNorm1d extends BatchNorm {
  readonly kind = 'BatchNorm1d';
  constructor(options: BatchNormOptions) {
    super(options, LAYOUT_1D);
  }
}

/** BatchNorm over samples of shape [C, H, W] (a convolution's output). */
export class BatchNorm2d extends BatchNorm {
  readonly kind = 'BatchNorm2d';
  constructor(options: BatchNormOptions) {
    super(options, LAYOUT_2D);
  }
}

/** A BatchNorm layer's spec entry; `numFeatures` is inferred from the input's channel axis when left out. */
export type BatchNormSpec = {
  type: 'batch-norm1d' | 'batch-norm2d';
  numFeatures?: number;
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
};

const batchNormFields = { optional: { numFeatures: 'int', eps: 'positive', momentum: 'positive', affine: 'boolean', trackRunningStats: 'boolean' } } as const;

function batchNormLayer(type: 'batch-norm1d' | 'batch-norm2d', make: (options: BatchNormOptions) => BatchNorm): LayerFactory<BatchNormSpec> {
  return {
    type,
    fields: batchNormFields,
    fromSpec: ({ type: _type, numFeatures, ...options }, inputShape) => make({ ...options, numFeatures: numFeatures ?? inputShape[0] ?? 0 }),
  };
}

export const batchNorm1dLayer = batchNormLayer('batch-norm1d', (options) => new BatchNorm1d(options));
export const batchNorm2dLayer = batchNormLayer('batch-norm2d', (options) => new BatchNorm2d(options));
