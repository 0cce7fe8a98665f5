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

/**
 * What the Trainer is given: the built model, or its spec when `modules` register layers. The
 * Trainer describes an adopted model to its workers with core's specOf, which does not know
 * registered layers yet, so such a model is built a second time, by the Trainer, from its spec.
 */
export function trainerModel(model: Model, spec: ModelSpec, modules: readonly string[]): Model | ModelSpec {
  return modules.length === 0 ? model : spec;
}

/** A trainer holding a checkpoint's parameters and optimizer state; `setup` are its modules' URLs. */
export function trainerFor(checkpoint: Checkpoint, model: Model, setup: string[], workers: number): Trainer {
  const trainer = new Trainer({
    model: trainerModel(model, checkpoint.spec, setup),
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
