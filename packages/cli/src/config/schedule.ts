import {
  checkEarlyStopping,
  checkMonitored,
  checkSchedule,
  checkScheduleRun,
  LockstepError,
  SCHEDULE_KINDS,
  type CheckedEarlyStopping,
  type EarlyStoppingOptions,
  type ScheduleConfig,
  type ScheduleKind,
} from '@lockstep/core';
import { UserError } from '../errors.js';
import { withDecimalHint } from './decimal.js';
import { isObject, numberOrText, type Rule } from './rules.js';

/**
 * The `schedule` setting: a learning-rate schedule with PyTorch's parameter names, as config.json
 * records it (every field given, defaults filled; `T_max` and `total_steps` from the run's length
 * and `max_lr` from its lr where left out). `kind` picks the scheduler: step (StepLR), cosine (CosineAnnealingLR),
 * warmup-cosine (LinearLR then CosineAnnealingLR in SequentialLR), one-cycle (OneCycleLR), plateau
 * (ReduceLROnPlateau).
 */
export type ScheduleSetting = { kind: Exclude<ScheduleKind, 'constant'> } & Record<string, number | string>;

/** Keras' EarlyStopping, every field given once checked. */
export type EarlyStoppingSetting = CheckedEarlyStopping;

/** The run's length fills it in: the run's epochs or steps (in the schedule's interval). */
const RUN = Symbol('the run');
/** The config's lr fills it in. */
const LR = Symbol('lr');
type Default = number | string | typeof RUN | typeof LR | undefined;

/** Per kind: each PyTorch name, core's name for it, and its default (undefined: required). */
const FIELDS: Record<ScheduleSetting['kind'], ReadonlyArray<readonly [string, string, Default]>> = {
  step: [
    ['step_size', 'stepSize', undefined],
    ['gamma', 'gamma', 0.1],
    ['interval', 'interval', 'epoch'],
  ],
  cosine: [
    ['T_max', 'totalSteps', RUN],
    ['eta_min', 'minLr', 0],
    ['interval', 'interval', 'epoch'],
  ],
  'warmup-cosine': [
    ['start_factor', 'startFactor', 1 / 3],
    ['total_iters', 'warmup', 5],
    ['T_max', 'totalSteps', RUN],
    ['eta_min', 'minLr', 0],
    ['interval', 'interval', 'epoch'],
  ],
  'one-cycle': [
    ['max_lr', 'maxLr', LR],
    ['total_steps', 'totalSteps', RUN],
    ['pct_start', 'pctStart', 0.3],
    ['anneal_strategy', 'annealStrategy', 'cos'],
    ['div_factor', 'divFactor', 25],
    ['final_div_factor', 'finalDivFactor', 1e4],
  ],
  plateau: [
    ['monitor', 'monitor', 'val_loss'],
    ['mode', 'mode', undefined],
    ['factor', 'factor', 0.1],
    ['patience', 'patience', 10],
    ['threshold', 'threshold', 1e-4],
    ['threshold_mode', 'thresholdMode', 'rel'],
    ['cooldown', 'cooldown', 0],
    ['min_lr', 'minLr', 0],
    ['eps', 'eps', 1e-8],
  ],
};

const KINDS = SCHEDULE_KINDS.filter((kind) => kind !== 'constant');

/**
 * `c.json: "schedule"` and `step_size` give `c.json: "schedule.step_size"`; `--schedule` gives
 * `--schedule step_size`; the bare key (a checkpoint's setting) gives `schedule.step_size`.
 */
function fieldNamer(name: string): (field: string) => string {
  if (name.endsWith('"')) return (field) => `${name.slice(0, -1)}.${field}"`;
  return (field) => (name.startsWith('--') ? `${name} ${field}` : `${name}.${field}`);
}

/** Runs a check of core's and gives its message as the CLI's one line, `hint` added where it has one. */
function asUserError<T>(check: () => T, hint: (message: string) => string = (message) => message): T {
  try {
    return check();
  } catch (error) {
    throw error instanceof LockstepError ? new UserError(hint(error.message)) : error;
  }
}

/** The fields of a schedule or of early stopping that take no number (text, or true or false). */
const NOT_NUMERIC = new Set(['interval', 'anneal_strategy', 'monitor', 'mode', 'threshold_mode', 'restoreBestWeights']);
const isNumeric = (field: string): boolean => !NOT_NUMERIC.has(field);

/** Flag text that is no `name=value,...` list: `check` refuses it with `problem`, after the flag's name. */
class MalformedItems {
  constructor(readonly problem: string) {}
}

/**
 * A flag's `name=value,...` items (a bare name means true), or a JSON object. Text with no item (an
 * unset shell variable), an item with two `=` or no name, and a name given twice are refused rather
 * than read as defaults, a cut value or the last one: `example` shows what to give.
 */
function itemsFromText(example: string): (text: string) => unknown {
  return (text) => {
    if (text.trim().startsWith('{')) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    }
    const entries = text.split(',').filter((entry) => entry.trim() !== '');
    if (entries.length === 0) return new MalformedItems(`is empty; give its settings, e.g. ${example}`);
    const items: Array<[string, unknown]> = [];
    for (const entry of entries) {
      const [field, value, ...rest] = entry.split('=').map((part) => part.trim()) as [string, string | undefined, ...string[]];
      if (rest.length > 0 || field === '') return new MalformedItems(`item ${JSON.stringify(entry.trim())} is not name=value (one "=" each), e.g. ${example}`);
      if (items.some(([given]) => given === field)) return new MalformedItems(`sets ${field} twice; give it once`);
      items.push([field, value === undefined ? true : value === 'true' ? true : value === 'false' ? false : numberOrText(value)]);
    }
    return Object.fromEntries(items);
  };
}

/** Refuses what `itemsFromText` could not read, naming the flag. */
function checkReadable(value: unknown, name: string): void {
  if (value instanceof MalformedItems) throw new UserError(`${name} ${value.problem}`);
}

/** Core's schedule for a setting whose every field is known. */
function coreSchedule(setting: Record<string, unknown>): ScheduleConfig {
  const kind = setting.kind as ScheduleSetting['kind'];
  return Object.fromEntries([['kind', kind], ...FIELDS[kind].map(([torch, core]) => [core, setting[torch]])]) as unknown as ScheduleConfig;
}

export const scheduleRule: Rule<ScheduleSetting> = {
  check(value, name, shown) {
    const field = fieldNamer(name);
    checkReadable(value, name);
    if (!isObject(value)) throw new UserError(`${name} must be an object with a "kind" (${KINDS.join(', ')}), got ${shown}`);
    const kind = value.kind;
    if (!(KINDS as readonly unknown[]).includes(kind)) throw new UserError(`${field('kind')} must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind) ?? 'nothing'}`);
    const fields = FIELDS[kind as ScheduleSetting['kind']];
    const unknown = Object.keys(value).find((key) => key !== 'kind' && !fields.some(([torch]) => torch === key));
    if (unknown !== undefined) throw new UserError(`${field(unknown)} is not a setting of a ${kind as string} schedule; it takes ${fields.map(([torch]) => torch).join(', ')}`);
    const setting: Record<string, unknown> = { kind };
    for (const [torch, , fallback] of fields) {
      if (Object.hasOwn(value, torch)) setting[torch] = value[torch];
      else if (torch === 'mode' && kind === 'plateau') setting[torch] = String(setting.monitor).endsWith('accuracy') ? 'max' : 'min';
      else if (fallback === undefined) throw new UserError(`${field(torch)} is required for a ${kind as string} schedule`);
      else if (typeof fallback !== 'symbol') setting[torch] = fallback;
    }
    // What the run fills in later stands in for the check by a value that passes.
    const placeholders = Object.fromEntries(fields.filter(([torch, , fallback]) => typeof fallback === 'symbol' && !Object.hasOwn(setting, torch)).map(([torch, , fallback]) => [torch, fallback === LR ? 1 : 1_000_000]));
    const coreNamer = (core: string): string => field(fields.find(([, c]) => c === core)?.[0] ?? core);
    asUserError(() => checkSchedule(coreSchedule({ ...setting, ...placeholders }), coreNamer), (message) => withDecimalHint(message, value, isNumeric, field));
    return setting as ScheduleSetting;
  },
  fromText: itemsFromText('kind=step,step_size=10,gamma=0.5'),
};

const EARLY_STOPPING_FIELDS = ['monitor', 'mode', 'patience', 'minDelta', 'restoreBestWeights'];

export const earlyStoppingRule: Rule<EarlyStoppingSetting> = {
  check(value, name, shown) {
    const field = fieldNamer(name);
    checkReadable(value, name);
    if (!isObject(value)) throw new UserError(`${name} must be an object (monitor, mode, patience, minDelta, restoreBestWeights), got ${shown}`);
    const unknown = Object.keys(value).find((key) => !EARLY_STOPPING_FIELDS.includes(key));
    if (unknown !== undefined) throw new UserError(`${field(unknown)} is not a setting of early stopping; it takes ${EARLY_STOPPING_FIELDS.join(', ')}`);
    return asUserError(() => checkEarlyStopping(value as EarlyStoppingOptions, field), (message) => withDecimalHint(message, value, isNumeric, field));
  },
  fromText: itemsFromText('patience=3,restoreBestWeights'),
};

/** What the run is, for the schedule's and early stopping's checks. */
export interface RunShape {
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  readonly validation: boolean;
  readonly accuracy: boolean;
  readonly lr: number;
}

const VALIDATION_FIX = 'monitor loss or accuracy, or set validationSplit above 0';

/**
 * The setting with what the run fills in (T_max and total_steps: the run's length in the schedule's
 * interval, minus the warm-up for warmup-cosine; max_lr: lr), checked against the run: one line
 * naming the field where the settings contradict each other or the run, before anything is written.
 */
export function resolveSchedule(setting: ScheduleSetting, run: RunShape, name = 'schedule'): ScheduleSetting {
  const field = fieldNamer(name);
  const fields = FIELDS[setting.kind];
  const interval = setting.interval ?? 'step';
  const length = setting.kind === 'one-cycle' || interval === 'step' ? run.epochs * run.stepsPerEpoch : run.epochs;
  const resolved: Record<string, unknown> = { kind: setting.kind };
  for (const [torch, , fallback] of fields) {
    if (setting[torch] !== undefined) resolved[torch] = setting[torch];
    else if (fallback === LR) resolved[torch] = run.lr;
    else if (fallback === RUN) resolved[torch] = setting.kind === 'warmup-cosine' ? length - Number(setting.total_iters) : length;
  }
  const schedule = coreSchedule(resolved);
  const coreNamer = (core: string): string => field(fields.find(([, c]) => c === core)?.[0] ?? core);
  asUserError(() => {
    // The run is checked first: a warm-up as long as the run leaves the cosine no steps.
    checkScheduleRun(schedule, run, coreNamer, VALIDATION_FIX);
    checkSchedule(schedule, coreNamer);
  });
  return resolved as ScheduleSetting;
}

/** Refuses early stopping on a metric the run does not compute. */
export function checkEarlyStoppingRun(setting: EarlyStoppingSetting, run: RunShape, name = 'earlyStopping'): void {
  asUserError(() => checkMonitored(setting, run, fieldNamer(name), VALIDATION_FIX));
}

/** Core's schedule of a resolved setting; constant without one. */
export function scheduleOf(setting: ScheduleSetting | undefined): ScheduleConfig {
  return setting === undefined ? { kind: 'constant' } : coreSchedule(setting);
}

/**
 * A resumed run's schedule is the checkpoint's, total_steps included, which the run's first epochs
 * filled in unless it was given; one-cycle has no rate past it, so a longer run is refused here, in
 * the resume's terms, rather than as a total_steps the user may never have written.
 */
function checkResumedCycle(setting: ScheduleSetting, run: RunShape, checkpoint: string): void {
  const total = Number(setting.total_steps);
  const steps = run.epochs * run.stepsPerEpoch;
  if (setting.kind !== 'one-cycle' || total >= steps) return;
  throw new UserError(
    `${checkpoint} has a one-cycle schedule of ${total} steps (total_steps: fixed when the run started, from its epochs unless given), and ${run.epochs} epochs take ${steps}; ` +
      `one-cycle has no learning rate past its last step, and the schedule cannot change when resuming: resume with at most ${Math.floor(total / run.stepsPerEpoch)} epochs, ` +
      `or start a new run of ${run.epochs} epochs (give total_steps to leave room to resume further)`,
  );
}

/** Whether a field's default comes from the run: its length, or its lr. */
const fromRun = (fallback: Default): boolean => fallback === RUN || fallback === LR;

/** Every field that a run fills in where it is left out: `T_max` and `total_steps` from its length, `max_lr` from its lr. */
export const RUN_FILLED_FIELDS: readonly string[] = [
  ...new Set(
    Object.values(FIELDS)
      .flat()
      .filter(([, , fallback]) => fromRun(fallback))
      .map(([torch]) => torch),
  ),
];

/** The fields of `setting` that the run fills in (`T_max`, `total_steps`, `max_lr`): those left out. */
function filledFromRun(setting: ScheduleSetting): string[] {
  return FIELDS[setting.kind].filter(([torch, , fallback]) => fromRun(fallback) && setting[torch] === undefined).map(([torch]) => torch);
}

/**
 * A resumed cosine (or warmup-cosine) whose T_max the run's first epochs filled in ends where that
 * run ended; past it the rate would stay at eta_min (0 by default: the new epochs would train
 * nothing), so a longer run is refused as one-cycle's is. A T_max the user gave may be gone past:
 * that rate is their choice. `fromRun` is what the checkpoint records as filled in.
 */
function checkResumedCosine(setting: ScheduleSetting, run: RunShape, checkpoint: string, fromRun: readonly string[]): void {
  if ((setting.kind !== 'cosine' && setting.kind !== 'warmup-cosine') || !fromRun.includes('T_max')) return;
  const perEpoch = setting.interval === 'epoch';
  const end = Number(setting.T_max) + (setting.kind === 'warmup-cosine' ? Number(setting.total_iters) : 0);
  const length = perEpoch ? run.epochs : run.epochs * run.stepsPerEpoch;
  if (end >= length) return;
  const unit = `${perEpoch ? 'epoch' : 'step'}${end === 1 ? '' : 's'}`;
  throw new UserError(
    `${checkpoint} has a ${setting.kind} schedule that ends after ${end} ${unit} (T_max: filled in from the run's length when it started), ` +
      `and a run of ${run.epochs} epochs${perEpoch ? '' : ` (${length} steps)`} goes past it, where the rate would stay at eta_min ${setting.eta_min}; ` +
      `the schedule cannot change when resuming: resume with at most ${perEpoch ? end : Math.floor(end / run.stepsPerEpoch)} epochs, ` +
      `or start a new run of ${run.epochs} epochs (give T_max to leave room to resume further)`,
  );
}

/**
 * Resolves the config's schedule against the run and checks it and early stopping there: one line
 * where they contradict each other or the run, naming each setting as `name` gives it (settingName),
 * before anything is written. `config` is updated, so config.json and every checkpoint record the
 * resolved schedule. Returns the schedule's fields that the run filled in (its length, its lr), which checkpoints
 * record for a resume (`resumed`: the checkpoint's path and its record) to check against.
 */
export function checkTrainingSettings(
  config: { schedule?: ScheduleSetting; earlyStopping?: EarlyStoppingSetting; epochs: number; batchSize: number; lr: number },
  data: { train: { size: number; targets: { kind: string } }; validation: unknown },
  accuracy: boolean,
  resumed?: { path: string; scheduleFromRun: readonly string[] },
  name: (key: 'schedule' | 'earlyStopping') => string = (key) => key,
): string[] {
  const run: RunShape = {
    epochs: config.epochs,
    stepsPerEpoch: Math.ceil(data.train.size / config.batchSize),
    validation: data.validation !== null,
    accuracy,
    lr: config.lr,
  };
  let filled: string[] = [];
  if (config.schedule !== undefined) {
    if (resumed !== undefined) {
      checkResumedCycle(config.schedule, run, resumed.path);
      checkResumedCosine(config.schedule, run, resumed.path, resumed.scheduleFromRun);
    }
    filled = filledFromRun(config.schedule);
    config.schedule = resolveSchedule(config.schedule, run, name('schedule'));
  }
  if (config.earlyStopping !== undefined) checkEarlyStoppingRun(config.earlyStopping, run, name('earlyStopping'));
  return filled;
}
