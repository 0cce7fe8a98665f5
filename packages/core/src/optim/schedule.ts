import { checkInteger, checkNumber, LockstepError } from '../errors.js';

/** How the learning rate moves with the optimizer step; plain data, so it can travel to workers. */
export type ScheduleConfig =
  | { readonly kind: 'constant' }
  | { readonly kind: 'step'; readonly stepSize: number; readonly gamma: number }
  | { readonly kind: 'cosine'; readonly totalSteps: number; readonly minLr: number };

export function checkSchedule(schedule: ScheduleConfig): ScheduleConfig {
  switch (schedule.kind) {
    case 'constant':
      return schedule;
    case 'step':
      checkInteger('schedule stepSize', schedule.stepSize, 1);
      checkNumber('schedule gamma', schedule.gamma, 0);
      return schedule;
    case 'cosine':
      checkInteger('schedule totalSteps', schedule.totalSteps, 1);
      checkNumber('schedule minLr', schedule.minLr, 0);
      return schedule;
    default:
      throw new LockstepError('E_OPTION', `schedule kind must be "constant", "step" or "cosine", got ${JSON.stringify((schedule as { kind: unknown }).kind)}`);
  }
}

/** The learning rate of 0-based optimizer step `step` for base rate `lr`. */
export function learningRateAt(lr: number, schedule: ScheduleConfig, step: number): number {
  switch (schedule.kind) {
    case 'constant':
      return lr;
    case 'step':
      return lr * Math.pow(schedule.gamma, Math.floor(step / schedule.stepSize));
    case 'cosine': {
      const progress = Math.min(step, schedule.totalSteps) / schedule.totalSteps;
      return schedule.minLr + 0.5 * (lr - schedule.minLr) * (1 + Math.cos(Math.PI * progress));
    }
  }
}
