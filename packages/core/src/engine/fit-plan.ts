import { checkAugment, isIdentityAugment, type AugmentSpec, type CheckedAugmentSpec } from '../data/augment.js';
import { checkDataset, type Dataset } from '../data/dataset.js';
import { checkInteger, checkKnownFields, describeValue, LockstepError } from '../errors.js';
import { defaultLoss, lossByName } from '../losses/index.js';
import type { Loss, LossName } from '../losses/loss.js';
import type { Model } from '../model.js';
import type { KernelChoice } from '../ops/matmul.js';
import type { OptimizerConfig } from '../optim/optimizer.js';
import { checkCallbacks, checkObserver, type Callback } from './callbacks.js';
import { checkEarlyStopping, checkMonitored, type CheckedEarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
import { formatShape, sizeOf } from '../tensor.js';
import { checkBatching } from './plan.js';
import type { EpochMetrics, StepProgress } from './progress.js';

/** What every trainer's `fit` takes besides the model: how long, in what batches, and what to report. */
export interface EpochOptions {
  epochs: number;
  batchSize: number;
  /** Default: cross-entropy for class labels, mse for value targets. */
  loss?: LossName;
  /** A new keyed order of samples each epoch (default true). */
  shuffle?: boolean;
  /**
   * Augment every training sample of image data ([C, H, W]) with decisions keyed by (seed, epoch,
   * sample); validation and evaluation see the samples as they are. Default: none.
   */
  augment?: AugmentSpec;
  validation?: Dataset;
  /** After every epoch, its validation included. Like `onStep`, a plain function: an async one, or one returning a promise, fails the fit (E_OPTION). */
  onEpoch?: (metrics: EpochMetrics) => void;
  /** After every optimizer step; the state is then a position a checkpoint can resume from. */
  onStep?: (progress: StepProgress) => void;
  /** When aborted, fit stops after the current optimizer step, with `stopped: true`. */
  signal?: AbortSignal;
  /**
   * Hooks at each step's end and each epoch's end that receive the metrics and may stop the fit
   * (Keras' and Lightning's callbacks; `onStep` and `onEpoch` above are hooks that cannot stop it).
   */
  callbacks?: readonly Callback[];
  /**
   * Stop when the monitored metric stops improving (Keras' EarlyStopping); its state is part of the
   * training state, and goes on from a fit a signal or a callback stopped. After early stopping has
   * ended a fit, the next one watches afresh.
   */
  earlyStopping?: EarlyStoppingOptions;
}

/** The fields of `EpochOptions`: any other is a mistake, which would otherwise be ignored. */
export const EPOCH_OPTION_FIELDS = ['epochs', 'batchSize', 'loss', 'shuffle', 'augment', 'validation', 'onEpoch', 'onStep', 'signal', 'callbacks', 'earlyStopping'] as const;

/** Refuses fit options that are not an object, or that hold a field outside `known`. */
export function checkFitOptions(call: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null) {
    throw new LockstepError('E_OPTION', `${call}: options must be an object with at least epochs and batchSize, got ${describeValue(options)}`);
  }
  checkKnownFields(`${call} options`, options, known);
}

/** A checked `fit`: the model and data, and settings every party of its steps agrees on. */
export interface FitPlan {
  readonly model: Model;
  readonly data: Dataset;
  readonly validation: Dataset | undefined;
  readonly epochs: number;
  readonly batchSize: number;
  readonly chunkSize: number;
  readonly seed: number;
  readonly shuffle: boolean;
  /** Null without augmentation, or with one of zero strength. */
  readonly augment: CheckedAugmentSpec | null;
  readonly loss: Loss;
  /** The matrix kernel the parties compute with, so a failed step is replayed with the same one. */
  readonly kernel: KernelChoice;
  /** Its learning rate and schedule: the epoch loop gives each step its rate. */
  readonly optimizer: OptimizerConfig;
  readonly earlyStopping: CheckedEarlyStopping | null;
  readonly callbacks: readonly Callback[];
}

/** `lowerChunkSize`: how the message about a chunk larger than the batch says to lower chunkSize, where the caller sets it. */
export function checkFit(
  model: Model,
  data: Dataset,
  options: EpochOptions,
  run: { seed: number; chunkSize: number; kernel: KernelChoice; optimizer: OptimizerConfig },
  lowerChunkSize?: string,
): FitPlan {
  const epochs = checkInteger('epochs', options.epochs, 1);
  const { batchSize, chunkSize } = checkBatching(options.batchSize, run.chunkSize, lowerChunkSize);
  const seed = checkInteger('seed', run.seed, 0);
  checkHasParameters(model);
  checkInitialized(model);
  checkDataFits(model, data);
  checkChunkRows(model, data.size, batchSize, chunkSize);
  if (options.validation !== undefined) {
    checkDataFits(model, options.validation, 'validation data');
    checkPassRows(model, false, options.validation.size, EVAL_BATCH_SIZE, { call: 'validation data', change: 'give validation data of a size' });
  }
  const augment = options.augment === undefined ? null : checkAugment(options.augment, data.sampleShape);
  const loss = options.loss === undefined ? defaultLoss(data.targets) : lossByName(options.loss);
  checkLossFits(model, loss, data);
  if (options.validation !== undefined) checkLossFits(model, loss, options.validation, 'validation data');
  const computes = { validation: options.validation !== undefined, accuracy: loss.reportsAccuracy };
  const earlyStopping = options.earlyStopping === undefined ? null : checkEarlyStopping(options.earlyStopping);
  if (earlyStopping !== null) checkMonitored(earlyStopping, computes);
  checkObserver('onEpoch', options.onEpoch);
  checkObserver('onStep', options.onStep);
  const callbacks = checkCallbacks(options.callbacks);
  return {
    model,
    data,
    validation: options.validation,
    epochs,
    batchSize,
    chunkSize,
    seed,
    shuffle: options.shuffle ?? true,
    augment: augment === null || isIdentityAugment(augment) ? null : augment,
    loss,
    kernel: run.kernel,
    optimizer: run.optimizer,
    earlyStopping,
    callbacks,
  };
}

/** A model without parameters has nothing to learn: every epoch would give the same loss. */
function checkHasParameters(model: Model): void {
  if (model.size === 0) {
    throw new LockstepError('E_SHAPE', 'fit: the model has no parameters, so training cannot change it; add a layer that has some, such as a Linear');
  }
}

/** A model built with `new Model` and never initialized holds zeros: its hidden units would all learn alike. */
function checkInitialized(model: Model): void {
  if (!model.initialized) {
    throw new LockstepError('E_OPTION', 'fit: the model\'s parameters are all 0, as new Model leaves them; call model.initialize(seed) first (modelFromSpec does), or load weights with model.loadStateDict');
  }
}

export function checkDataFits(model: Model, data: Dataset, name = 'data'): void {
  checkDataset(name, data);
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
 * Refuses targets the loss cannot score, before any step or pass, with the message the loss itself
 * gives on meeting them: on worker threads that failure would come only after an epoch, as a worker's.
 * Validation data is scored with the training data's loss, so its message asks for targets like theirs.
 */
export function checkLossFits(model: Model, loss: Loss, data: Dataset, name = 'data'): void {
  const { targets } = data;
  const labels = loss.name === 'cross-entropy';
  if ((targets.kind === 'classes') !== labels) {
    const given = targets.kind === 'classes' ? 'class labels' : 'value targets';
    const needed = labels ? 'class labels' : 'value targets';
    throw new LockstepError(
      'E_DATA',
      name === 'data'
        ? `${loss.name} needs ${needed}; use the ${labels ? 'mse' : 'cross-entropy'} loss for ${given}`
        : `${name} has ${given} but the loss is ${loss.name}; give ${name} with ${needed}, like the training data`,
    );
  }
  const outputs = sizeOf(model.outputShape);
  if (targets.kind === 'values' && targets.width !== outputs) {
    throw new LockstepError('E_SHAPE', `${name === 'data' ? '' : `${name}: `}mse: the model gives ${outputs} outputs per sample but targets have ${targets.width}`);
  }
}

/**
 * Refuses a fit in which some chunk would hold too few rows for a layer in training mode: BatchNorm
 * with one value per channel a sample needs 2 rows, as PyTorch refuses a batch of one. The chunks of
 * a fit are its batches (the last one of an epoch maybe smaller) cut in chunkSize rows.
 */
export function checkChunkRows(model: Model, dataSize: number, batchSize: number, chunkSize: number): void {
  const { rows: needed, layer } = model.minimumRows(true);
  if (layer === null) return;
  const last = dataSize % batchSize;
  const batches = last === 0 || dataSize < batchSize ? [Math.min(batchSize, dataSize)] : [batchSize, last];
  for (const batch of batches) {
    const smallest = batch % chunkSize === 0 ? Math.min(chunkSize, batch) : batch % chunkSize;
    if (smallest >= needed) continue;
    const samples = (n: number): string => `${n} sample${n === 1 ? '' : 's'}`;
    const where =
      smallest === chunkSize ? `chunkSize ${chunkSize}`
      : batch === batchSize ? `batchSize ${batchSize} in chunks of chunkSize ${chunkSize}`
      : `the last batch of each epoch (${samples(batch)} of ${dataSize}) in chunks of chunkSize ${chunkSize}`;
    throw new LockstepError(
      'E_OPTION',
      `${where} leaves a chunk of ${samples(smallest)}, and ${layer.describe()} needs more than 1 value per channel in training; choose a chunkSize that leaves every chunk at least ${needed} samples`,
    );
  }
}

/**
 * Rows per eval-mode pass by default: the reference's `batchSize` and the Trainer's block. With
 * BatchNorm's trackRunningStats: false each pass is normalized by its own statistics, so both must cut
 * the rows alike to give the same bits.
 */
export const EVAL_BATCH_SIZE = 256;

/**
 * Refuses forward passes over `rows` rows, `size` at a time, whose last pass would hold too few rows
 * for a layer that normalizes by the batch's statistics (BatchNorm with one value per channel a
 * sample, in training mode, and in eval mode too with trackRunningStats: false): a lone row would come
 * out as the layer's bias, where PyTorch raises. `change` names what to choose otherwise: the rows or
 * the size.
 */
export function checkPassRows(model: Model, training: boolean, rows: number, size: number, where: { call: string; change: string }): void {
  const { rows: needed, layer } = model.minimumRows(training);
  if (layer === null || rows === 0) return;
  const last = rows % size === 0 ? Math.min(size, rows) : rows % size;
  if (last >= needed) return;
  const count = (n: number): string => `${n} row${n === 1 ? '' : 's'}`;
  const given = rows < needed ? count(rows) : `${count(rows)}, ${size} at a time, leave a last pass of ${count(last)}`;
  const fix = rows < needed ? `pass ${needed} rows or more` : `${where.change} that leaves ${needed} rows or more in the last pass`;
  const mode = training ? 'in training mode' : 'in eval mode (trackRunningStats: false)';
  throw new LockstepError(
    'E_OPTION',
    `${where.call}: ${given}, but ${layer.describe()} normalizes by the batch's own statistics ${mode} and needs ${needed} rows or more; ${fix}${training ? '' : ', or use trackRunningStats: true'}`,
  );
}
