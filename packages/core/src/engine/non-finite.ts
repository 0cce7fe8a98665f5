import { augmentGatheredRows, augmentRunKey } from '../data/augment.js';
import { Batch } from '../data/dataset.js';
import { LockstepError } from '../errors.js';
import type { Model } from '../model.js';
import type { ForwardContext, Module } from '../modules/module.js';
import { activeKernel, useKernel } from '../ops/matmul.js';
import { dropoutRunKey } from '../random/mask.js';
import type { Tensor } from '../tensor.js';
import type { FitPlan } from './fit-plan.js';
import type { StepOrder, StepReport } from './step.js';

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

/**
 * The error for a step whose parties stopped at a non-finite loss or gradient, or null when they
 * updated. A bad loss is replayed on the coordinator's model (parameters unchanged, the same kernel)
 * to name where it went bad; a bad gradient is named by the first party whose range holds one.
 */
export function stepFailure(plan: FitPlan, order: StepOrder, reports: readonly StepReport[], where: string): LockstepError | null {
  if (reports.every((report) => report.outcome === 'updated' || report.outcome === 'stopped')) return null;
  const report = reports.find((r) => r.outcome !== 'updated' && r.at >= 0) ?? reports[0];
  const { model } = plan;
  if (report.outcome !== 'non-finite-loss') return nonFiniteGradientError(model, report.at, report.value, where);
  const samples = order.samples.subarray(report.at * plan.chunkSize, Math.min((report.at + 1) * plan.chunkSize, order.samples.length));
  const batch = new Batch(plan.data, samples.length);
  batch.gather(samples);
  if (plan.augment !== null) augmentGatheredRows(plan.data.sampleShape, samples, batch.inputs, { spec: plan.augment, key: augmentRunKey(plan.seed) }, order.epoch);
  const previousKernel = activeKernel();
  useKernel(plan.kernel);
  model.train();
  try {
    const context = { key: dropoutRunKey(plan.seed), step: order.step, samples };
    return nonFiniteLossError(model, model.inputTensor(batch.inputs), context, report.value, where);
  } finally {
    useKernel(previousKernel);
  }
}
