import { describe, expect, it } from 'vitest';
import { Batch, builtinDataset, Dataset, syntheticClassification } from '@lockstep/core';

describe('Dataset', () => {
  const inputs = Float32Array.from({ length: 12 }, (_, i) => i);
  const data = Dataset.classification(inputs, [3], Int32Array.from([0, 2, 1, 2]));

  it('infers the class count and slices without copying', () => {
    expect(data.size).toBe(4);
    expect(data.targets).toMatchObject({ kind: 'classes', classes: 3 });
    const tail = data.slice(2, 4);
    expect(tail.inputs.buffer).toBe(inputs.buffer);
    expect([...tail.inputs]).toEqual([6, 7, 8, 9, 10, 11]);
  });

  it('gathers shuffled rows into a reusable batch', () => {
    const batch = new Batch(data, 4);
    batch.gather([3, 0]);
    expect(batch.rows).toBe(2);
    expect([...batch.inputs.subarray(0, 6)]).toEqual([9, 10, 11, 0, 1, 2]);
    expect(batch.targets.kind === 'classes' && [...batch.targets.labels.subarray(0, 2)]).toEqual([2, 0]);
    expect([...data.select([1]).inputs]).toEqual([3, 4, 5]);
  });

  it.each([
    [() => new Dataset(new Float32Array(7), [3], { kind: 'classes', labels: new Int32Array(2), classes: 2 }), 'Dataset: 7 input values are not a whole number of samples of shape [3]'],
    [() => Dataset.classification(new Float32Array(6), [3], new Int32Array(3)), 'Dataset: 2 samples but 3 targets; give one target per sample'],
    [() => Dataset.classification(new Float32Array(6), [3], Int32Array.from([0, 5]), 3), 'Dataset: label 5 of sample 1 is outside [0, 3)'],
    [() => Dataset.classification(new Float32Array(6), [0], Int32Array.from([0, 1])), 'Dataset sampleShape[0] must be an integer >= 1, got 0'],
  ])('rejects bad data with one line (%#)', (make, message) => {
    expect(make).toThrow(message);
  });

  it.each([
    ['NaN', [0, NaN], 'E_LABEL', 'Dataset: label NaN of sample 1 is not an integer; labels are class indices'],
    ['1.5', Float32Array.from([0, 1.5]), 'E_LABEL', 'Dataset: label 1.5 of sample 1 is not an integer; labels are class indices'],
  ] as const)('a label %s: one line naming the sample, with or without a class count', (_name, labels, code, message) => {
    for (const make of [() => Dataset.classification(new Float32Array(6), [3], labels), () => Dataset.classification(new Float32Array(6), [3], labels, 2)]) {
      expect(make).toThrow(expect.objectContaining({ code, message }));
    }
  });

  it.each([
    ['Float64Array inputs', () => Dataset.classification(new Float64Array(6) as never, [3], [0, 1]), 'Dataset: inputs must be a Float32Array (or { reader, rows } for streamed samples), got a Float64Array; pass Float32Array.from(inputs)'],
    ['a plain array of inputs', () => Dataset.classification([0, 1, 2, 3, 4, 5] as never, [3], [0, 1]), 'Dataset: inputs must be a Float32Array (or { reader, rows } for streamed samples), got an array; pass Float32Array.from(inputs)'],
    ['Float64Array values', () => Dataset.regression(new Float32Array(6), [3], new Float64Array(2) as never, 1), 'Dataset: targets.values must be a Float32Array, got a Float64Array; pass Float32Array.from(values)'],
    ['targets of an unknown kind', () => new Dataset(new Float32Array(6), [3], { kind: 'labels', labels: [0, 1], classes: 2 } as never), 'Dataset: targets.kind must be "classes" or "values", got "labels"'],
    ['labels not an array', () => new Dataset(new Float32Array(6), [3], { kind: 'classes', labels: 'ab', classes: 2 } as never), 'Dataset: targets.labels must be an array of class indices (an Int32Array), got "ab"'],
  ])('%s: E_DATA in one line', (_name, make, message) => {
    expect(make).toThrow(expect.objectContaining({ code: 'E_DATA', message }));
  });

  it('takes labels in any integer array, as the Int32Array every trainer reads', () => {
    const inputs = new Float32Array(9);
    for (const labels of [Uint8Array.from([0, 2, 1]), [0, 2, 1], Float64Array.from([0, 2, 1])]) {
      const made = Dataset.classification(inputs, [3], labels);
      expect(made.targets).toEqual({ kind: 'classes', labels: Int32Array.from([0, 2, 1]), classes: 3 });
    }
    const given = Int32Array.from([0, 2, 1]);
    expect(Dataset.classification(inputs, [3], given).targets.kind === 'classes' && Dataset.classification(inputs, [3], given).targets).toMatchObject({ labels: given });
  });
});

describe('synthetic data', () => {
  it('is a pure function of the seed', () => {
    const a = syntheticClassification({ seed: 4, samples: 50, features: 8, classes: 3 });
    const b = syntheticClassification({ seed: 4, samples: 50, features: 8, classes: 3 });
    const c = syntheticClassification({ seed: 5, samples: 50, features: 8, classes: 3 });
    expect([...a.inputs]).toEqual([...b.inputs]);
    expect([...a.inputs]).not.toEqual([...c.inputs]);
  });

  it('the built-in set has 4,000 + 1,000 samples of 128 features with every class about equally common', () => {
    const { train, validation } = builtinDataset(0);
    expect([train.size, validation.size, train.sampleSize]).toEqual([4000, 1000, 128]);
    const counts = new Array(10).fill(0);
    if (train.targets.kind === 'classes') for (const label of train.targets.labels) counts[label]++;
    for (const count of counts) expect(Math.abs(count - 400)).toBeLessThan(80);
  });
});
