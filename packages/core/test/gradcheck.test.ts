import { describe, expect, it } from 'vitest';
import {
  crossEntropy,
  Dataset,
  Dropout,
  erf,
  Flatten,
  GELU,
  keep,
  LeakyReLU,
  Linear,
  meanSquaredError,
  ReLU,
  Sequential,
  Sigmoid,
  Tanh,
} from '@lockstep/core';
import { checkLayer, expectClose, numericGradient, random, type Reference } from './helpers/gradcheck.js';

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
