import { checkChunkRows, LockstepError, Model, sequentialFromSpec, type ModelSpec } from '@lockstep/core';
import { Trainer, type RankGroupSpec } from '@lockstep/workers';
import { UserError } from '../errors.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * The main thread's model of `spec`, built once per run: a bad layer entry fails here, before a run
 * folder or a worker exists, and the Trainer adopts this model rather than building its own.
 */
export function buildModel(spec: ModelSpec): Model {
  return new Model(sequentialFromSpec(spec), spec.input);
}

/** BatchNorm with one value per channel needs chunks of at least 2 samples (core's `checkChunkRows`): said before anything is written. */
export function checkNormalizationChunks(model: Model, samples: number, batchSize: number, chunkSize: number): void {
  try {
    checkChunkRows(model, samples, batchSize, chunkSize);
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
