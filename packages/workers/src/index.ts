export { Trainer, type TrainerOptions, type TrainerFitOptions, type TrainerState } from './trainer.js';
export type { StepProgress, FitTimings } from '@lockstep/core';
export type { ReplicaForwardResult } from './messages.js';
