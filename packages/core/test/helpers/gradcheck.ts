import { expect } from 'vitest';
import { dropoutRunKey, fillUniform, Model, rootKey, type Module } from '@lockstep/core';

/**
 * Gradient checks: each layer's analytic backward (float32 storage) against central finite
 * differences of an independent float64 reference of its forward.
 */
export type Reference = (x: Float64Array, params: Float64Array[]) => Float64Array;

const EPS = 1e-6;
const TOLERANCE = 3e-5;

export function random(seed: number, n: number, low = -2, high = 2): Float64Array {
  const out = new Float64Array(n);
  fillUniform(rootKey(seed), out, low, high);
  return out;
}

/** Inputs kept away from 0, where ReLU-like functions have a kink. */
function awayFromZero(values: Float64Array): Float64Array {
  return values.map((v) => (Math.abs(v) < 0.05 ? v + 0.1 * Math.sign(v || 1) : v));
}

export function numericGradient(f: (v: Float64Array) => number, at: Float64Array): Float64Array {
  const grad = new Float64Array(at.length);
  for (let i = 0; i < at.length; i++) {
    const held = at[i];
    at[i] = held + EPS;
    const up = f(at);
    at[i] = held - EPS;
    const down = f(at);
    at[i] = held;
    grad[i] = (up - down) / (2 * EPS);
  }
  return grad;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let scale = 1e-3;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / scale);
  expect(worst, `${what}: worst relative difference`).toBeLessThan(TOLERANCE);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Builds `layer` as a model, loads float64 parameters rounded to float32, and checks every gradient. */
export function checkLayer(layer: Module, inputShape: number[], rows: number, reference: Reference, options: { training?: boolean; seed?: number } = {}): void {
  const seed = options.seed ?? 1;
  const model = new Model(layer, inputShape).initialize(seed);
  model.train(options.training ?? false);
  const perSample = inputShape.reduce((a, b) => a * b, 1);
  const x = new Float64Array(Float32Array.from(awayFromZero(random(seed + 1, rows * perSample))));
  const params = model.entries.map((e) => new Float64Array(model.params.subarray(e.offset, e.offset + e.length)));
  const context = { key: dropoutRunKey(seed), step: 3, samples: Array.from({ length: rows }, (_, i) => 10 + i) };

  const output = model.forward({ data: Float32Array.from(x), shape: [rows, ...inputShape] }, context);
  const expectedOutput = reference(x, params);
  expectClose(output.data, expectedOutput, `${layer.kind} forward`);

  const upstream = random(seed + 2, output.data.length);
  model.zeroGrad();
  const gradInput = layer.backward({ data: Float32Array.from(upstream), shape: output.shape }, true)!;
  expectClose(gradInput.data, numericGradient((v) => dot(reference(v, params), upstream), x.slice()), `${layer.kind} input gradient`);
  model.entries.forEach((entry, p) => {
    const numeric = numericGradient((v) => {
      const trial = params.slice();
      trial[p] = v;
      return dot(reference(x, trial), upstream);
    }, params[p].slice());
    expectClose(model.grads.subarray(entry.offset, entry.offset + entry.length), numeric, `${layer.kind} ${entry.path} gradient`);
  });
}

