import { LockstepError } from '../errors.js';
import type { Model } from '../model.js';
import type { ForwardContext, Module } from '../modules/module.js';
import type { Tensor } from '../tensor.js';
import { reduceChunkSlots } from './reduce.js';

/**
 * The summed gradient is measured in fixed blocks of this many parameters: each block's sum of
 * squares is one float64 sum in index order, and the global norm adds the blocks in block order.
 * Workers' parameter ranges start on block boundaries, so no block is ever split between threads
 * and the norm has one value whatever the worker count.
 */
export const NORM_BLOCK = 4096;

export function normBlockCount(paramCount: number): number {
  return Math.ceil(paramCount / NORM_BLOCK);
}

/**
 * Phase one of an update over parameters [from, to) (from on a block boundary): sums the chunk slots
 * into slot 0 in the fixed tree order, block by block, and writes each block's sum of squares.
 */
export function reduceAndMeasure(
  slots: Float32Array,
  paramCount: number,
  chunks: number,
  from: number,
  to: number,
  blockSquares: Float64Array,
): void {
  if (from % NORM_BLOCK !== 0) throw new LockstepError('E_OPTION', `reduceAndMeasure: range start ${from} is not a multiple of ${NORM_BLOCK}`);
  for (let start = from; start < to; start += NORM_BLOCK) {
    const end = Math.min(start + NORM_BLOCK, to);
    reduceChunkSlots(slots, paramCount, chunks, start, end);
    let squares = 0;
    for (let i = start; i < end; i++) squares += slots[i] * slots[i];
    blockSquares[start / NORM_BLOCK] = squares;
  }
}

/** The L2 norm of the summed gradient, from every block's sum of squares; not finite when a gradient is not. */
export function gradientNorm(blockSquares: Float64Array): number {
  let squares = 0;
  for (let b = 0; b < blockSquares.length; b++) squares += blockSquares[b];
  return Math.sqrt(squares);
}

/** The factor the gradient is scaled by: clipNorm / (norm + 1e-6) when that is below 1, as PyTorch's clip_grad_norm_. */
export function clipFactor(norm: number, clipNorm: number | undefined): number {
  if (clipNorm === undefined) return 1;
  const factor = Math.fround(clipNorm / (norm + 1e-6));
  return factor < 1 ? factor : 1;
}

export function scaleRange(values: Float32Array, from: number, to: number, factor: number): void {
  if (factor === 1) return;
  for (let i = from; i < to; i++) values[i] *= factor;
}

/** Index of the first value in [from, to) that is NaN or infinite, or -1. */
export function firstNonFinite(values: ArrayLike<number>, from = 0, to = values.length): number {
  for (let i = from; i < to; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

const KEPT = 'the parameters are those before this step';
const ADVICE = `${KEPT}; lower the learning rate, or clip gradients with clipNorm`;

/** Names the parameter tensor that holds flat index `index` of a non-finite gradient. */
export function nonFiniteGradientError(model: Model, index: number, value: number, where: string): LockstepError {
  const entry = model.entries.find((e) => index >= e.offset && index < e.offset + e.length);
  const name = entry === undefined ? `parameter ${index}` : `the ${entry.path.split('.').pop()} of ${entry.owner.describe()}`;
  return new LockstepError('E_NUMERIC', `${where}: the gradient of ${name} is ${value}; ${ADVICE}`);
}

/** The leaves of a module tree in forward order (lockstep's containers run their children in sequence). */
function layersInOrder(model: Model): Module[] {
  const leaves: Module[] = [];
  const visit = (module: Module): void => {
    const children = module.children();
    if (children.length === 0) leaves.push(module);
    else children.forEach(visit);
  };
  visit(model.module);
  return leaves;
}

/**
 * Replays one chunk's forward pass layer by layer to find where the numbers first went bad, and
 * says so: the input samples, a layer's output, or (every output finite) the loss itself.
 */
export function nonFiniteLossError(model: Model, input: Tensor, context: ForwardContext, lossValue: number, where: string): LockstepError {
  let culprit = 'the loss itself (every layer output is finite)';
  let x = input;
  if (firstNonFinite(x.data) >= 0) culprit = 'the input samples';
  else {
    for (const layer of layersInOrder(model)) {
      x = layer.forward(x, context);
      const bad = firstNonFinite(x.data);
      if (bad >= 0) {
        culprit = `the output of ${layer.describe()} (${x.data[bad]})`;
        break;
      }
    }
  }
  return new LockstepError('E_NUMERIC', `${where}: the loss is ${lossValue}, first from ${culprit}; ${KEPT}; check the scale of the input data, lower the learning rate, or clip gradients with clipNorm`);
}
