import { augmentRunKey } from '../data/augment.js';
import { checkInferenceInputs, Dataset, sliceTargets } from '../data/dataset.js';
import { checkInteger, checkKnownFields } from '../errors.js';
import { defaultLoss, lossByName } from '../losses/index.js';
import type { Loss, LossName } from '../losses/loss.js';
import { rowIndices, type Model } from '../model.js';
import { checkOptimizer, stateSlots, type OptimizerConfig } from '../optim/optimizer.js';
import { UpdateWorkspace } from '../optim/update-workspace.js';
import { dropoutRunKey } from '../random/mask.js';
import { activeKernel, useKernel, withParametersFixed, type KernelChoice } from '../ops/matmul.js';
import { sizeOf } from '../tensor.js';
import { epochLoop, type FitResult } from '../engine/epochs.js';
import { checkDataFits, checkPassRows, checkFit, checkFitOptions, checkLossFits, EPOCH_OPTION_FIELDS, EVAL_BATCH_SIZE, type EpochOptions } from '../engine/fit-plan.js';
import { SOLE_PARTY } from '../engine/party.js';
import type { Evaluation } from '../engine/progress.js';
import { checkTrainingState, newTrainingState, type ResumableState } from '../engine/state.js';
import { StepEngine } from '../engine/step.js';
import { checkUncertaintyOptions, mcDropoutRows, uncertaintyBytes, uncertaintyViews, type Uncertainty, type UncertaintyOptions, type UncertaintyOutputs } from './mc-dropout.js';

export interface FitOptions extends EpochOptions {
  /** Rows per gradient chunk; fixed by the config, never by the thread count (default min(32, batchSize)). */
  chunkSize?: number;
  seed: number;
  optimizer: OptimizerConfig;
  /**
   * Continue from an earlier `fit`'s state or a checkpoint's, mid-epoch included, instead of starting
   * at step 0; it is updated in place. Early stopping that ended the earlier fit starts afresh.
   */
  state?: ResumableState;
  /** The matrix-product kernel for this fit (default: the thread's, see `useKernel`); restored afterwards. */
  kernel?: KernelChoice;
}

const FIT_OPTION_FIELDS = [...EPOCH_OPTION_FIELDS, 'chunkSize', 'seed', 'optimizer', 'state', 'kernel'];

/**
 * Trains `model` in place on this thread: the one party of each step (engine/step.ts) in the epoch
 * loop every trainer shares (engine/epochs.ts), so the worker trainer matches it bit for bit.
 * Without `state`, each call starts a run at step 0 (epoch 1's shuffle and masks, new optimizer
 * state, the schedule's start) from the model's weights; pass the last result's `state` to go on, as
 * `Trainer.fit` does by itself.
 */
export function fit(model: Model, data: Dataset, options: FitOptions): FitResult {
  checkFitOptions('fit', options, FIT_OPTION_FIELDS);
  const previousKernel = activeKernel();
  const optimizer = checkOptimizer(options.optimizer);
  const run = { seed: options.seed, chunkSize: options.chunkSize ?? Math.min(32, options.batchSize), kernel: options.kernel ?? previousKernel, optimizer };
  const plan = checkFit(model, data, options, run);
  const state = checkTrainingState(options.state ?? newTrainingState(model, optimizer), model, optimizer);
  // A batch never holds more samples than the data set, so neither do its buffers.
  const maxChunks = Math.ceil(Math.min(plan.batchSize, data.size) / plan.chunkSize);
  const work = new UpdateWorkspace(model.size, stateSlots(optimizer), maxChunks);
  const buffers = {
    slots: work.slots,
    chunkLoss: new Float64Array(maxChunks),
    chunkCorrect: new Float64Array(maxChunks),
    chunkStatistics: new Float64Array(maxChunks * model.statisticsSize),
    blockSquares: work.blockSquares,
  };
  const { params, grads } = model;
  const wasTraining = model.training;
  useKernel(plan.kernel);
  work.params.set(params);
  work.state.set(state.optimizerState);
  model.bind(work.params, grads);
  try {
    const engine = new StepEngine({
      model,
      loss: plan.loss,
      data,
      chunkSize: plan.chunkSize,
      dropoutKey: dropoutRunKey(plan.seed),
      augment: plan.augment === null ? undefined : { spec: plan.augment, key: augmentRunKey(plan.seed) },
      optimizer,
      kernel: work.kernel,
      at: work.at,
      buffers,
      party: SOLE_PARTY,
    });
    const loop = epochLoop(plan, state, buffers, options);
    for (let next = loop.next(); ; ) {
      if (next.done === true) return next.value;
      const request = next.value;
      next = loop.next(request.kind === 'step' ? [engine.run(request.order)] : evaluate(model, request.data, { loss: plan.loss.name }));
    }
  } finally {
    params.set(work.params);
    state.optimizerState.set(work.state);
    model.bind(params, grads);
    model.bindStatistics();
    model.train(wasTraining);
    useKernel(previousKernel);
  }
}

export interface EvaluateOptions {
  batchSize?: number;
  loss?: LossName;
}

/** Mean loss and accuracy in eval mode; the model's mode is restored afterwards. */
export function evaluate(model: Model, data: Dataset, options: EvaluateOptions = {}): Evaluation {
  checkKnownFields('evaluate options', options, ['batchSize', 'loss']);
  checkDataFits(model, data);
  const loss: Loss = options.loss === undefined ? defaultLoss(data.targets) : lossByName(options.loss);
  checkLossFits(model, loss, data);
  let lossSum = 0;
  let correct = 0;
  forEachEvalBatch('evaluate', model, data, options.batchSize, (output, from, to) => {
    const result = loss.evaluate(output, sliceTargets(data.targets, from, to), to - from, null);
    lossSum += result.sum;
    correct += result.correct;
  });
  return { loss: lossSum / data.size, accuracy: loss.reportsAccuracy ? correct / data.size : null };
}

/** The model's outputs (logits for a classifier) for every row of `inputs`, or every sample of a data set, in eval mode. */
export function predict(model: Model, inputs: Float32Array | Dataset, options: { batchSize?: number } = {}): Float32Array {
  checkKnownFields('predict options', options, ['batchSize']);
  const ranges = inferenceRows(model, inputs);
  const width = sizeOf(model.outputShape);
  const outputs = new Float32Array(ranges.size * width);
  forEachEvalBatch('predict', model, ranges, options.batchSize, (output, from) => outputs.set(output.data, from * width));
  return outputs;
}

/**
 * Monte Carlo dropout: `samples` forward passes with only the dropout layers on, masks keyed by
 * (seed, pass, row). Per row: mean class probabilities, their standard deviation, the predictive
 * entropy and the mutual information (BALD); with `outputs: 'raw'` (a regression model) the mean
 * and standard deviation of the outputs themselves. Bit-identical to the parallel Trainer's. The
 * model's modes are restored afterwards.
 */
export function predictWithUncertainty<O extends UncertaintyOutputs = 'probabilities'>(
  model: Model,
  inputs: Float32Array | Dataset,
  options: UncertaintyOptions<O> & { batchSize?: number },
): Uncertainty<O> {
  const classes = sizeOf(model.outputShape);
  const { passes, key, outputs } = checkUncertaintyOptions(options, classes, ['samples', 'seed', 'outputs', 'batchSize']);
  const size = checkInteger('batchSize', options.batchSize ?? EVAL_BATCH_SIZE, 1);
  const ranges = inferenceRows(model, inputs);
  const rows = ranges.size;
  checkPassRows(model, false, rows, size, { call: 'predictWithUncertainty', change: BATCH_SIZE_CHANGE });
  const out = uncertaintyViews(new ArrayBuffer(uncertaintyBytes(rows, classes, outputs)), rows, classes, outputs as O);
  withParametersFixed(() => {
    for (let from = 0; from < rows; from += size) {
      const to = Math.min(from + size, rows);
      mcDropoutRows(model, ranges.gatherRows(from, to), from, passes, key, out);
    }
  });
  return out;
}

/** Rows of samples by range: a Dataset (in memory or streamed), or an inputs array. */
interface RowRanges {
  readonly size: number;
  readonly streamed: unknown;
  gatherRows(from: number, to: number, into?: Float32Array): Float32Array;
}

/** The rows of what predict is given: a data set that fits the model, or whole samples in a Float32Array. */
function inferenceRows(model: Model, inputs: Float32Array | Dataset): RowRanges {
  checkInferenceInputs(inputs);
  if (inputs instanceof Dataset) {
    checkDataFits(model, inputs);
    return inputs;
  }
  const sampleSize = sizeOf(model.inputShape);
  const rows = model.inputTensor(inputs).shape[0];
  return { size: rows, streamed: null, gatherRows: (from: number, to: number) => inputs.subarray(from * sampleSize, to * sampleSize) };
}

const BATCH_SIZE_CHANGE = 'pass a batchSize';

function forEachEvalBatch(
  call: string,
  model: Model,
  data: RowRanges,
  batchSize: number | undefined,
  visit: (output: { data: Float32Array; shape: readonly number[] }, from: number, to: number) => void,
): void {
  const size = checkInteger('batchSize', batchSize ?? EVAL_BATCH_SIZE, 1);
  const rows = data.size;
  checkPassRows(model, false, rows, size, { call, change: BATCH_SIZE_CHANGE });
  // Streamed samples are read into one buffer, batch after batch; samples in memory are viewed where they are.
  const scratch = data.streamed === null ? undefined : new Float32Array(Math.min(size, rows) * sizeOf(model.inputShape));
  const wasTraining = model.training;
  model.eval();
  try {
    withParametersFixed(() => {
      for (let from = 0; from < rows; from += size) {
        const to = Math.min(from + size, rows);
        const x = model.inputTensor(data.gatherRows(from, to, scratch));
        visit(model.forward(x, { key: [0, 0], step: 0, samples: rowIndices(to - from, from) }), from, to);
      }
    });
  } finally {
    model.train(wasTraining);
  }
}
