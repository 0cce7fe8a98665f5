/**
 * The parallel trainer on the reference MLP (784-512-512-10, ReLU, dropout 0.5, batch 128, SGD with
 * momentum): samples/s of one training epoch with 1 and 2 workers, interleaved, median of the
 * repetitions, their ratio, and the fraction of a step spent outside gradient computation
 * (coordination, reduce and update, waiting for the slower worker).
 *
 * Usage: node tools/bench/trainer.bench.mjs [--samples N (default: the whole epoch)] [--reps R (default 3)]
 * Uses Fashion-MNIST when Debian's dataset-fashion-mnist is installed, else 60,000 synthetic samples.
 */
import { parseArgs } from 'node:util';
import { sgd, syntheticClassification } from '../../packages/core/dist/index.js';
import { Trainer } from '../../packages/workers/dist/index.js';
import { fashionMnistInstalled, loadFashionMnist } from '../../examples/dist/fashion-mnist-data.js';

const { values } = parseArgs({ options: { samples: { type: 'string' }, reps: { type: 'string', default: '3' }, chunk: { type: 'string', default: '64' } } });
const reps = Number(values.reps);

const source = fashionMnistInstalled() ? 'Fashion-MNIST' : 'synthetic';
const full = fashionMnistInstalled()
  ? loadFashionMnist().train
  : syntheticClassification({ seed: 0, samples: 60000, features: 784, classes: 10 });
const samples = Math.min(full.size, Number(values.samples ?? full.size));
const data = samples === full.size ? full : full.slice(0, samples);
const inputShape = [...data.sampleShape];

const model = {
  input: inputShape,
  layers: [
    { type: 'flatten' },
    { type: 'linear', out: 512 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 512 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 10 },
  ],
};

async function epoch(workers) {
  const trainer = new Trainer({ model, seed: 0, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), chunkSize: Number(values.chunk), workers });
  try {
    const { history } = await trainer.fit(data, { epochs: 1, batchSize: 128 });
    const t = trainer.lastFitTimings;
    const outside = 1 - t.gradientSeconds / workers / t.stepSeconds;
    return { samplesPerSecond: history[0].samplesPerSecond, outside };
  } finally {
    await trainer.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = { 1: [], 2: [] };
console.log(`reference MLP 784-512-512-10, dropout 0.5, batch 128, chunk ${values.chunk}: ${data.size} ${source} samples per epoch, ${reps} interleaved repetitions`);
for (let rep = 1; rep <= reps; rep++) {
  for (const workers of [1, 2]) {
    const result = await epoch(workers);
    runs[workers].push(result);
    console.log(`  rep ${rep}, ${workers} worker${workers > 1 ? 's' : ' '}: ${result.samplesPerSecond.toFixed(0)} samples/s, ${(100 * result.outside).toFixed(1)}% of step time outside gradients`);
  }
}
const speed = (w) => median(runs[w].map((r) => r.samplesPerSecond));
const outside = (w) => median(runs[w].map((r) => r.outside));
console.log('workers  samples/s (median)  outside gradients (median)');
for (const w of [1, 2]) console.log(`${String(w).padStart(7)}  ${speed(w).toFixed(0).padStart(18)}  ${(100 * outside(w)).toFixed(1).padStart(25)}%`);
const ratios = runs[1].map((r, i) => runs[2][i].samplesPerSecond / r.samplesPerSecond);
console.log(`2 workers / 1 worker: ${(speed(2) / speed(1)).toFixed(2)}x (per repetition: ${ratios.map((r) => r.toFixed(2)).join(', ')})`);
