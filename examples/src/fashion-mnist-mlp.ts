// An MLP on Fashion-MNIST with the reference trainer.
// Usage: node examples/dist/fashion-mnist-mlp.js [hidden sizes, default 512,512] [dropout, default 0.5] [epochs, default 1]
import { evaluate, fit, modelFromSpec, sgd, type LayerSpec } from '@lockstep/core';
import { loadFashionMnist } from './fashion-mnist-data.js';

const hidden = (process.argv[2] ?? '512,512').split(',').map(Number);
const p = Number(process.argv[3] ?? 0.5);
const epochs = Number(process.argv[4] ?? 1);
const { train, test } = loadFashionMnist();
const layers: LayerSpec[] = [{ type: 'flatten' }];
for (const width of hidden) layers.push({ type: 'linear', out: width }, { type: 'relu' }, { type: 'dropout', p });
layers.push({ type: 'linear', out: 10 });
const model = modelFromSpec({ input: [1, 28, 28], layers }, 0);

const started = performance.now();
fit(model, train, {
  epochs,
  batchSize: 128,
  chunkSize: 32,
  seed: 0,
  optimizer: sgd({ lr: 0.05, momentum: 0.9 }),
  onEpoch: (m) => console.log(`epoch ${m.epoch}: loss ${m.loss.toFixed(4)}, train accuracy ${m.accuracy?.toFixed(4)}, ${Math.round(m.samplesPerSecond)} samples/s`),
});
const seconds = (performance.now() - started) / 1000;
const result = evaluate(model, test);
console.log(`784-${hidden.join('-')}-10, dropout ${p}: test accuracy ${result.accuracy?.toFixed(4)}, test loss ${result.loss.toFixed(4)}, ${seconds.toFixed(1)} s training`);
