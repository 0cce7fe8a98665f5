import { checkChoice, checkInteger, checkKnownFields, checkNumber, LockstepError } from '../errors.js';

/**
 * What a schedule counts: optimizer steps, or epochs completed (PyTorch's `scheduler.step()` once
 * per batch, or once per epoch). Default: 'step'.
 */
export type ScheduleInterval = 'step' | 'epoch';
/** A metric a reduce-on-plateau schedule or early stopping may watch (Keras' names). */
export type MonitoredMetric = 'val_loss' | 'val_accuracy' | 'loss' | 'accuracy';
export const MONITORED_METRICS = ['val_loss', 'val_accuracy', 'loss', 'accuracy'] as const;

/**
 * How the learning rate moves; plain data, so it can travel to workers and into checkpoints. Each
 * kind is a PyTorch scheduler with its semantics (docs/design.md, "The epoch loop"): `step` is
 * StepLR (stepSize = step_size), `cosine` CosineAnnealingLR (totalSteps = T_max, minLr = eta_min;
 * after T_max it stays at minLr, where PyTorch's rises again), `warmup-cosine` LinearLR (startFactor,
 * warmup = total_iters) then CosineAnnealingLR over totalSteps = T_max in SequentialLR, `one-cycle`
 * OneCycleLR (always per step, without momentum cycling), `plateau` ReduceLROnPlateau (always per
 * epoch, on `monitor`). Counts are in units of `interval`.
 */
export type ScheduleConfig =
  | { readonly kind: 'constant' }
  | { readonly kind: 'step'; readonly stepSize: number; readonly gamma: number; readonly interval?: ScheduleInterval }
  | { readonly kind: 'cosine'; readonly totalSteps: number; readonly minLr: number; readonly interval?: ScheduleInterval }
  | {
      readonly kind: 'warmup-cosine';
      readonly warmup: number;
      readonly startFactor: number;
      readonly totalSteps: number;
      readonly minLr: number;
      readonly interval?: ScheduleInterval;
    }
  | {
      readonly kind: 'one-cycle';
      readonly maxLr: number;
      readonly totalSteps: number;
      readonly pctStart: number;
      readonly annealStrategy: 'cos' | 'linear';
      readonly divFactor: number;
      readonly finalDivFactor: number;
    }
  | {
      readonly kind: 'plateau';
      readonly monitor: MonitoredMetric;
      readonly mode: 'min' | 'max';
      readonly factor: number;
      readonly patience: number;
      readonly threshold: number;
      readonly thresholdMode: 'rel' | 'abs';
      readonly cooldown: number;
      readonly minLr: number;
      readonly eps: number;
    };

export type ScheduleKind = ScheduleConfig['kind'];
export const SCHEDULE_KINDS = ['constant', 'step', 'cosine', 'warmup-cosine', 'one-cycle', 'plateau'] as const;

/** Reduce-on-plateau's state, updated once per epoch: what a checkpoint keeps so a resumed run goes on exactly. */
export interface PlateauState {
  /** The learning rate now. */
  lr: number;
  /** The best value of the monitored metric so far; null before the first epoch. */
  best: number | null;
  badEpochs: number;
  cooldownCounter: number;
}

/** How messages name a schedule's field: `schedule stepSize` by default; the CLI names its config keys. */
export type ScheduleNamer = (field: string) => string;
const defaultNamer: ScheduleNamer = (field) => `schedule ${field}`;

const option = (message: string): LockstepError => new LockstepError('E_OPTION', message);

type Kind<K extends ScheduleKind> = Extract<ScheduleConfig, { kind: K }>;
/** `T` with the fields `K` left optional. */
type Defaulted<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/**
 * A schedule as an optimizer takes it: PyTorch's defaults fill what is left out (`gamma` 0.1,
 * `minLr` 0, `startFactor` 1/3, `warmup` 5, one-cycle's `pctStart` 0.3, `annealStrategy` 'cos',
 * `divFactor` 25, `finalDivFactor` 1e4, plateau's `monitor` 'val_loss', `mode` ('max' for
 * accuracies), `factor` 0.1, `patience` 10, `threshold` 1e-4, `thresholdMode` 'rel', `cooldown` 0,
 * `minLr` 0, `eps` 1e-8).
 */
export type ScheduleSpec =
  | Kind<'constant'>
  | Defaulted<Kind<'step'>, 'gamma'>
  | Defaulted<Kind<'cosine'>, 'minLr'>
  | Defaulted<Kind<'warmup-cosine'>, 'warmup' | 'startFactor' | 'minLr'>
  | Defaulted<Kind<'one-cycle'>, 'pctStart' | 'annealStrategy' | 'divFactor' | 'finalDivFactor'>
  | Defaulted<Kind<'plateau'>, Exclude<keyof Kind<'plateau'>, 'kind'>>;

/** Each kind's fields, `kind` first. */
const SCHEDULE_FIELDS: Record<ScheduleKind, readonly string[]> = {
  constant: ['kind'],
  step: ['kind', 'stepSize', 'gamma', 'interval'],
  cosine: ['kind', 'totalSteps', 'minLr', 'interval'],
  'warmup-cosine': ['kind', 'warmup', 'startFactor', 'totalSteps', 'minLr', 'interval'],
  'one-cycle': ['kind', 'maxLr', 'totalSteps', 'pctStart', 'annealStrategy', 'divFactor', 'finalDivFactor'],
  plateau: ['kind', 'monitor', 'mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps'],
};

const PER_EPOCH = "or epochs with interval: 'epoch'";

/** Per kind: the fields without a default, as PyTorch has none for them, PyTorch's name, and what to give. */
const REQUIRED: Record<ScheduleKind, ReadonlyArray<readonly [field: string, torch: string, give: string]>> = {
  constant: [],
  step: [['stepSize', 'step_size', `the steps between decays, ${PER_EPOCH}`]],
  cosine: [['totalSteps', 'T_max', `the steps it spans, such as epochs x ceil(samples / batchSize), ${PER_EPOCH}`]],
  'warmup-cosine': [['totalSteps', 'T_max', `the steps of the cosine after the warm-up, such as epochs x ceil(samples / batchSize) - warmup, ${PER_EPOCH}`]],
  'one-cycle': [
    ['maxLr', 'max_lr', "the peak learning rate, such as the optimizer's lr"],
    ['totalSteps', 'total_steps', "the run's steps, epochs x ceil(samples / batchSize)"],
  ],
  plateau: [],
};

/** The defaults of each kind's settings (PyTorch's). */
function withDefaults(spec: ScheduleSpec): ScheduleConfig {
  switch (spec.kind) {
    case 'step':
      return { gamma: 0.1, ...spec };
    case 'cosine':
      return { minLr: 0, ...spec };
    case 'warmup-cosine':
      return { warmup: 5, startFactor: 1 / 3, minLr: 0, ...spec };
    case 'one-cycle':
      return { pctStart: 0.3, annealStrategy: 'cos', divFactor: 25, finalDivFactor: 1e4, ...spec };
    case 'plateau': {
      const monitor = spec.monitor ?? 'val_loss';
      const mode = spec.mode ?? (typeof monitor === 'string' && monitor.endsWith('accuracy') ? 'max' : 'min');
      return { factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8, ...spec, monitor, mode };
    }
    default:
      return spec;
  }
}

/** Checks a schedule and fills in the defaults of what it leaves out: one line naming the first bad field. */
export function checkSchedule(spec: ScheduleSpec, name: ScheduleNamer = defaultNamer): ScheduleConfig {
  if (typeof spec !== 'object' || spec === null) throw option(`${name('kind')} must be one of ${SCHEDULE_KINDS.join(', ')}, got ${JSON.stringify(spec)}`);
  if (Object.hasOwn(SCHEDULE_FIELDS, spec.kind)) {
    checkKnownFields(`schedule (${spec.kind})`, spec, SCHEDULE_FIELDS[spec.kind]);
    for (const [field, torch, give] of REQUIRED[spec.kind]) {
      if ((spec as Record<string, unknown>)[field] === undefined) throw option(`${name(field)} is required for a ${spec.kind} schedule, as PyTorch's ${torch} is; give ${give}`);
    }
  }
  const schedule = withDefaults(spec);
  const s = schedule as Record<string, unknown> & ScheduleConfig;
  if ('interval' in s && s.interval !== undefined) checkChoice(name('interval'), s.interval, ['step', 'epoch']);
  switch (schedule.kind) {
    case 'constant':
      return schedule;
    case 'step':
      checkInteger(name('stepSize'), schedule.stepSize, 1);
      checkNumber(name('gamma'), schedule.gamma, 0);
      return schedule;
    case 'cosine':
      checkInteger(name('totalSteps'), schedule.totalSteps, 1);
      checkNumber(name('minLr'), schedule.minLr, 0);
      return schedule;
    case 'warmup-cosine':
      checkInteger(name('warmup'), schedule.warmup, 1);
      checkNumber(name('startFactor'), schedule.startFactor, 0, 1);
      if (schedule.startFactor === 0) throw option(`${name('startFactor')} must be > 0 and <= 1, got 0`);
      checkInteger(name('totalSteps'), schedule.totalSteps, 1);
      checkNumber(name('minLr'), schedule.minLr, 0);
      return schedule;
    case 'one-cycle':
      checkNumber(name('maxLr'), schedule.maxLr, 0);
      checkInteger(name('totalSteps'), schedule.totalSteps, 1);
      checkNumber(name('pctStart'), schedule.pctStart, 0, 1);
      checkChoice(name('annealStrategy'), schedule.annealStrategy, ['cos', 'linear']);
      checkNumber(name('divFactor'), schedule.divFactor, 0);
      checkNumber(name('finalDivFactor'), schedule.finalDivFactor, 0);
      if (schedule.divFactor === 0 || schedule.finalDivFactor === 0) throw option(`${name(schedule.divFactor === 0 ? 'divFactor' : 'finalDivFactor')} must be > 0, got 0`);
      // The first phase ends at step pctStart x totalSteps - 1, and PyTorch divides by that: 0 leaves it no steps.
      if (schedule.pctStart * schedule.totalSteps - 1 === 0) {
        throw option(`${name('pctStart')} ${schedule.pctStart} x ${name('totalSteps')} ${schedule.totalSteps} is 1, which leaves the first phase of one-cycle no steps; choose another pctStart`);
      }
      return schedule;
    case 'plateau':
      checkChoice(name('monitor'), schedule.monitor, MONITORED_METRICS);
      checkChoice(name('mode'), schedule.mode, ['min', 'max']);
      checkNumber(name('factor'), schedule.factor, 0, 1);
      if (schedule.factor === 0 || schedule.factor === 1) throw option(`${name('factor')} must be > 0 and < 1, got ${schedule.factor}`);
      checkInteger(name('patience'), schedule.patience, 0);
      checkNumber(name('threshold'), schedule.threshold, 0);
      checkChoice(name('thresholdMode'), schedule.thresholdMode, ['rel', 'abs']);
      checkInteger(name('cooldown'), schedule.cooldown, 0);
      checkNumber(name('minLr'), schedule.minLr, 0);
      checkNumber(name('eps'), schedule.eps, 0);
      return schedule;
    default:
      throw option(`${name('kind')} must be one of ${SCHEDULE_KINDS.join(', ')}, got ${JSON.stringify((schedule as { kind: unknown }).kind)}`);
  }
}

/** What a run is, for the checks a schedule's settings need: its length and the metrics it computes. */
export interface ScheduleRun {
  /** Epochs of the whole run (resumed ones included). */
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  readonly validation: boolean;
  readonly accuracy: boolean;
}

/** A metric the run does not compute: the message, or null when it does. */
export function missingMetric(metric: MonitoredMetric, run: Pick<ScheduleRun, 'validation' | 'accuracy'>): string | null {
  if (metric.startsWith('val_') && !run.validation) return `${metric} is not computed: the run has no validation data`;
  if (metric.endsWith('accuracy') && !run.accuracy) return `${metric} is not computed: the loss reports no accuracy`;
  return null;
}

/** What to do about a monitored metric that the run does not compute. */
export const MONITOR_FIX = 'monitor loss or accuracy, or give validation data';

/** Refuses a schedule that contradicts the run it is for (a warm-up longer than the run, a metric not computed). */
export function checkScheduleRun(schedule: ScheduleConfig, run: ScheduleRun, name: ScheduleNamer = defaultNamer, fix = MONITOR_FIX): void {
  const interval = 'interval' in schedule ? (schedule.interval ?? 'step') : 'step';
  const length = interval === 'epoch' ? run.epochs : run.epochs * run.stepsPerEpoch;
  const unit = interval === 'epoch' ? 'epochs' : 'steps';
  if (schedule.kind === 'warmup-cosine' && schedule.warmup >= length) {
    throw option(`${name('warmup')} ${schedule.warmup} is not shorter than the run's ${length} ${unit}; shorten the warm-up or train longer`);
  }
  if (schedule.kind === 'one-cycle' && schedule.totalSteps < run.epochs * run.stepsPerEpoch) {
    throw option(`${name('totalSteps')} ${schedule.totalSteps} is shorter than the run's ${run.epochs * run.stepsPerEpoch} steps; one-cycle has no learning rate past its last step`);
  }
  if (schedule.kind === 'plateau') {
    const missing = missingMetric(schedule.monitor, run);
    if (missing !== null) throw option(`${name('monitor')}: ${missing}; ${fix}`);
  }
}

/** The state of a schedule before the first step, or null for a schedule without one. */
export function initialScheduleState(lr: number, schedule: ScheduleConfig): PlateauState | null {
  return schedule.kind === 'plateau' ? { lr, best: null, badEpochs: 0, cooldownCounter: 0 } : null;
}

/**
 * The learning rate of 0-based optimizer step `step`, taken after `epoch` epochs, for base rate
 * `lr`. A plateau schedule's rate is its state's (the base rate without one).
 */
export function learningRateAt(lr: number, schedule: ScheduleConfig, step: number, epoch = 0, plateau: PlateauState | null = null): number {
  const t = 'interval' in schedule && schedule.interval === 'epoch' ? epoch : step;
  switch (schedule.kind) {
    case 'constant':
      return lr;
    case 'step':
      return lr * Math.pow(schedule.gamma, Math.floor(t / schedule.stepSize));
    case 'cosine':
      return cosine(lr, schedule.minLr, t, schedule.totalSteps);
    case 'warmup-cosine': {
      const { warmup, startFactor } = schedule;
      // LinearLR's closed form up to its total_iters, then CosineAnnealingLR restarted at 0.
      if (t < warmup) return lr * (startFactor + ((1 - startFactor) * t) / warmup);
      return cosine(lr, schedule.minLr, t - warmup, schedule.totalSteps);
    }
    case 'one-cycle':
      return oneCycle(schedule, step);
    case 'plateau':
      return plateau?.lr ?? lr;
  }
}

function cosine(lr: number, minLr: number, t: number, total: number): number {
  const progress = Math.min(t, total) / total;
  return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress));
}

/** OneCycleLR's `get_lr` (two phases), in PyTorch's operations and order. */
function oneCycle(schedule: Extract<ScheduleConfig, { kind: 'one-cycle' }>, step: number): number {
  const initial = schedule.maxLr / schedule.divFactor;
  const firstEnd = schedule.pctStart * schedule.totalSteps - 1;
  // The first phase climbs from the initial rate to maxLr; the last falls to initial / finalDivFactor, past its end too.
  const first = step <= firstEnd;
  const start = first ? 0 : firstEnd;
  const end = first ? firstEnd : schedule.totalSteps - 1;
  const from = first ? initial : schedule.maxLr;
  const to = first ? schedule.maxLr : initial / schedule.finalDivFactor;
  const pct = (step - start) / (end - start);
  if (schedule.annealStrategy === 'linear') return (to - from) * pct + from;
  return to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/** Whether `current` improves on `best` by more than `delta`, as PyTorch's plateau and Keras' early stopping compare. */
function plateauBetter(schedule: Extract<ScheduleConfig, { kind: 'plateau' }>, current: number, best: number | null): boolean {
  const { mode, threshold, thresholdMode } = schedule;
  // PyTorch starts from the worst value, infinity: any finite metric improves on it.
  if (best === null) return mode === 'min' ? current < Infinity : current > -Infinity;
  if (mode === 'min') return thresholdMode === 'rel' ? current < best * (1 - threshold) : current < best - threshold;
  return thresholdMode === 'rel' ? current > best * (threshold + 1) : current > best + threshold;
}

/** ReduceLROnPlateau's `step(metric)` at an epoch's end: updates `state` in place. */
export function plateauStep(schedule: Extract<ScheduleConfig, { kind: 'plateau' }>, state: PlateauState, current: number): void {
  if (plateauBetter(schedule, current, state.best)) {
    state.best = current;
    state.badEpochs = 0;
  } else {
    state.badEpochs++;
  }
  if (state.cooldownCounter > 0) {
    state.cooldownCounter--;
    state.badEpochs = 0;
  }
  if (state.badEpochs > schedule.patience) {
    const reduced = Math.max(state.lr * schedule.factor, schedule.minLr);
    if (state.lr - reduced > schedule.eps) state.lr = reduced;
    state.cooldownCounter = schedule.cooldown;
    state.badEpochs = 0;
  }
}

/** Checks a saved plateau state (a checkpoint's). */
export function checkPlateauState(state: unknown, name: string): PlateauState {
  const s = state as PlateauState;
  if (typeof s !== 'object' || s === null) throw option(`${name} must be an object`);
  checkNumber(`${name}.lr`, s.lr, 0);
  if (s.best !== null) checkNumber(`${name}.best`, s.best);
  checkInteger(`${name}.badEpochs`, s.badEpochs, 0);
  checkInteger(`${name}.cooldownCounter`, s.cooldownCounter, 0);
  return s;
}
