import { Model, sequentialFromSpec, type ModelSpec } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import type { Checkpoint } from './checkpoint.js';

/**
 * The main thread's model of `spec`, built once per run: a bad layer entry fails here, before a run
 * folder or a worker exists, and the Trainer adopts this model rather than building its own.
 */
export function buildModel(spec: ModelSpec): Model {
  return new Model(sequentialFromSpec(spec), spec.input);
}

/** A trainer holding a checkpoint's parameters and optimizer state; `setup` are its modules' URLs. */
export function trainerFor(checkpoint: Checkpoint, model: Model, setup: string[], workers: number): Trainer {
  const trainer = new Trainer({
    model,
    seed: checkpoint.config.seed,
    optimizer: checkpoint.optimizer,
    chunkSize: checkpoint.config.chunkSize,
    kernel: checkpoint.config.kernel ?? 'strict',
    workers,
    setup,
  });
  trainer.load(checkpoint);
  return trainer;
}
