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
