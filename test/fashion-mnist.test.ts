import { describe, expect, it } from 'vitest';
import { evaluate, fit, modelFromSpec, sgd } from '@lockstep/core';
import { fashionMnistInstalled, loadFashionMnist } from '../examples/src/fashion-mnist-data.js';

// .ci/run installs Debian's dataset-fashion-mnist, so CI always runs this.
describe.skipIf(!fashionMnistInstalled())('Fashion-MNIST (real images)', () => {
  it('a 784-128-10 MLP with dropout 0.2 reaches at least 80% test accuracy after one epoch', () => {
    const { train, test } = loadFashionMnist();
    expect([train.size, test.size]).toEqual([60000, 10000]);
    const model = modelFromSpec(
      {
        input: [1, 28, 28],
        layers: [{ type: 'flatten' }, { type: 'linear', out: 128 }, { type: 'relu' }, { type: 'dropout', p: 0.2 }, { type: 'linear', out: 10 }],
      },
      0,
    );
    fit(model, train, { epochs: 1, batchSize: 128, chunkSize: 32, seed: 0, optimizer: sgd({ lr: 0.05, momentum: 0.9 }) });
    const result = evaluate(model, test);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.8);
  });
});
