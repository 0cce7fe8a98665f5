/**
 * Training samples/s of one epoch and eval samples/s of the reference MLP (784-512-512-10, ReLU,
 * dropout 0.5) and of the small CNN of examples/configs/cnn.json, batch 128, SGD with momentum:
 * lockstep with 1 and 2 workers and, when Debian's python3-torch is installed, PyTorch with 1 and 2
 * threads on the same network (tools/bench/torch_reference.py), interleaved, medians of the
 * repetitions, each system timed after the same untimed warm-up (a few steps, one forward pass);
 * then a second epoch on each lockstep trainer, for the 2/1-worker ratio once V8 has compiled the
 * trainer's JavaScript (during the first, its optimizing compiler takes time on the workers' cores).
 * Also each run's median step time (the time between the ends of consecutive steps),
 * which shows a step's speed while this VM runs at full speed; the fraction of a lockstep training
 * step spent outside gradient computation (coordination, reduce and update, waiting for the slower
 * worker), and how much of that fraction is the waiting (each step's slowest gradient time against
 * the workers' mean); and dropout's share of a step, measured twice: the time inside the dropout
 * layers' forward and backward passes (masks drawn included) against the whole chunk gradient, on
 * this thread, chunk after chunk; and a 1-worker epoch of the MLP with its dropout layers removed
 * against one with them, which this VM's drift makes noisy. Each repetition starts with 7 alternations
 * of tools/bench/two-threads.mjs, so the 2/1-worker ratios are set against this machine's ceiling as
 * measured in the same run; 7 of the same with each thread computing the model's chunk gradients,
 * which shows what two cores give the whole gradient work (memory passes included) with no
 * coordination at all; and 7 with the two threads meeting after every chunk, as a step's workers do,
 * which shows what is left of that once every step waits for the slower thread (no update, no
 * coordinator: the least a synchronous step needs).
 *
 * lockstep runs with its strict and its relaxed (fused multiply-add) matrix-product kernel.
 *
 * Usage: node tools/bench/trainer.bench.mjs [--model mlp|cnn (default: both)] [--kernel strict|relaxed (default: both)]
 *   [--samples N] [--reps R (default 3)] [--chunk C (default 64)]
 * --samples defaults to the whole epoch for the MLP and 12,800 for the CNN.
 * Uses Fashion-MNIST when Debian's dataset-fashion-mnist is installed, else 60,000 synthetic samples.
 */
import { readFileSync } from 'node:fs';
import { Batch, chunkGradient, dropoutRunKey, lossByName, modelFromSpec, sgd, syntheticClassification, useKernel } from '../../packages/core/dist/index.js';
import { Trainer } from '../../packages/workers/dist/index.js';
import { fashionMnistInstalled, loadFashionMnist } from '../../examples/dist/fashion-mnist-data.js';
import { oneOf, parseFlags, positiveInteger } from './options.mjs';
import { pytorch, pytorchAvailable } from './pytorch.mjs';
import { median } from './median.mjs';
import { REFERENCE_MLP_LAYERS } from './reference-mlp.mjs';
import { twoThreads } from './two-threads.mjs';
import { useTrainersMatrixKernels } from './matrix-kernels.mjs';

const values = parseFlags({
  model: { type: 'string' },
  kernel: { type: 'string' },
  samples: { type: 'string' },
  reps: { type: 'string', default: '3' },
  chunk: { type: 'string', default: '64' },
});
const reps = positiveInteger('reps', values.reps);
const chunkSize = positiveInteger('chunk', values.chunk);
const kernels = values.kernel === undefined ? ['strict', 'relaxed'] : [oneOf('kernel', values.kernel, ['strict', 'relaxed'])];
const samplesOption = values.samples === undefined ? undefined : positiveInteger('samples', values.samples);
const modelNames = values.model === undefined ? ['mlp', 'cnn'] : [oneOf('model', values.model, ['mlp', 'cnn'])];

const source = fashionMnistInstalled() ? 'Fashion-MNIST' : 'synthetic';
const full = fashionMnistInstalled() ? loadFashionMnist().train : syntheticClassification({ seed: 0, samples: 60000, features: 784, classes: 10 });
const cnnLayers = JSON.parse(readFileSync(new URL('../../examples/configs/cnn.json', import.meta.url), 'utf8')).layers;
const models = {
  mlp: {
    title: 'reference MLP 784-512-512-10, dropout 0.5',
    samples: full.size,
    layers: REFERENCE_MLP_LAYERS,
  },
  cnn: { title: 'CNN of examples/configs/cnn.json (2 conv, 2 max-pool, Dropout2d 0.1, 1568-128-10, dropout 0.5)', samples: 12800, layers: cnnLayers },
};

/**
 * One trainer's rates: an epoch after the untimed warm-ups, then eval; with `secondEpoch`, another
 * epoch on the same trainer, when V8 has compiled most of the trainer's JavaScript on every thread
 * (in the first, its optimizing compiler runs beside the workers: with 2 workers on 2 cores, on
 * their cores).
 */
async function lockstep(model, data, workers, kernel, { secondEpoch = false } = {}) {
  const trainer = new Trainer({ model, seed: 0, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), chunkSize, workers, kernel });
  try {
    // Untimed warm-ups, as in the PyTorch script: a new trainer's first steps compile and allocate
    // in every worker (90-150 ms here), and its first evaluation sizes the buffers of eval blocks.
    await trainer.fit(data.slice(0, 256), { epochs: 1, batchSize: 128 });
    await trainer.evaluate(data.slice(0, 1024));
    // The time between one step's end and the next: its median shows a step's speed while this VM
    // runs at full speed, which the epoch's samples/s mixes with its slow spells.
    const stepEnds = [];
    const onStep = () => stepEnds.push(performance.now());
    const { history } = await trainer.fit(data, { epochs: 1, batchSize: 128, onStep });
    const t = trainer.lastFitTimings;
    const medianStepMs = median(stepEnds.slice(1).map((end, i) => end - stepEnds[i]));
    const started = performance.now();
    await trainer.evaluate(data);
    const evalSeconds = (performance.now() - started) / 1000;
    // The same per-step callback as the timed epoch, so that only V8's state differs between the two.
    const again = secondEpoch ? await trainer.fit(data, { epochs: 1, batchSize: 128, onStep }) : null;
    return {
      train: history[0].samplesPerSecond,
      secondTrain: again === null ? Number.NaN : again.history[0].samplesPerSecond,
      eval: data.size / evalSeconds,
      outside: 1 - t.gradientSeconds / workers / t.stepSeconds,
      waiting: (t.slowestGradientSeconds - t.gradientSeconds / workers) / t.stepSeconds,
      medianStepMs,
    };
  } finally {
    await trainer.close();
  }
}

/**
 * Dropout's share of a chunk gradient on this thread: every dropout layer's forward and backward are
 * timed inside `chunks` chunk gradients of the model (batch 128, the chunks of the epoch in order).
 */
function dropoutShareInsideStep(model, data, kernel, chunks) {
  useKernel(kernel);
  const net = modelFromSpec(model, 0);
  let inDropout = 0;
  for (const layer of net.module.layers.filter((l) => l.kind === 'Dropout')) {
    for (const pass of ['forward', 'backward']) {
      const run = layer[pass].bind(layer);
      layer[pass] = (...args) => {
        const started = performance.now();
        const result = run(...args);
        inDropout += performance.now() - started;
        return result;
      };
    }
  }
  const loss = lossByName('cross-entropy');
  const batch = new Batch(data, chunkSize);
  const key = dropoutRunKey(0);
  const measure = (count) => {
    inDropout = 0;
    const started = performance.now();
    for (let c = 0; c < count; c++) {
      const samples = Uint32Array.from({ length: chunkSize }, (_, r) => (c * chunkSize + r) % data.size);
      batch.gather(samples);
      chunkGradient(net, loss, { inputs: batch.inputs, targets: batch.targets, samples }, 128, Math.floor((c * chunkSize) / 128), key, net.grads);
    }
    return inDropout / (performance.now() - started);
  };
  measure(20);
  return measure(chunks);
}

function torch(name, samples, threads) {
  const args = ['--model', name, '--threads', String(threads), '--samples', String(samples), '--reps', '1'];
  const train = pytorch([...args, '--what', 'train']);
  return { train: train.samplesPerSecond, eval: pytorch([...args, '--what', 'eval']).samplesPerSecond, blas: train.blas };
}

const withTorch = pytorchAvailable();

async function compare(name) {
  const { title, samples: defaultSamples, layers } = models[name];
  const samples = Math.min(full.size, samplesOption ?? defaultSamples);
  const data = samples === full.size ? full : full.slice(0, samples);
  const model = { input: [...data.sampleShape], layers };
  const runs = { torch1: [], torch2: [], withoutDropout: [], ceiling: [], chunkCeiling: [], meetingCeiling: [] };
  const ceilingData = data.slice(0, Math.min(data.size, CEILING_SAMPLES));
  const chunkThreads = await twoThreads({ layers, inputs: ceilingData.inputs, sampleShape: [...ceilingData.sampleShape], targets: ceilingData.targets });
  // Dropout's cost: the same network with its dropout layers taken out, 1 worker, the first kernel.
  const withoutDropout = name === 'mlp' ? { ...model, layers: layers.filter((layer) => layer.type !== 'dropout') } : null;
  for (const kernel of kernels) for (const w of [1, 2]) runs[`${kernel}${w}`] = [];
  console.log(`${title}, batch 128, chunk ${chunkSize}: ${data.size} ${source} samples, ${reps} interleaved repetitions`);
  let blas = null;
  for (let rep = 1; rep <= reps; rep++) {
    const ceiling = await ceilingThreads.alternate(CEILING_ALTERNATIONS);
    runs.ceiling.push(...ceiling);
    console.log(`  rep ${rep} two unsynchronized threads / one on the strict kernel: ${ceiling.map((r) => r.toFixed(2)).join(', ')}`);
    const chunkCeiling = await chunkThreads.alternate(CEILING_ALTERNATIONS);
    runs.chunkCeiling.push(...chunkCeiling);
    console.log(`  rep ${rep} two unsynchronized threads / one on this model's chunk gradients: ${chunkCeiling.map((r) => r.toFixed(2)).join(', ')}`);
    const meetingCeiling = await chunkThreads.alternateMeeting(CEILING_ALTERNATIONS);
    runs.meetingCeiling.push(...meetingCeiling);
    console.log(`  rep ${rep} two threads meeting after every chunk / one on this model's chunk gradients: ${meetingCeiling.map((r) => r.toFixed(2)).join(', ')}`);
    for (const workers of [1, 2]) {
      for (const kernel of kernels) {
        const result = await lockstep(model, data, workers, kernel, { secondEpoch: true });
        runs[`${kernel}${workers}`].push(result);
        console.log(
          `  rep ${rep} lockstep ${kernel} ${workers} worker${workers > 1 ? 's' : ' '}: train ${result.train.toFixed(0)}/s, eval ${result.eval.toFixed(0)}/s, ` +
            `${(100 * result.outside).toFixed(1)}% outside gradients (${(100 * result.waiting).toFixed(1)}% waiting for the slowest worker), median step ${result.medianStepMs.toFixed(2)} ms; ` +
            `a second epoch: train ${result.secondTrain.toFixed(0)}/s`,
        );
      }
      if (workers === 1 && withoutDropout !== null) {
        const result = await lockstep(withoutDropout, data, 1, kernels[0]);
        runs.withoutDropout.push(result);
        console.log(`  rep ${rep} lockstep ${kernels[0]} 1 worker, dropout layers removed: train ${result.train.toFixed(0)}/s`);
      }
      if (withTorch) {
        const theirs = torch(name, data.size, workers);
        blas = theirs.blas;
        runs[`torch${workers}`].push(theirs);
        console.log(`  rep ${rep} PyTorch  ${workers} thread${workers > 1 ? 's' : ' '}: train ${theirs.train.toFixed(0)}/s, eval ${theirs.eval.toFixed(0)}/s`);
      }
    }
  }
  const m = (key, field) => median(runs[key].map((r) => r[field]));
  if (withTorch) console.log(`PyTorch's BLAS: ${blas}`);
  console.log('                              train samples/s   eval samples/s   outside gradients   of it waiting for the slowest');
  for (const w of [1, 2]) {
    for (const kernel of kernels) {
      const key = `${kernel}${w}`;
      console.log(`lockstep ${kernel.padEnd(7)} ${w} worker${w > 1 ? 's' : ' '} ${m(key, 'train').toFixed(0).padStart(15)}  ${m(key, 'eval').toFixed(0).padStart(15)}  ${(100 * m(key, 'outside')).toFixed(1).padStart(17)}%  ${(100 * m(key, 'waiting')).toFixed(1).padStart(28)}%`);
    }
    if (withTorch) console.log(`PyTorch ${w} thread${w > 1 ? 's' : ' '}             ${m(`torch${w}`, 'train').toFixed(0).padStart(15)}  ${m(`torch${w}`, 'eval').toFixed(0).padStart(15)}`);
  }
  if (withoutDropout !== null) {
    const share = 1 - m(`${kernels[0]}1`, 'train') / m('withoutDropout', 'train');
    console.log(`lockstep ${kernels[0]} 1 worker without its dropout layers: train ${m('withoutDropout', 'train').toFixed(0)}/s; dropout's share of a training step, from these runs: ${(100 * share).toFixed(1)}%`);
    const inside = dropoutShareInsideStep(model, data, kernels[0], 400);
    console.log(`dropout's share of a chunk gradient (a step less its update), timed inside 400 of them (${kernels[0]}, 1 thread): ${(100 * inside).toFixed(1)}%`);
  }
  await chunkThreads.close();
  const ceiling = median(runs.ceiling);
  const chunkCeiling = median(runs.chunkCeiling);
  const meetingCeiling = median(runs.meetingCeiling);
  /** A field's median at 2 workers over its median at 1, for one kernel. */
  const twoOverOne = (kernel, field) => m(`${kernel}2`, field) / m(`${kernel}1`, field);
  console.log(`this machine's ceiling, two unsynchronized threads / one (tools/bench/two-threads.mjs), median of ${runs.ceiling.length} alternations in this run: ${ceiling.toFixed(2)}x`);
  console.log(
    `the same for this model's 64-row chunk gradients, each thread its own model and data (memory passes included, no coordination), median of ${runs.chunkCeiling.length} alternations: ${chunkCeiling.toFixed(2)}x; ` +
      `lockstep ${kernels[0]} 2 workers / 1 worker, train: ${(twoOverOne(kernels[0], 'train') / chunkCeiling).toFixed(2)} of it`,
  );
  console.log(
    `the same with the two threads meeting after every chunk, as a step's workers do (a spinning barrier; no update, no coordinator), median of ${runs.meetingCeiling.length} alternations: ${meetingCeiling.toFixed(2)}x ` +
      `(${(meetingCeiling / ceiling).toFixed(2)} of the ceiling); lockstep ${kernels[0]} 2 workers / 1 worker, train: ${(twoOverOne(kernels[0], 'train') / meetingCeiling).toFixed(2)} of it, ` +
      `a second epoch: ${(twoOverOne(kernels[0], 'secondTrain') / meetingCeiling).toFixed(2)} of it`,
  );
  for (const kernel of kernels) {
    const scaling = twoOverOne(kernel, 'train');
    console.log(
      `lockstep ${kernel} 2 workers / 1 worker: train ${scaling.toFixed(2)}x (${(scaling / ceiling).toFixed(2)} of the ceiling), eval ${twoOverOne(kernel, 'eval').toFixed(2)}x`,
    );
    const secondScaling = twoOverOne(kernel, 'secondTrain');
    console.log(
      `lockstep ${kernel} 2 workers / 1 worker, train, a second epoch on the same trainers (most of V8's compiling done): ${secondScaling.toFixed(2)}x (${(secondScaling / ceiling).toFixed(2)} of the ceiling)`,
    );
    console.log(
      `lockstep ${kernel} median step: 1 worker ${m(`${kernel}1`, 'medianStepMs').toFixed(2)} ms, 2 workers ${m(`${kernel}2`, 'medianStepMs').toFixed(2)} ms ` +
        `(1 worker / 2 workers: ${(m(`${kernel}1`, 'medianStepMs') / m(`${kernel}2`, 'medianStepMs')).toFixed(2)}x)`,
    );
  }
  if (withTorch) {
    for (const kernel of kernels) {
      for (const w of [1, 2]) {
        console.log(`lockstep ${kernel} / PyTorch at ${w}: train ${(m(`${kernel}${w}`, 'train') / m(`torch${w}`, 'train')).toFixed(2)}x, eval ${(m(`${kernel}${w}`, 'eval') / m(`torch${w}`, 'eval')).toFixed(2)}x`);
      }
    }
  }
}

const CEILING_ALTERNATIONS = 7;
/** Samples the chunk-gradient ceiling's threads cycle through. */
const CEILING_SAMPLES = 2048;
console.log(useTrainersMatrixKernels());
const ceilingThreads = await twoThreads();
for (const name of modelNames) await compare(name);
await ceilingThreads.close();
