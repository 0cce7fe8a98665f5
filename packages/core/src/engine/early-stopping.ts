import { checkChoice, checkInteger, checkKnownFields, checkNumber, describeValue, LockstepError } from '../errors.js';
import { MONITOR_FIX, MONITORED_METRICS, missingMetric, type MonitoredMetric } from '../optim/schedule.js';
import type { EpochMetrics } from './progress.js';

/** Keras' `EarlyStopping` callback, as a `fit` option: its state is part of the training state, so a resumed run stops where an uninterrupted one does. */
export interface EarlyStoppingOptions {
  /** The metric watched at each epoch's end (default 'val_loss'). */
  monitor?: MonitoredMetric;
  /** Whether lower or higher is better (default: 'max' for accuracies, 'min' for losses). */
  mode?: 'min' | 'max';
  /** Epochs without improvement before the fit stops (default 0, as Keras). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /**
   * End the fit with the parameters and buffers of the best epoch (Keras' `restore_best_weights`,
   * default false): when early stopping ends it, and when it runs all its epochs, as Keras'
   * `on_train_end` puts them back. A fit a signal or a callback interrupted keeps the last ones.
   */
  restoreBestWeights?: boolean;
}

export interface CheckedEarlyStopping {
  readonly monitor: MonitoredMetric;
  readonly mode: 'min' | 'max';
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
}

/** Early stopping's state, updated at each epoch's end. */
export interface EarlyStoppingState {
  /** The best value of the monitored metric so far; null before the first epoch. */
  best: number | null;
  /** The 1-based epoch that gave it; 0 before the first. */
  bestEpoch: number;
  /** Epochs since the best (Keras' `wait`). */
  wait: number;
  /** The 1-based epoch after which early stopping ended the run; 0 while it goes on. */
  stoppedEpoch: number;
  /** The best epoch's parameters and buffers, kept with `restoreBestWeights`. */
  bestParams?: Float32Array;
  bestBuffers?: Float32Array;
  /**
   * The last epoch's parameters and buffers, while the model holds the best epoch's after a fit that
   * ran all its epochs: the state is a position after the last epoch, so the next fit on it goes on
   * from them, and fits chained on one state give the bits of one fit.
   */
  lastParams?: Float32Array;
  lastBuffers?: Float32Array;
}

const EARLY_STOPPING_OPTIONS = ['monitor', 'mode', 'patience', 'minDelta', 'restoreBestWeights'];

export function checkEarlyStopping(options: EarlyStoppingOptions, name = (field: string) => `earlyStopping.${field}`): CheckedEarlyStopping {
  if (typeof options !== 'object' || options === null) throw new LockstepError('E_OPTION', `earlyStopping must be an object (${EARLY_STOPPING_OPTIONS.join(', ')}), got ${describeValue(options)}`);
  checkKnownFields('earlyStopping', options, EARLY_STOPPING_OPTIONS);
  const monitor = checkChoice(name('monitor'), options.monitor ?? 'val_loss', MONITORED_METRICS);
  const mode = checkChoice(name('mode'), options.mode ?? (monitor.endsWith('accuracy') ? 'max' : 'min'), ['min', 'max']);
  const patience = checkInteger(name('patience'), options.patience ?? 0, 0);
  const minDelta = checkNumber(name('minDelta'), options.minDelta ?? 0, 0);
  const restoreBestWeights = options.restoreBestWeights ?? false;
  if (typeof restoreBestWeights !== 'boolean') throw new LockstepError('E_OPTION', `${name('restoreBestWeights')} must be true or false, got ${JSON.stringify(restoreBestWeights)}`);
  return { monitor, mode, patience, minDelta, restoreBestWeights };
}

/** Refuses early stopping on a metric the run does not compute. */
export function checkMonitored(
  spec: Pick<CheckedEarlyStopping, 'monitor'>,
  run: { validation: boolean; accuracy: boolean },
  name = (field: string) => `earlyStopping.${field}`,
  fix = MONITOR_FIX,
): void {
  const missing = missingMetric(spec.monitor, run);
  if (missing !== null) throw new LockstepError('E_OPTION', `${name('monitor')}: ${missing}; ${fix}`);
}

export function newEarlyStoppingState(): EarlyStoppingState {
  return { best: null, bestEpoch: 0, wait: 0, stoppedEpoch: 0 };
}

export function monitoredValue(metrics: EpochMetrics, monitor: MonitoredMetric): number | null {
  switch (monitor) {
    case 'val_loss':
      return metrics.valLoss;
    case 'val_accuracy':
      return metrics.valAccuracy;
    case 'loss':
      return metrics.loss;
    case 'accuracy':
      return metrics.accuracy;
  }
}

/**
 * Keras' `on_epoch_end`: `wait` counts the epochs since the best, an improvement (by more than
 * minDelta in the mode's direction) resets it, and the fit stops once it reaches `patience`. Returns
 * whether this epoch is the new best; sets `stoppedEpoch` when the fit must stop.
 */
export function earlyStoppingStep(spec: CheckedEarlyStopping, state: EarlyStoppingState, metrics: EpochMetrics): boolean {
  const current = monitoredValue(metrics, spec.monitor);
  if (current === null) return false;
  state.wait++;
  const best = state.best ?? (spec.mode === 'min' ? Infinity : -Infinity);
  const improved = spec.mode === 'min' ? current + spec.minDelta < best : current - spec.minDelta > best;
  if (improved) {
    state.best = current;
    state.bestEpoch = metrics.epoch;
    state.wait = 0;
    return true;
  }
  if (state.wait >= spec.patience && metrics.epoch > 1) state.stoppedEpoch = metrics.epoch;
  return false;
}

/** Checks a saved early-stopping state (a checkpoint's); the best parameters are checked by whoever loads them. */
export function checkEarlyStoppingState(state: unknown, name: string): EarlyStoppingState {
  const s = state as EarlyStoppingState;
  if (typeof s !== 'object' || s === null) throw new LockstepError('E_OPTION', `${name} must be an object`);
  if (s.best !== null) checkNumber(`${name}.best`, s.best);
  for (const field of ['bestEpoch', 'wait', 'stoppedEpoch'] as const) checkInteger(`${name}.${field}`, s[field], 0);
  return s;
}
