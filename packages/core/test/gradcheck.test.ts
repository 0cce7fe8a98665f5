import { describe, expect, it } from 'vitest';
import { Dataset } from '../src/data/dataset.js';
import { crossEntropy } from '../src/losses/cross-entropy.js';
import { meanSquaredError } from '../src/losses/mse.js';
import { Model } from '../src/model.js';
import { GELU, LeakyReLU, ReLU, Sigmoid, Tanh } from '../src/modules/activations.js';
import { Dropout } from '../src/modules/dropout.js';
import { Flatten } from '../src/modules/flatten.js';
import { Linear } from '../src/modules/linear.js';
import type { Module } from '../src/modules/module.js';
import { Sequential } from '../src/modules/sequential.js';
import { erf } from '../src/ops/erf.js';
import { fillUniform, rootKey } from '../src/random/key.js';
import { dropoutRunKey, keep } from '../src/random/mask.js';

/**
 * Gradient checks: each layer's analytic backward (float32 storage) against central finite
 * differences of an independent float64 reference of its forward.
 */
type Reference = (x: Float64Array, params: Float64Array[]) => Float64Array;

const EPS = 1e-6;
const TOLERANCE = 3e-5;

function random(seed: number, n: number, low = -2, high = 2): Float64Array {
  const out = new Float64Array(n);
  fillUniform(rootKey(seed), out, low, high);
  return out;
}

/** Inputs kept away from 0, where ReLU-like functions have a kink. */
function awayFromZero(values: Float64Array): Float64Array {
  return values.map((v) => (Math.abs(v) < 0.05 ? v + 0.1 * Math.sign(v || 1) : v));
}

function numericGradient(f: (v: Float64Array) => number, at: Float64Array): Float64Array {
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

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let scale = 1e-3;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / scale);
  expect(worst, `${what}: worst relative difference`).toBeLessThan(TOLERANCE);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Builds `layer` as a model, loads float64 parameters rounded to float32, and checks every gradient. */
function checkLayer(layer: Module, inputShape: number[], rows: number, reference: Reference, options: { training?: boolean; seed?: number } = {}): void {
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

function linearReference(inF: number, outF: number, bias: boolean): Reference {
  return (x, [w, b]) => {
    const rows = x.length / inF;
    const y = new Float64Array(rows * outF);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outF; o++) {
        let sum = bias ? b[o] : 0;
        for (let i = 0; i < inF; i++) sum += x[r * inF + i] * w[o * inF + i];
        y[r * outF + o] = sum;
      }
    }
    return y;
  };
}

const elementwise = (f: (v: number) => number): Reference => (x) => x.map(f);

describe('finite-difference gradient checks (float64 reference)', () => {
  it.each([
    [3, 4, 5, true],
    [1, 7, 3, false],
    [5, 2, 9, true],
  ])('Linear rows=%i in=%i out=%i bias=%s', (rows, inF, outF, bias) => {
    checkLayer(new Linear({ inFeatures: inF, outFeatures: outF, bias }), [inF], rows, linearReference(inF, outF, bias));
  });

  it('ReLU', () => checkLayer(new ReLU(), [6], 4, elementwise((v) => Math.max(0, v))));
  it('LeakyReLU slope 0.2', () => checkLayer(new LeakyReLU(0.2), [6], 4, elementwise((v) => (v > 0 ? v : 0.2 * v))));
  it('Tanh', () => checkLayer(new Tanh(), [6], 4, elementwise(Math.tanh)));
  it('Sigmoid', () => checkLayer(new Sigmoid(), [6], 4, elementwise((v) => 1 / (1 + Math.exp(-v)))));
  it('GELU exact', () => checkLayer(new GELU(), [6], 4, elementwise((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)))));
  it('GELU tanh approximation', () =>
    checkLayer(
      new GELU('tanh'),
      [6],
      4,
      elementwise((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))),
    ));
  it('Flatten', () => checkLayer(new Flatten(), [2, 3, 2], 3, (x) => x.slice()));

  it.each([
    ['inverted', true],
    ['classic', true],
    ['inverted', false],
    ['classic', false],
  ] as const)('Dropout p=0.3 %s training=%s (mask from keep())', (scaling, training) => {
    const units = 8;
    const reference: Reference = (x) =>
      x.map((v, i) => {
        const row = Math.floor(i / units);
        if (!training) return scaling === 'classic' ? v * 0.7 : v;
        const kept = keep(1, '', 3, 10 + row, i % units, 0.3);
        return kept ? (scaling === 'inverted' ? v / 0.7 : v) : 0;
      });
    checkLayer(new Dropout(0.3, { scaling }), [units], 5, reference, { training });
  });

  it('Sequential of every layer kind', () => {
    const layers = new Sequential(
      new Flatten(),
      new Linear({ inFeatures: 6, outFeatures: 5 }),
      new GELU(),
      new Linear({ inFeatures: 5, outFeatures: 4, bias: false }),
      new Tanh(),
      new Linear({ inFeatures: 4, outFeatures: 3 }),
      new Sigmoid(),
    );
    const reference: Reference = (x, [w1, b1, w2, w3, b3]) => {
      const h1 = linearReference(6, 5, true)(x, [w1, b1]).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
      const h2 = linearReference(5, 4, false)(h1, [w2]).map(Math.tanh);
      return linearReference(4, 3, true)(h2, [w3, b3]).map((v) => 1 / (1 + Math.exp(-v)));
    };
    checkLayer(layers, [2, 3], 4, reference);
  });
});

describe('loss gradient checks (float64 reference)', () => {
  function checkLoss(
    loss: typeof crossEntropy,
    output: Float64Array,
    rows: number,
    data: Dataset,
    batchSize: number,
    reference: (o: Float64Array) => number,
  ): void {
    const tensor = { data: Float32Array.from(output), shape: [rows, output.length / rows] };
    const grad = new Float32Array(output.length);
    const { sum } = loss.evaluate(tensor, data.targets, batchSize, grad);
    const rounded = new Float64Array(tensor.data);
    expect(Math.abs(sum / batchSize - reference(rounded))).toBeLessThan(1e-12 * Math.max(1, Math.abs(reference(rounded))));
    expectClose(grad, numericGradient(reference, rounded.slice()), `${loss.name} gradient`);
  }

  it('softmax cross-entropy, mean over a batch larger than the chunk', () => {
    const rows = 4;
    const classes = 5;
    const logits = random(7, rows * classes, -3, 3);
    logits[7] = 60;
    const labels = Int32Array.from([1, 4, 0, 2]);
    const data = Dataset.classification(new Float32Array(rows), [1], labels, classes);
    const batchSize = 6;
    const reference = (z: Float64Array): number => {
      let total = 0;
      for (let r = 0; r < rows; r++) {
        const row = z.subarray(r * classes, (r + 1) * classes);
        const max = Math.max(...row);
        total += Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max - row[labels[r]];
      }
      return total / batchSize;
    };
    checkLoss(crossEntropy, logits, rows, data, batchSize, reference);
  });

  it('mean squared error, mean over every element', () => {
    const rows = 3;
    const width = 4;
    const output = random(8, rows * width);
    const targets = Float32Array.from(random(9, rows * width));
    const data = Dataset.regression(new Float32Array(rows), [1], targets, width);
    const reference = (o: Float64Array): number => o.reduce((s, v, i) => s + (v - targets[i]) ** 2, 0) / (rows * width);
    checkLoss(meanSquaredError, output, rows, data, rows, reference);
  });

  it('cross-entropy stays finite for logits of 1e4', () => {
    const data = Dataset.classification(new Float32Array(1), [1], Int32Array.from([0]), 3);
    const grad = new Float32Array(3);
    const { sum } = crossEntropy.evaluate({ data: Float32Array.from([1e4, -1e4, 0]), shape: [1, 3] }, data.targets, 1, grad);
    expect(sum).toBe(0);
    expect([...grad]).toEqual([0, 0, 0]);
    const wrong = crossEntropy.evaluate({ data: Float32Array.from([-1e4, 1e4, 0]), shape: [1, 3] }, data.targets, 1, grad);
    expect(wrong.sum).toBe(2e4);
    expect([...grad]).toEqual([-1, 1, 0]);
  });

  it('names a label outside the model outputs', () => {
    const data = Dataset.classification(new Float32Array(2), [1], Int32Array.from([0, 3]), 4);
    expect(() => crossEntropy.evaluate({ data: new Float32Array(6), shape: [2, 3] }, data.targets, 2, null)).toThrow(
      'cross-entropy: label 3 in row 1 is outside [0, 3); the model has 3 outputs',
    );
  });
});

describe('erf', () => {
  it.each([
    [0, 0],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [-2, -0.9953222650189527],
    [3.5, 0.9999992569016276],
    [5, 0.9999999999984626],
  ])('erf(%s) = %s', (x, expected) => {
    expect(Math.abs(erf(x) - expected)).toBeLessThan(1e-14);
  });
  it('is odd and continuous across the series/fraction switch at 3', () => {
    expect(erf(-0.7)).toBe(-erf(0.7));
    expect(Math.abs(erf(3 - 1e-12) - erf(3 + 1e-12))).toBeLessThan(1e-13);
  });
});
