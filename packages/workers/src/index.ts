export { Trainer } from './trainer.js';
export { checkTrainerMemory } from './memory-limit.js';
export type { TrainerOptions, TrainerFitOptions, TrainerState } from './trainer-options.js';
export type { StepProgress, FitTimings } from '@lockstep/core';
export type { ReplicaForwardResult } from './messages.js';
export { sharedMemoryRanks, type SharedMemoryRanks } from './shared-memory-ranks.js';
export type { MpiRanks, RankGroupSpec } from './rank-groups.js';
