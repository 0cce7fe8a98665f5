import { describe, expect, it } from 'vitest';
import { adam, adamw, kernelMemory, localReduce, NORM_BLOCK, reduceAndMeasure, sgd, UpdateKernel, type OptimizerConfig, type UpdateAddresses } from '@lockstep/core';

// Two norm blocks and 3 more floats: every range below ends in the kernels' one-float tail.
const paramCount = 2 * NORM_BLOCK + 3;
const chunks = 5;
const f = Math.fround;
const special = [Number.NaN, -0, 0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38];
const values = (seed: number, withSpecials: boolean): Float32Array =>
  Float32Array.from({ length: paramCount }, (_, i) =>
    withSpecials && i % 613 === 0 ? special[(i / 613 + seed) % special.length]! : Math.sin(i * 12.9898 + seed) * (i % 3 === 0 ? 1e-3 : 2),
  );

/** A kernel over parameters, `chunks` gradient slots and two state slots, filled from `seed`. */
function workspace(seed: number, withSpecials = false) {
  const at: UpdateAddresses = { params: 0, slots: 4 * paramCount, state: 4 * (1 + chunks) * paramCount, paramCount };
  const memory = kernelMemory(4 * (3 + chunks) * paramCount, 'the parameters, optimizer state and chunk gradients');
  const view = (offset: number, slot: number): Float32Array => new Float32Array(memory.buffer, offset + 4 * slot * paramCount, paramCount);
  const params = view(at.params, 0);
  const slots = Array.from({ length: chunks }, (_, c) => view(at.slots, c));
  const state = [view(at.state, 0), view(at.state, 1)];
  params.set(values(seed, false));
  slots.forEach((slot, c) => slot.set(values(seed + 1 + c, withSpecials)));
  state[0]!.set(values(seed + 9, false));
  state[1]!.set(values(seed + 10, false).map(Math.abs));
  return { kernel: new UpdateKernel(memory), at, params, slots, state };
}

/** Equal values element by element, -0 told from 0 (NaN payloads are not compared). */
function expectSame(actual: Float32Array, expected: Float32Array, what: string): void {
  const differing = actual.findIndex((value, i) => !Object.is(value, expected[i]));
  expect(differing, `${what}: first differing element`).toBe(-1);
}

describe('update kernel: the bits of its scalar float32 definition, tails included', () => {
  it('sums chunk slots in the pairwise tree order and measures each norm block in float64 lanes', () => {
    const { kernel, at, slots } = workspace(1, true);
    const expected = slots.map((slot) => slot.slice());
    for (let stride = 1; stride < chunks; stride *= 2) {
      for (let c = 0; c + stride < chunks; c += 2 * stride) expected[c] = expected[c]!.map((x, i) => f(x + expected[c + stride]![i]!));
    }
    const blockSquares = new Float64Array(3);
    reduceAndMeasure(localReduce(kernel, at), kernel, at, chunks, [NORM_BLOCK, paramCount], blockSquares);
    reduceAndMeasure(localReduce(kernel, at), kernel, at, chunks, [0, NORM_BLOCK], blockSquares);
    expectSame(slots[0]!, expected[0]!, 'slot 0');
    blockSquares.forEach((measured, block) => {
      const from = block * NORM_BLOCK;
      const to = Math.min(from + NORM_BLOCK, paramCount);
      const lanes = [0, 0, 0, 0];
      let i = from;
      for (; i + 4 <= to; i += 4) for (let lane = 0; lane < 4; lane++) lanes[lane]! += expected[0]![i + lane]! ** 2;
      for (; i < to; i++) lanes[0]! += expected[0]![i]! ** 2;
      expect(Object.is(measured, lanes[0]! + lanes[1]! + (lanes[2]! + lanes[3]!)), `block ${block}`).toBe(true);
    });
  });

  // The kernels take every coefficient as a float32 argument, so the definition rounds them too.
  const sgdStep = (config: Extract<OptimizerConfig, { kind: 'sgd' }>, t: number, lr: number) => (p: number, g: number, buf: number) => {
    const [keep, scale] = t === 1 ? [0, 1] : [f(config.momentum), f(1 - config.dampening)];
    let d = f(g + f(f(config.weightDecay) * p));
    if (config.momentum !== 0) {
      buf = f(f(keep * buf) + f(scale * d));
      d = config.nesterov ? f(d + f(f(config.momentum) * buf)) : buf;
    }
    return { p: f(p - f(f(lr) * d)), state: [buf] };
  };
  const adamStep = (config: Extract<OptimizerConfig, { kind: 'adam' | 'adamw' }>, t: number, lr: number) => (p: number, g: number, m: number, v: number) => {
    if (config.kind === 'adamw') p = f(p * f(1 - lr * config.weightDecay));
    else g = f(g + f(f(config.weightDecay) * p));
    m = f(f(f(config.beta1) * m) + f(f(1 - config.beta1) * g));
    v = f(f(f(config.beta2) * v) + f(f(1 - config.beta2) * f(g * g)));
    const denominator = f(f(f(Math.sqrt(v)) / f(Math.sqrt(1 - config.beta2 ** t))) + f(config.eps));
    return { p: f(p - f(f(lr / (1 - config.beta1 ** t)) * f(m / denominator))), state: [m, v] };
  };

  it.each([
    ['sgd with momentum at its first step', sgd({ lr: 0.05, momentum: 0.9 }), 1],
    ['sgd with momentum, dampening and weight decay', sgd({ lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-4 }), 7],
    ['sgd nesterov', sgd({ lr: 0.05, momentum: 0.9, nesterov: true }), 3],
    ['plain sgd, gradient clipped', sgd({ lr: 0.1 }), 2],
    ['adam with L2', adam({ lr: 1e-3, weightDecay: 1e-2 }), 5],
    ['adamw', adamw({ lr: 1e-3, weightDecay: 1e-2 }), 4],
  ] as const)('%s, over a range that starts off a vector and ends in the tail', (name, config, t) => {
    const { kernel, at, params, slots, state } = workspace(t);
    const factor = name.includes('clipped') ? 0.375 : 1;
    const from = 5;
    const lr = config.lr;
    const before = { params: params.slice(), grads: slots[0]!.slice(), state: state.map((s) => s.slice()) };
    kernel.update(config, at, t, lr, factor, from, paramCount);
    const step = config.kind === 'sgd' ? sgdStep(config, t, lr) : adamStep(config, t, lr);
    const expected = { params: before.params.slice(), state: before.state.map((s) => s.slice()) };
    for (let i = from; i < paramCount; i++) {
      const g = factor === 1 ? before.grads[i]! : f(before.grads[i]! * factor);
      const next = step(before.params[i]!, g, before.state[0]![i]!, before.state[1]![i]!);
      expected.params[i] = next.p;
      next.state.forEach((value, s) => (expected.state[s]![i] = value));
    }
    expectSame(params, expected.params, 'params');
    expectSame(state[0]!, expected.state[0]!, 'state slot 0');
    expectSame(state[1]!, expected.state[1]!, 'state slot 1');
  });
});
