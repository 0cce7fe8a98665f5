import { checkNumber, LockstepError } from '../errors.js';
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

export function sgd(options: SgdOptions): SgdConfig {
  const config: SgdConfig = {
    kind: 'sgd',
    lr: checkNumber('sgd lr', options.lr, 0),
    momentum: checkNumber('sgd momentum', options.momentum ?? 0, 0, 1),
    dampening: checkNumber('sgd dampening', options.dampening ?? 0, 0, 1),
    nesterov: options.nesterov ?? false,
    weightDecay: checkNumber('sgd weightDecay', options.weightDecay ?? 0, 0),
    schedule: checkSchedule(options.schedule ?? { kind: 'constant' }),
    ...clipping('sgd', options.clipNorm),
  };
  if (config.nesterov && (config.momentum === 0 || config.dampening !== 0)) {
    throw new LockstepError('E_OPTION', 'sgd nesterov needs momentum > 0 and dampening 0');
  }
  return config;
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
  return {
    kind,
    lr: checkNumber(`${kind} lr`, options.lr ?? 1e-3, 0),
    beta1: checkNumber(`${kind} beta1`, options.beta1 ?? 0.9, 0, 0.999999),
    beta2: checkNumber(`${kind} beta2`, options.beta2 ?? 0.999, 0, 0.999999999),
    eps: checkNumber(`${kind} eps`, options.eps ?? 1e-8, 0),
    weightDecay: checkNumber(`${kind} weightDecay`, options.weightDecay ?? defaultDecay, 0),
    schedule: checkSchedule(options.schedule ?? { kind: 'constant' }),
    ...clipping(kind, options.clipNorm),
  };
}

/** Adam (Kingma and Ba 2015) with PyTorch's defaults; weightDecay is an L2 term in the gradient. */
export function adam(options: AdamOptions = {}): AdamConfig {
  return adamConfig('adam', options, 0);
}

/** AdamW (Loshchilov and Hutter 2019): weight decay applied to the weights, default 0.01 as in PyTorch. */
export function adamw(options: AdamOptions = {}): AdamConfig {
  return adamConfig('adamw', options, 1e-2);
}
