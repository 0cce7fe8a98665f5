import { checkKnownFields, checkNumber, describeValue, LockstepError } from '../errors.js';
import { checkSchedule, type ScheduleConfig, type ScheduleSpec } from './schedule.js';

export interface SgdConfig {
  readonly kind: 'sgd';
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly schedule: ScheduleConfig;
  readonly clipNorm?: number;
}

export interface AdamConfig {
  readonly kind: 'adam' | 'adamw';
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** L2 penalty added to the gradient (adam) or decoupled decay of the weights (adamw). */
  readonly weightDecay: number;
  readonly schedule: ScheduleConfig;
  /**
   * When the global L2 norm of the summed gradient exceeds this, the gradient is scaled down to it
   * before the update (Keras' `global_clipnorm`, PyTorch's `clip_grad_norm_`). Absent: no clipping.
   */
  readonly clipNorm?: number;
}

/** Plain data: an optimizer travels to worker threads and into checkpoints as its config. */
export type OptimizerConfig = SgdConfig | AdamConfig;

/**
 * The optimizer state is one Float32Array of `stateSlots(config) * P` values: slot s of parameter i
 * is at s * P + i. Updates are elementwise, so any split of [0, P) into ranges gives the same bits.
 */
export function stateSlots(config: OptimizerConfig): number {
  if (config.kind === 'sgd') return config.momentum === 0 ? 0 : 1;
  return 2;
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
  schedule?: ScheduleSpec;
  clipNorm?: number;
}

/** The `clipNorm` field, present only when clipping is asked for, so configs without it stay as they were. */
function clipping(name: string, clipNorm: number | undefined): { clipNorm?: number } {
  if (clipNorm === undefined) return {};
  if (checkNumber(`${name} clipNorm`, clipNorm, 0) === 0) throw new LockstepError('E_OPTION', `${name} clipNorm must be > 0, got 0; leave it out for no clipping`);
  return { clipNorm };
}

export const OPTIMIZER_KINDS = ['sgd', 'adam', 'adamw'] as const;
const BUILD_ONE = 'build one with sgd({ lr }), adam() or adamw()';
/** The fields of each kind's config besides `kind`; `clipNorm` is the only optional one. */
const CONFIG_FIELDS = {
  sgd: ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay', 'schedule'],
  adam: ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'schedule'],
} as const;

/**
 * Checks every value of a config, naming them `${name} lr` and so on: the builders check what they
 * build, and fit, the Trainer and Optimizer what they are given (a builder's config, or one a
 * checkpoint kept). Returns it with its schedule's defaults filled in.
 */
function checkConfig<T extends OptimizerConfig>(config: T, name: string): T {
  checkNumber(`${name} lr`, config.lr, 0);
  if (config.kind === 'sgd') {
    checkNumber(`${name} momentum`, config.momentum, 0, 1);
    checkNumber(`${name} dampening`, config.dampening, 0, 1);
    if (typeof config.nesterov !== 'boolean') throw new LockstepError('E_OPTION', `${name} nesterov must be true or false, got ${describeValue(config.nesterov)}`);
  } else {
    checkNumber(`${name} beta1`, config.beta1, 0, 0.999999);
    checkNumber(`${name} beta2`, config.beta2, 0, 0.999999999);
    checkNumber(`${name} eps`, config.eps, 0);
  }
  checkNumber(`${name} weightDecay`, config.weightDecay, 0);
  const checked = { ...config, schedule: checkSchedule(config.schedule), ...clipping(name, config.clipNorm) };
  if (checked.kind === 'sgd' && checked.nesterov && (checked.momentum === 0 || checked.dampening !== 0)) {
    throw new LockstepError('E_OPTION', `${name} nesterov needs momentum > 0 and dampening 0`);
  }
  return checked;
}

/** Checks the optimizer config that fit, a Trainer or an Optimizer is given. */
export function checkOptimizer(config: unknown, name = 'optimizer'): OptimizerConfig {
  if (typeof config !== 'object' || config === null) throw new LockstepError('E_OPTION', `${name} must be an optimizer config, got ${describeValue(config)}; ${BUILD_ONE}`);
  const { kind } = config as { kind?: unknown };
  if (!(OPTIMIZER_KINDS as readonly unknown[]).includes(kind)) {
    throw new LockstepError('E_OPTION', `${name}.kind must be one of ${OPTIMIZER_KINDS.map((k) => `'${k}'`).join(', ')}, got ${describeValue(kind)}; ${BUILD_ONE}`);
  }
  const missing = CONFIG_FIELDS[kind === 'sgd' ? 'sgd' : 'adam'].find((field) => (config as Record<string, unknown>)[field] === undefined);
  if (missing !== undefined) throw new LockstepError('E_OPTION', `${name} has no ${missing}; build it with ${kind as string}()`);
  return checkConfig(config as OptimizerConfig, name);
}

const SGD_OPTIONS = ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay', 'schedule', 'clipNorm'];
const ADAM_OPTIONS = ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'schedule', 'clipNorm'];

export function sgd(options: SgdOptions): SgdConfig {
  if (typeof options !== 'object' || options === null) throw new LockstepError('E_OPTION', `sgd needs its options, at least lr: sgd({ lr: 0.1 }), got ${describeValue(options)}`);
  checkKnownFields('sgd', options, SGD_OPTIONS);
  return checkConfig(
    {
      kind: 'sgd',
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      nesterov: options.nesterov ?? false,
      weightDecay: options.weightDecay ?? 0,
      schedule: options.schedule ?? { kind: 'constant' },
      ...(options.clipNorm === undefined ? {} : { clipNorm: options.clipNorm }),
    } as SgdConfig,
    'sgd',
  );
}

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  schedule?: ScheduleSpec;
  clipNorm?: number;
}

function adamConfig(kind: 'adam' | 'adamw', options: AdamOptions, defaultDecay: number): AdamConfig {
  if (typeof options !== 'object' || options === null) throw new LockstepError('E_OPTION', `${kind} options must be an object, got ${describeValue(options)}; for example ${kind}({ lr: 0.001 })`);
  checkKnownFields(kind, options, ADAM_OPTIONS);
  return checkConfig(
    {
      kind,
      lr: options.lr ?? 1e-3,
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.999,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? defaultDecay,
      schedule: options.schedule ?? { kind: 'constant' },
      ...(options.clipNorm === undefined ? {} : { clipNorm: options.clipNorm }),
    } as AdamConfig,
    kind,
  );
}

/** Adam (Kingma and Ba 2015) with PyTorch's defaults; weightDecay is an L2 term in the gradient. */
export function adam(options: AdamOptions = {}): AdamConfig {
  return adamConfig('adam', options, 0);
}

/** AdamW (Loshchilov and Hutter 2019): weight decay applied to the weights, default 0.01 as in PyTorch. */
export function adamw(options: AdamOptions = {}): AdamConfig {
  return adamConfig('adamw', options, 1e-2);
}
