import { LockstepError } from '../errors.js';
import {
  applyMask,
  checkDropoutRate,
  checkScaling,
  evalScale,
  scaleInto,
  trainScale,
  type DropoutScaling,
} from '../ops/dropout.js';
import { fillBatchMask, layerMaskKey } from '../random/mask.js';
import { Scratch, type Tensor } from '../tensor.js';
import { Dropout2d } from './dropout2d.js';
import { Module, type ForwardContext } from './module.js';

export interface DropoutLayerOptions {
  /** How kept units are scaled; see `DropoutScaling` (default 'inverted'). */
  scaling?: DropoutScaling;
}

/**
 * Drops each unit with probability p while training, with a fresh keyed mask per step and sample.
 * Every element of a sample is a unit, whatever the sample's shape.
 */
export class Dropout extends Module {
  readonly kind = 'Dropout';
  readonly p: number;
  readonly scaling: DropoutScaling;
  private mask = new Float32Array(0);
  private trainedForward = false;
  private readonly outputs = new Scratch();
  private readonly gradInputs = new Scratch();

  constructor(p = 0.5, options: DropoutLayerOptions = {}) {
    super();
    this.p = checkDropoutRate(p, 'Dropout');
    this.scaling = checkScaling(options.scaling ?? 'inverted', 'Dropout');
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  override forward(input: Tensor, context: ForwardContext): Tensor {
    const out = this.outputs.take(input.data.length);
    this.trainedForward = this.training;
    if (!this.training) {
      scaleInto(input.data, evalScale(this.p, this.scaling), out);
      return { data: out, shape: input.shape };
    }
    const rows = input.shape[0] ?? 0;
    if (context.samples.length !== rows) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: ${rows} rows but ${context.samples.length} sample indices`);
    }
    if (this.mask.length < input.data.length) this.mask = new Float32Array(input.data.length);
    const mask = this.mask.subarray(0, input.data.length);
    const units = rows === 0 ? 0 : input.data.length / rows;
    fillBatchMask(layerMaskKey(context.key, this.path), context.step, context.samples, units, this.p, mask, trainScale(this.p, this.scaling));
    applyMask(input.data, mask, out);
    return { data: out, shape: input.shape };
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const gradIn = this.gradInputs.take(gradOutput.data.length);
    if (this.trainedForward) {
      applyMask(gradOutput.data, this.mask.subarray(0, gradIn.length), gradIn);
    } else {
      scaleInto(gradOutput.data, evalScale(this.p, this.scaling), gradIn);
    }
    return { data: gradIn, shape: gradOutput.shape };
  }
}

/** Monte Carlo dropout: dropout layers in training mode, every other layer in eval mode. */
export function trainDropoutOnly(root: Module): void {
  root.eval();
  const visit = (module: Module): void => {
    if (module instanceof Dropout || module instanceof Dropout2d) module.train();
    module.children().forEach(visit);
  };
  visit(root);
}
