export { Trainer, type TrainerOptions, type TrainerFitOptions, type FitTimings } from './trainer.js';
export type { ReplicaForwardResult } from './messages.js';
