import type { ResourceLimits } from 'node:worker_threads';
import type { RankGroupSpec } from './rank-groups.js';
import { checkKnownFields, checkOptionsObject, checkPositive, describeValue, LockstepError, type EpochOptions, type KernelChoice, type Model, type ModelSpec, type OptimizerConfig, type TrainingState } from '@lockstep/core';

export interface TrainerOptions {
  /**
   * The model, as a spec or built once by the caller. A built model is adopted: its parameters and
   * buffers move into shared memory, where training updates them (the caller's object is the
   * trainer's `model`). They keep the values `initialize`, `loadStateDict`, training or a hand set
   * gave them; a spec, or a model whose parameters are all still 0 (`new Model` never initialized),
   * is initialized from `seed`. Every worker rebuilds its replica from the spec.
   */
  model: ModelSpec | Model;
  /** Keys each epoch's shuffle, augmentation and every dropout mask, and the weight init of a model not yet initialized. */
  seed: number;
  optimizer: OptimizerConfig;
  /** Rows per gradient chunk; fixed by the config, never by the worker count (default 32). */
  chunkSize?: number;
  /** Worker threads (default: os.availableParallelism()). Any count gives the same bits. */
  workers?: number;
  /** The matrix-product kernel of every worker (default: the constructing thread's, see `useKernel`). */
  kernel?: KernelChoice;
  /**
   * Run the workers' matrix products on @lockstep/native's x86-64 kernels (AVX-512 or AVX2) where that
   * optional package is installed and built, instead of WebAssembly's: 2.1-2.3x (strict) to 2.6-2.9x
   * (relaxed) faster products, the same bits (default: true, unless the environment has
   * LOCKSTEP_NATIVE_KERNELS=0).
   */
  nativeKernels?: boolean;
  /**
   * Module URLs every worker imports before building its replica, for example ones that call
   * `registerLayer`. Import them in the main thread too: the trainer builds the model there as well.
   */
  setup?: string[];
  /**
   * Limits of each worker thread, for example `{ maxOldGenerationSizeMb: 512 }`: a worker over its heap
   * limit then fails the current call with E_WORKER instead of taking the whole process down.
   */
  resourceLimits?: ResourceLimits;
  /**
   * The other ranks of a run that spans several (for example `sharedMemoryRanks(n, bytes)[r]` for
   * trainer r of n in one process): the ranks split every batch's chunks in aligned blocks and give
   * the same bits as one trainer (docs/design.md, "Across ranks"). `evaluate`, `predict` and
   * `predictWithUncertainty` are collective then too: every rank calls them with the same data,
   * computes its share of the rows, and gets what one trainer returns. Each `fit` first checks that
   * every rank has the same settings, data and weights (rank-agreement.ts), and rejects on every rank,
   * before any step, at the first difference; each `evaluate`, `predict` and `predictWithUncertainty`
   * checks its data, options and weights the same way before any block.
   */
  ranks?: RankGroupSpec;
}

/** The fields of `TrainerOptions`: any other is a mistake, which would otherwise be ignored. */
export const TRAINER_FIELDS = ['model', 'seed', 'optimizer', 'chunkSize', 'workers', 'kernel', 'nativeKernels', 'setup', 'resourceLimits', 'ranks'] as const;

const RESOURCE_LIMITS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

/** The limits of each worker thread, checked: piscina would refuse a value that is not an object with a raw TypeError. */
export function checkResourceLimits(limits: ResourceLimits | undefined): ResourceLimits | undefined {
  if (limits === undefined) return undefined;
  checkOptionsObject('resourceLimits', limits, `(${RESOURCE_LIMITS.join(', ')}), such as { maxOldGenerationSizeMb: 512 }`);
  checkKnownFields('resourceLimits', limits, RESOURCE_LIMITS);
  for (const field of RESOURCE_LIMITS) if (limits[field] !== undefined) checkPositive(`resourceLimits.${field}`, limits[field]);
  return limits;
}

/** The module URLs every worker imports first: a list of strings (a lone string would be read as its characters). */
export function checkSetupModules(setup: unknown): string[] {
  if (setup === undefined) return [];
  if (!Array.isArray(setup)) {
    const advice = typeof setup === 'string' ? `; pass [${JSON.stringify(setup)}]` : '';
    throw new LockstepError('E_OPTION', `setup must be an array of module URLs, got ${describeValue(setup)}${advice}`);
  }
  setup.forEach((url: unknown, i) => {
    if (typeof url !== 'string') throw new LockstepError('E_OPTION', `setup[${i}] must be a module URL (a string), got ${describeValue(url)}`);
  });
  return setup;
}

export type TrainerFitOptions = EpochOptions;
export type TrainerState = TrainingState;
