import { Batch, Dataset, sliceTargets } from '../data/dataset.js';
import { checkInteger, LockstepError } from '../errors.js';
import { defaultLoss, lossByName } from '../losses/index.js';
import type { Loss, LossName } from '../losses/loss.js';
import { rowIndices, type Model } from '../model.js';
import { stateSlots, type OptimizerConfig } from '../optim/optimizer.js';
import { learningRateAt } from '../optim/schedule.js';
import { applyMaxNorm, maxNormPlan } from '../optim/max-norm.js';
import { dropoutRunKey } from '../random/mask.js';
import { activeKernel, useKernel, withParametersFixed, type KernelChoice } from '../ops/matmul.js';
import { formatShape, sizeOf } from '../tensor.js';
import { chunkGradient } from './chunk-gradient.js';
import { checkUncertaintyOptions, mcDropoutRows, uncertaintyBytes, uncertaintyViews, type Uncertainty, type UncertaintyOptions } from './mc-dropout.js';
import { checkBatching, epochBatches, epochOrder } from './plan.js';
import { reduceChunkScalars } from './reduce.js';
import { firstNonFinite, nonFiniteGradientError, nonFiniteLossError } from './non-finite.js';
import { clipFactor, gradientNorm } from '../optim/update-kernel.js';
import { UpdateWorkspace } from '../optim/update-workspace.js';

export interface EpochMetrics {
  /** 1-based. */
  readonly epoch: number;
  /** Mean training loss over the epoch's samples, measured with dropout on. */
  readonly loss: number;
  /** Training accuracy with dropout on; null for regression losses. */
  readonly accuracy: number | null;
  readonly valLoss: number | null;
  readonly valAccuracy: number | null;
  readonly steps: number;
  /** Wall time of the epoch, validation included. */
  readonly seconds: number;
  /** Training samples per second, validation excluded. */
  readonly samplesPerSecond: number;
}

/** The totals of one epoch, as every trainer gathers them. */
export interface EpochTotals {
  readonly epoch: number;
  readonly lossSum: number;
  /** null when the loss reports no accuracy. */
  readonly correct: number | null;
  readonly samples: number;
  /** Samples trained in this call (fewer than `samples` when a resumed epoch started midway). */
  readonly trainedSamples: number;
  readonly steps: number;
  readonly trainSeconds: number;
  readonly validation: Evaluation | null;
  readonly seconds: number;
}

export function epochMetrics(totals: EpochTotals): EpochMetrics {
  return {
    epoch: totals.epoch,
    loss: totals.lossSum / totals.samples,
    accuracy: totals.correct === null ? null : totals.correct / totals.samples,
    valLoss: totals.validation?.loss ?? null,
    valAccuracy: totals.validation?.accuracy ?? null,
    steps: totals.steps,
    seconds: totals.seconds,
    samplesPerSecond: totals.trainedSamples / totals.trainSeconds,
  };
}

/** Everything besides the parameters that a run needs to continue exactly. */
export interface TrainingState {
  /** Optimizer steps taken so far; step t draws dropout masks with t and updates with t + 1. */
  step: number;
  /** Epochs completed so far. */
  epoch: number;
  /** `stateSlots(optimizer)` slots of the model's parameter count. */
  optimizerState: Float32Array;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  /** Rows per gradient chunk; fixed by the config, never by the thread count (default min(32, batchSize)). */
  chunkSize?: number;
  seed: number;
  optimizer: OptimizerConfig;
  /** Default: cross-entropy for class labels, mse for value targets. */
  loss?: LossName;
  /** A new keyed order of samples each epoch (default true). */
  shuffle?: boolean;
  validation?: Dataset;
  onEpoch?: (metrics: EpochMetrics) => void;
  /** Continue from an earlier `fit` result instead of starting at step 0. */
  state?: TrainingState;
  /** The matrix-product kernel for this fit (default: the thread's, see `useKernel`); restored afterwards. */
  kernel?: KernelChoice;
}

export interface FitResult {
  readonly history: EpochMetrics[];
  readonly state: TrainingState;
}

export function newTrainingState(model: Model, optimizer: OptimizerConfig): TrainingState {
  return { step: 0, epoch: 0, optimizerState: new Float32Array(stateSlots(optimizer) * model.size) };
}

export function checkDataFits(model: Model, data: Dataset, name = 'data'): void {
  if (formatShape(data.sampleShape) !== formatShape(model.inputShape)) {
    throw new LockstepError(
      'E_SHAPE',
      `${name}: samples have shape ${formatShape(data.sampleShape)} but the model takes ${formatShape(model.inputShape)}`,
    );
  }
  const outputs = sizeOf(model.outputShape);
  if (data.targets.kind === 'classes' && data.targets.classes > outputs) {
    throw new LockstepError('E_SHAPE', `${name}: ${data.targets.classes} classes but the model has ${outputs} outputs`);
  }
}

/**
 * Trains `model` in place on one thread. Each batch is cut into chunks of `chunkSize`; each chunk's
 * gradient goes to its own slot, and the slots are summed in the fixed tree order of
 * `UpdateKernel.sumSlots`, which is what lets the parallel trainer match this one bit for bit. After each
 * update, layers with `maxNorm` have their weights constrained (`applyMaxNorm`).
 */
export function fit(model: Model, data: Dataset, options: FitOptions): FitResult {
  const epochs = checkInteger('epochs', options.epochs, 1);
  const { batchSize, chunkSize } = checkBatching(options.batchSize, options.chunkSize ?? Math.min(32, options.batchSize));
  const seed = checkInteger('seed', options.seed, 0);
  checkDataFits(model, data);
  if (options.validation !== undefined) checkDataFits(model, options.validation, 'validation data');
  const loss = options.loss === undefined ? defaultLoss(data.targets) : lossByName(options.loss);
  const state = options.state ?? newTrainingState(model, options.optimizer);
  if (state.optimizerState.length !== stateSlots(options.optimizer) * model.size) {
    throw new LockstepError('E_OPTION', 'fit: state.optimizerState does not match this model and optimizer');
  }

  // A batch never holds more samples than the data set, so neither do its buffers.
  const batchRows = Math.min(batchSize, data.size);
  const maxChunks = Math.ceil(batchRows / chunkSize);
  const work = new UpdateWorkspace(model.size, stateSlots(options.optimizer), maxChunks);
  const lossSums = new Float64Array(maxChunks);
  const correct = new Float64Array(maxChunks);
  const batch = new Batch(data, batchRows);
  const dropoutKey = dropoutRunKey(seed);
  const constraints = maxNormPlan(model.entries);
  const params = model.params;
  const grads = model.grads;
  const wasTraining = model.training;
  const previousKernel = activeKernel();
  useKernel(options.kernel ?? previousKernel);
  const history: EpochMetrics[] = [];
  work.params.set(params);
  work.state.set(state.optimizerState);
  model.bind(work.params, grads);

  try {
    for (let e = 0; e < epochs; e++) {
      const started = performance.now();
      let epochLoss = 0;
      let epochCorrect = 0;
      const plans = epochBatches(epochOrder(seed, state.epoch, data.size, options.shuffle ?? true), batchSize, chunkSize);
      model.train();
      for (const [b, plan] of plans.entries()) {
        const where = `fit failed at step ${state.step} (epoch ${state.epoch + 1}, batch ${b + 1} of ${plans.length})`;
        batch.gather(plan.samples);
        const chunkOf = (c: number) => {
          const from = c * chunkSize;
          const to = Math.min(from + chunkSize, plan.samples.length);
          return {
            inputs: batch.inputs.subarray(from * data.sampleSize, to * data.sampleSize),
            targets: sliceTargets(batch.targets, from, to),
            samples: plan.samples.subarray(from, to),
          };
        };
        for (let c = 0; c < plan.chunks; c++) {
          const slot = work.slots.subarray(c * model.size, (c + 1) * model.size);
          const result = chunkGradient(model, loss, chunkOf(c), plan.samples.length, state.step, dropoutKey, slot);
          lossSums[c] = result.sum;
          correct[c] = result.correct;
        }
        const badChunk = firstNonFinite(lossSums.subarray(0, plan.chunks));
        if (badChunk >= 0) {
          const chunk = chunkOf(badChunk);
          throw nonFiniteLossError(model, model.inputTensor(chunk.inputs), { key: dropoutKey, step: state.step, samples: chunk.samples }, lossSums[badChunk], where);
        }
        work.kernel.reduceAndMeasure(work.at, plan.chunks, 0, model.size, work.blockSquares);
        const norm = gradientNorm(work.blockSquares);
        if (!Number.isFinite(norm)) {
          const bad = firstNonFinite(work.slots, 0, model.size);
          throw nonFiniteGradientError(model, bad, work.slots[bad], where);
        }
        const lr = learningRateAt(options.optimizer.lr, options.optimizer.schedule, state.step);
        work.kernel.update(options.optimizer, work.at, state.step + 1, lr, clipFactor(norm, options.optimizer.clipNorm), 0, model.size);
        applyMaxNorm(work.params, constraints);
        state.step++;
        epochLoss += reduceChunkScalars(lossSums, plan.chunks);
        epochCorrect += reduceChunkScalars(correct, plan.chunks);
      }
      state.epoch++;
      const trainSeconds = (performance.now() - started) / 1000;
      const validation = options.validation === undefined ? null : evaluate(model, options.validation, { loss: loss.name });
      const metrics = epochMetrics({
        epoch: state.epoch,
        lossSum: epochLoss,
        correct: loss.reportsAccuracy ? epochCorrect : null,
        samples: data.size,
        trainedSamples: data.size,
        steps: plans.length,
        trainSeconds,
        validation,
        seconds: (performance.now() - started) / 1000,
      });
      history.push(metrics);
      options.onEpoch?.(metrics);
    }
  } finally {
    params.set(work.params);
    state.optimizerState.set(work.state);
    model.bind(params, grads);
    model.train(wasTraining);
    useKernel(previousKernel);
  }
  return { history, state };
}

export interface EvaluateOptions {
  batchSize?: number;
  loss?: LossName;
}

export interface Evaluation {
  readonly loss: number;
  /** null for regression losses. */
  readonly accuracy: number | null;
}

/** Mean loss and accuracy in eval mode; the model's mode is restored afterwards. */
export function evaluate(model: Model, data: Dataset, options: EvaluateOptions = {}): Evaluation {
  checkDataFits(model, data);
  const loss: Loss = options.loss === undefined ? defaultLoss(data.targets) : lossByName(options.loss);
  let lossSum = 0;
  let correct = 0;
  forEachEvalBatch(model, data.inputs, data.sampleSize, options.batchSize, (output, from, to) => {
    const result = loss.evaluate(output, sliceTargets(data.targets, from, to), to - from, null);
    lossSum += result.sum;
    correct += result.correct;
  });
  return { loss: lossSum / data.size, accuracy: loss.reportsAccuracy ? correct / data.size : null };
}

/** The model's outputs (logits for a classifier) for every sample of `inputs`, in eval mode. */
export function predict(model: Model, inputs: Float32Array, options: { batchSize?: number } = {}): Float32Array {
  const sampleSize = sizeOf(model.inputShape);
  const rows = model.inputTensor(inputs).shape[0];
  const width = sizeOf(model.outputShape);
  const outputs = new Float32Array(rows * width);
  forEachEvalBatch(model, inputs, sampleSize, options.batchSize, (output, from) => outputs.set(output.data, from * width));
  return outputs;
}

/**
 * Monte Carlo dropout: `samples` forward passes with only the dropout layers on, masks keyed by
 * (seed, pass, row). Per row: mean class probabilities, their standard deviation, the predictive
 * entropy and the mutual information (BALD); bit-identical to the parallel Trainer's. The model's
 * modes are restored afterwards.
 */
export function predictWithUncertainty(model: Model, inputs: Float32Array, options: UncertaintyOptions & { batchSize?: number }): Uncertainty {
  const { passes, key } = checkUncertaintyOptions(options);
  const size = checkInteger('batchSize', options.batchSize ?? 256, 1);
  const sampleSize = sizeOf(model.inputShape);
  const rows = model.inputTensor(inputs).shape[0];
  const classes = sizeOf(model.outputShape);
  const out = uncertaintyViews(new ArrayBuffer(uncertaintyBytes(rows, classes)), rows, classes);
  withParametersFixed(() => {
    for (let from = 0; from < rows; from += size) {
      const to = Math.min(from + size, rows);
      mcDropoutRows(model, inputs.subarray(from * sampleSize, to * sampleSize), from, passes, key, out);
    }
  });
  return out;
}

function forEachEvalBatch(
  model: Model,
  inputs: Float32Array,
  sampleSize: number,
  batchSize: number | undefined,
  visit: (output: { data: Float32Array; shape: readonly number[] }, from: number, to: number) => void,
): void {
  const size = checkInteger('batchSize', batchSize ?? 256, 1);
  const rows = inputs.length / sampleSize;
  const wasTraining = model.training;
  model.eval();
  try {
    withParametersFixed(() => {
      for (let from = 0; from < rows; from += size) {
        const to = Math.min(from + size, rows);
        const x = model.inputTensor(inputs.subarray(from * sampleSize, to * sampleSize));
        visit(model.forward(x, { key: [0, 0], step: 0, samples: rowIndices(to - from, from) }), from, to);
      }
    });
  } finally {
    model.train(wasTraining);
  }
}
