import { checkChunkRows, checkDataFits, LockstepError, Model, negativeRunningVariance, sampledDropoutLayers, sequentialFromSpec, stateSlots, type Dataset, type ModelSpec, type OptimizerConfig } from '@lockstep/core';
import { checkTrainerMemory, Trainer, type RankGroupSpec } from '@lockstep/workers';
import { classesOf } from '../config/model-spec.js';
import { UserError } from '../errors.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * The main thread's model of `spec`, built once per run: a bad layer entry fails here, before a run
 * folder or a worker exists, and the Trainer adopts this model rather than building its own.
 */
export function buildModel(spec: ModelSpec): Model {
  return new Model(sequentialFromSpec(spec), spec.input);
}

/**
 * The model of a checkpoint, built as `buildModel` builds it, once its arrays are checked against
 * it: a file whose parameters, optimizer state or buffers are not the sizes its own model and
 * optimizer give them, or that holds a negative running variance (which no training writes), is
 * damaged (a valid checksum only says it was written so), and is refused before anything is
 * written or a worker exists.
 */
export function checkpointModel(checkpoint: Checkpoint, path: string): Model {
  const model = buildModel(checkpoint.spec);
  const [params, state, buffers] = [checkpoint.params.length, checkpoint.optimizerState.length, checkpoint.buffers?.length ?? 0];
  const neededState = stateSlots(checkpoint.optimizer) * model.size;
  if (params !== model.size || state !== neededState || buffers !== model.buffers.length) {
    throw new UserError(
      `${path} is damaged: it holds ${params} parameters, ${state} optimizer state values and ${buffers} buffer values, ` +
        `where its model and optimizer need ${model.size}, ${neededState} and ${model.buffers.length}; use another checkpoint`,
    );
  }
  const negative = negativeRunningVariance(model, checkpoint.buffers ?? new Float32Array(0));
  if (negative !== null) throw new UserError(`${path} is damaged: ${negative}; use another checkpoint`);
  return model;
}

/**
 * --mc-samples of eval and predict: a model without dropout layers of p > 0 has no masks to draw, so
 * every pass would be the same (the library's predictWithUncertainty gives zero spread); refused.
 */
export function checkMcSamples(model: Model, path: string, mcSamples: number | undefined): void {
  if (mcSamples !== undefined && sampledDropoutLayers(model.module).length === 0) {
    throw new UserError(`${path} has no dropout layers with p > 0, so --mc-samples has nothing to sample; leave out --mc-samples`);
  }
}

/** How a run trains `model`: its optimizer, batches, and the threads and ranks that share each step. */
export interface TrainingShape {
  readonly optimizer: OptimizerConfig;
  readonly batchSize: number;
  readonly chunkSize: number;
  readonly workers: number;
  readonly ranks: number;
}

/**
 * The checks a trainer makes as its fit starts, made before a run folder changes: the model has
 * parameters (core's fit refuses it too, but only once a run folder exists), the data fit the model
 * (its sample shape and classes), every chunk holds enough samples for BatchNorm (core's
 * `checkChunkRows`), and the model fits a trainer's memory. `source` names where "layers" came from
 * (the config file, or the checkpoint resumed) where the caller does not name it itself.
 */
export function checkTrainable(model: Model, data: { train: Dataset; validation: Dataset | null }, shape: TrainingShape, source?: string): void {
  if (model.size === 0) {
    const where = source === undefined ? '' : `${source}: `;
    throw new UserError(
      `${where}the model of "layers" has no parameters, so training cannot change it; add a layer that has some, e.g. {"type": "linear", "out": ${classesOf(data.train)}} last`,
    );
  }
  try {
    checkDataFits(model, data.train);
    checkChunkRows(model, data.train.size, shape.batchSize, shape.chunkSize);
    if (data.validation !== null) checkDataFits(model, data.validation, 'validation data');
    // A fit's step buffer holds one batch, and a batch never more than the data set.
    checkTrainerMemory(model, shape, Math.min(shape.batchSize, data.train.size));
  } catch (error) {
    throw error instanceof LockstepError ? new UserError(error.message) : error;
  }
}

/**
 * A trainer holding a checkpoint's parameters and optimizer state; `setup` are its modules' URLs.
 * With `ranks`, its eval-mode passes are collective: each rank computes its share of the rows.
 */
export function trainerFor(checkpoint: Checkpoint, model: Model, setup: string[], workers: number, ranks?: RankGroupSpec): Trainer {
  const trainer = new Trainer({
    model,
    seed: checkpoint.config.seed,
    optimizer: checkpoint.optimizer,
    chunkSize: checkpoint.config.chunkSize,
    kernel: checkpoint.config.kernel ?? 'strict',
    workers,
    setup,
    ranks,
  });
  trainer.load(checkpoint);
  return trainer;
}
