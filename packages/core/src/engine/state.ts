import { checkInteger, checkNumber, LockstepError } from '../errors.js';
import type { Model } from '../model.js';
import { stateSlots, type OptimizerConfig } from '../optim/optimizer.js';
import { checkPlateauState, initialScheduleState, type PlateauState } from '../optim/schedule.js';
import { checkEarlyStoppingState, type EarlyStoppingState } from './early-stopping.js';

/** Everything besides the parameters that a run needs to continue exactly: what a checkpoint saves. */
export interface TrainingState {
  /** Optimizer steps taken so far; step t draws dropout masks with t and updates with t + 1. */
  step: number;
  /** Epochs completed so far. */
  epoch: number;
  /** Batches of the current epoch already taken (0 at an epoch boundary). */
  batch: number;
  /** Loss and correct-count sums of those batches, so a resumed epoch reports the same metrics. */
  epochLossSum: number;
  epochCorrect: number;
  /** `stateSlots(optimizer)` slots of the model's parameter count. */
  optimizerState: Float32Array;
  /** A reduce-on-plateau schedule's state (its learning rate, best, bad epochs, cooldown); absent for the other schedules. */
  schedule?: PlateauState;
  /** Early stopping's state, where a fit has it (absent until the first fit with `earlyStopping`). */
  earlyStopping?: EarlyStoppingState;
}

export function newTrainingState(model: Model, optimizer: OptimizerConfig): TrainingState {
  const schedule = initialScheduleState(optimizer.lr, optimizer.schedule);
  return { step: 0, epoch: 0, batch: 0, epochLossSum: 0, epochCorrect: 0, optimizerState: new Float32Array(stateSlots(optimizer) * model.size), ...(schedule === null ? {} : { schedule }) };
}

/** The position within the epoch: a state without it resumes at the start of its epoch. */
type EpochPosition = 'batch' | 'epochLossSum' | 'epochCorrect';
export type ResumableState = Omit<TrainingState, EpochPosition> & Partial<Pick<TrainingState, EpochPosition>>;

/**
 * Checks a state given to `fit` or a trainer's `load` (a checkpoint's, or an earlier `fit` result's)
 * against the model and optimizer, and completes a position left out.
 */
export function checkTrainingState(given: ResumableState, model: Model, optimizer: OptimizerConfig, call = 'fit'): TrainingState {
  const state = Object.assign(given, { batch: given.batch ?? 0, epochLossSum: given.epochLossSum ?? 0, epochCorrect: given.epochCorrect ?? 0 });
  if (!(state.optimizerState instanceof Float32Array) || state.optimizerState.length !== stateSlots(optimizer) * model.size) {
    throw new LockstepError('E_OPTION', `${call}: state.optimizerState does not match this model and optimizer`);
  }
  for (const field of ['step', 'epoch', 'batch'] as const) checkInteger(`${call}: state.${field}`, state[field], 0);
  for (const field of ['epochLossSum', 'epochCorrect'] as const) checkNumber(`${call}: state.${field}`, state[field]);
  if (state.schedule !== undefined) checkPlateauState(state.schedule, `${call}: state.schedule`);
  if (state.earlyStopping !== undefined) checkEarlyStoppingState(state.earlyStopping, `${call}: state.earlyStopping`);
  return state;
}
