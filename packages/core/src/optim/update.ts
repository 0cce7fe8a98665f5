import type { AdamConfig, OptimizerConfig, SgdConfig } from './optimizer.js';

/** The flat buffers one update touches; `state` holds the config's slots of `params.length` values each. */
export interface UpdateBuffers {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly state: Float32Array;
}

/**
 * Applies optimizer step `t` (1-based) with learning rate `lr` to parameters [from, to), following
 * PyTorch's update rules. Moments are rounded to float32 before use, as PyTorch keeps them.
 */
export function applyUpdate(
  config: OptimizerConfig,
  buffers: UpdateBuffers,
  t: number,
  lr: number,
  from = 0,
  to = buffers.params.length,
): void {
  if (config.kind === 'sgd') sgdUpdate(config, buffers, t, lr, from, to);
  else adamUpdate(config, buffers, t, lr, from, to);
}

function sgdUpdate(config: SgdConfig, { params, grads, state }: UpdateBuffers, t: number, lr: number, from: number, to: number): void {
  const { momentum, dampening, nesterov, weightDecay } = config;
  if (momentum === 0) {
    for (let i = from; i < to; i++) params[i] = params[i] - lr * (grads[i] + weightDecay * params[i]);
    return;
  }
  // Branches hoisted out of the loop: this runs over every parameter at every step.
  const keep = t === 1 ? 0 : momentum;
  const scale = t === 1 ? 1 : 1 - dampening;
  const lookahead = nesterov ? momentum : 0;
  for (let i = from; i < to; i++) {
    const d = grads[i] + weightDecay * params[i];
    const buf = Math.fround(keep * state[i] + scale * d);
    state[i] = buf;
    params[i] = params[i] - lr * (nesterov ? d + lookahead * buf : buf);
  }
}

function adamUpdate(config: AdamConfig, { params, grads, state }: UpdateBuffers, t: number, lr: number, from: number, to: number): void {
  const { beta1, beta2, eps, weightDecay } = config;
  const decoupled = config.kind === 'adamw';
  const size = params.length;
  const stepSize = lr / (1 - Math.pow(beta1, t));
  const correction2 = Math.sqrt(1 - Math.pow(beta2, t));
  for (let i = from; i < to; i++) {
    let p = params[i];
    let g = grads[i];
    if (decoupled) p = Math.fround(p * (1 - lr * weightDecay));
    else g += weightDecay * p;
    const m = Math.fround(beta1 * state[i] + (1 - beta1) * g);
    const v = Math.fround(beta2 * state[size + i] + (1 - beta2) * g * g);
    state[i] = m;
    state[size + i] = v;
    params[i] = p - (stepSize * m) / (Math.sqrt(v) / correction2 + eps);
  }
}
