export { Trainer, type TrainerOptions, type TrainerFitOptions, type TrainerState, type StepProgress, type FitTimings } from './trainer.js';
export type { ReplicaForwardResult } from './messages.js';
