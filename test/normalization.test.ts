import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Dataset, evaluate, fit, modelFromSpec, predict, sgd, syntheticClassification, type ModelSpec, type TrainingState } from '@lockstep/core';
import { loadCheckpoint } from '@lockstep/cli';
import { mpiAvailable } from '@lockstep/mpi';
import { sharedMemoryRanks, Trainer } from '@lockstep/workers';
import { MPIRUN_ENV, MPIRUN_OPTIONS } from '../packages/mpi/test/mpirun.js';
import { writeIdxImages } from './helpers/images.js';
import { BIN, fingerprintOf, lockstep } from './helpers/lockstep.js';

// The CNN of examples/configs/cnn.json with a BatchNorm2d after each convolution.
const cnnLayers = JSON.parse(readFileSync(new URL('../examples/configs/cnn.json', import.meta.url), 'utf8')).layers as Array<{ type: string }>;
const bnLayers = cnnLayers.flatMap((layer) => (layer.type === 'conv2d' ? [layer, { type: 'batch-norm2d' }] : [layer]));
const spec = { input: [1, 28, 28], layers: bnLayers } as ModelSpec;

// 100 samples in batches of 32 and chunks of 8: 4 chunks a step, and a last batch of 4 (one chunk), so 8 steps in 2 epochs.
const images = syntheticClassification({ seed: 5, samples: 100, features: 28 * 28, classes: 10 });
const data = new Dataset(images.inputs, [1, 28, 28], images.targets);
const optimizer = sgd({ lr: 0.05, momentum: 0.9 });
const settings = { batchSize: 32, chunkSize: 8, seed: 7, optimizer };

const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
const bytes = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);
const trainer = (workers: number, ranks?: ReturnType<typeof sharedMemoryRanks>[number]): Trainer => {
  const made = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers, ranks });
  open.push(made);
  return made;
};

describe('BatchNorm2d in the CNN of cnn.json: the same bits at any worker count, across ranks and after resume', () => {
  const reference = modelFromSpec(spec, settings.seed);
  const referenceRun = fit(reference, data, { ...settings, epochs: 2 });

  it('is examples/configs/cnn-batchnorm.json', () => {
    const example = JSON.parse(readFileSync(new URL('../examples/configs/cnn-batchnorm.json', import.meta.url), 'utf8')) as { layers: unknown };
    expect(example.layers).toEqual(bnLayers);
  });

  it('the running statistics moved from their start (mean 0, variance 1) in 8 steps', () => {
    expect(referenceRun.state.step).toBe(8);
    expect(reference.buffers.length).toBe(2 * (16 + 32));
    expect(reference.buffers.some((v, i) => v !== (i % 32 < 16 ? 0 : 1))).toBe(true);
  });

  it('workers 1, 2 and 3: parameters, running statistics, optimizer state and losses equal the reference trainer; eval and predict too', async () => {
    const expectedEvaluation = evaluate(reference, data);
    const expectedOutputs = predict(reference, data.inputs);
    for (const workers of [1, 2, 3]) {
      const parallel = trainer(workers);
      const run = await parallel.fit(data, { epochs: 2, batchSize: settings.batchSize });
      expect(bytes(parallel.params).equals(bytes(reference.params)), `workers=${workers} parameters`).toBe(true);
      expect(bytes(parallel.buffers).equals(bytes(reference.buffers)), `workers=${workers} running statistics`).toBe(true);
      expect(bytes(parallel.state.optimizerState).equals(bytes(referenceRun.state.optimizerState)), `workers=${workers} optimizer state`).toBe(true);
      expect(run.history.map((m) => m.loss)).toEqual(referenceRun.history.map((m) => m.loss));
      expect(await parallel.evaluate(data)).toEqual(expectedEvaluation);
      expect(bytes(await parallel.predict(data.inputs)).equals(bytes(expectedOutputs)), `workers=${workers} predict`).toBe(true);
    }
  });

  it('2 ranks x 1 worker and 2 ranks x 2 workers joined in shared memory: every rank ends on the reference bits', async () => {
    for (const workers of [1, 2]) {
      const groups = sharedMemoryRanks(2, 4 * reference.size + 8 * 1024);
      const trainers = groups.map((group) => trainer(workers, group));
      await Promise.all(trainers.map((t) => t.fit(data, { epochs: 2, batchSize: settings.batchSize })));
      for (const [rank, t] of trainers.entries()) {
        expect(bytes(t.params).equals(bytes(reference.params)), `${workers} worker(s), rank ${rank} parameters`).toBe(true);
        expect(bytes(t.buffers).equals(bytes(reference.buffers)), `${workers} worker(s), rank ${rank} running statistics`).toBe(true);
      }
    }
  });

  it('stopped after step 3 (mid-epoch) and resumed from a saved copy: the reference trainer and 2 workers end on the uninterrupted bits', async () => {
    const stopAfter = (step: number): { signal: AbortSignal; onStep: () => void } => {
      const controller = new AbortController();
      let steps = 0;
      return { signal: controller.signal, onStep: () => void (++steps === step && controller.abort()) };
    };
    const first = modelFromSpec(spec, settings.seed);
    const stopped = fit(first, data, { ...settings, epochs: 2, ...stopAfter(3) });
    expect(stopped.state.step).toBe(3);
    const saved = { params: first.params.slice(), buffers: first.buffers.slice(), state: { ...stopped.state, optimizerState: stopped.state.optimizerState.slice() } as TrainingState };

    const resumed = modelFromSpec(spec, 0);
    resumed.params.set(saved.params);
    resumed.buffers.set(saved.buffers);
    fit(resumed, data, { ...settings, epochs: 2, state: { ...saved.state, optimizerState: saved.state.optimizerState.slice() } });
    expect(bytes(resumed.params).equals(bytes(reference.params)), 'reference resumed: parameters').toBe(true);
    expect(bytes(resumed.buffers).equals(bytes(reference.buffers)), 'reference resumed: running statistics').toBe(true);

    const onWorkers = trainer(2);
    onWorkers.load({ params: saved.params, buffers: saved.buffers, optimizerState: saved.state.optimizerState, state: saved.state });
    await onWorkers.fit(data, { epochs: 2, batchSize: settings.batchSize });
    expect(bytes(onWorkers.params).equals(bytes(reference.params)), '2 workers resumed: parameters').toBe(true);
    expect(bytes(onWorkers.buffers).equals(bytes(reference.buffers)), '2 workers resumed: running statistics').toBe(true);
  });
});

describe('an MLP with BatchNorm1d, dropout and LayerNorm', () => {
  it('workers 1 and 3: parameters and running statistics equal the reference trainer (200 samples in batches of 64: the last batch is one chunk of 8)', async () => {
    const flat = syntheticClassification({ seed: 8, samples: 200, features: 12, classes: 3 });
    const mlp: ModelSpec = {
      input: [12],
      layers: [
        { type: 'linear', out: 24 },
        { type: 'batch-norm1d', momentum: 0.2 },
        { type: 'relu' },
        { type: 'dropout', p: 0.3 },
        { type: 'linear', out: 16 },
        { type: 'layer-norm' },
        { type: 'relu' },
        { type: 'linear', out: 3 },
      ],
    };
    const reference = modelFromSpec(mlp, 3);
    fit(reference, flat, { epochs: 2, batchSize: 64, chunkSize: 16, seed: 3, optimizer });
    for (const workers of [1, 3]) {
      const parallel = new Trainer({ model: mlp, seed: 3, optimizer, chunkSize: 16, workers });
      open.push(parallel);
      await parallel.fit(flat, { epochs: 2, batchSize: 64 });
      expect(bytes(parallel.params).equals(bytes(reference.params)), `workers=${workers} parameters`).toBe(true);
      expect(bytes(parallel.buffers).equals(bytes(reference.buffers)), `workers=${workers} running statistics`).toBe(true);
    }
  });
});

describe('lockstep train with the BatchNorm CNN: checkpoints keep the running statistics', () => {
  const work = mkdtempSync(join(tmpdir(), 'lockstep-norm-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const args = ['--config', 'cnn-bn.json', '--batch-size', '32', '--chunk-size', '8', '--quiet'];
  let straight = '';
  beforeAll(() => {
    writeIdxImages(join(work, 'images'), 120);
    writeFileSync(join(work, 'cnn-bn.json'), JSON.stringify({ data: 'idx:images', layers: bnLayers }));
    const run = lockstep(['train', ...args, '--epochs', '2', '--workers', '1', '--out', 'straight'], work);
    expect(run.stderr).toBe('');
    straight = fingerprintOf(run.stdout);
  });

  it('3 workers print the fingerprint of 1; one epoch, then a resume to two, prints it too; the checkpoint holds the running statistics', () => {
    expect(fingerprintOf(lockstep(['train', ...args, '--epochs', '2', '--workers', '3', '--out', 'three'], work).stdout)).toBe(straight);
    expect(lockstep(['train', ...args, '--epochs', '1', '--workers', '2', '--out', 'half'], work).status).toBe(0);
    expect(loadCheckpoint(join(work, 'half', 'checkpoint.lockstep')).buffers?.length).toBe(2 * (16 + 32));
    const resumed = lockstep(['train', ...args, '--epochs', '2', '--workers', '2', '--resume', 'half/checkpoint.lockstep', '--out', 'half'], work);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(straight);
  });

  it('eval of the checkpoint normalizes with its running statistics: the loss of the last epoch\'s validation', () => {
    const lastEpoch = JSON.parse(readFileSync(join(work, 'straight', 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!) as { valLoss: number };
    const run = lockstep(['eval', '--checkpoint', 'straight/checkpoint.lockstep', '--workers', '2'], work);
    expect(run.stdout).toContain(`loss ${lastEpoch.valLoss.toFixed(4)}`);
  });

  it('--chunk-size 1 with BatchNorm2d over 1x1 maps: one line naming chunkSize, and no run folder', () => {
    writeFileSync(join(work, 'bn-1x1.json'), JSON.stringify({ data: 'idx:images', layers: [{ type: 'conv2d', out: 4, kernelSize: 28 }, { type: 'batch-norm2d' }, { type: 'flatten' }, { type: 'linear', out: 4 }] }));
    const run = lockstep(['train', '--config', 'bn-1x1.json', '--batch-size', '8', '--chunk-size', '1', '--epochs', '1', '--out', 'refused'], work);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toBe('lockstep: chunkSize 1 leaves a chunk of 1 sample, and layer 1 (BatchNorm2d) needs more than 1 value per channel in training; choose a chunkSize that leaves every chunk at least 2 samples\n');
    expect(existsSync(join(work, 'refused'))).toBe(false);
  });

  it.skipIf(!mpiAvailable())('mpirun -np 2: the fingerprint of one process', () => {
    const command = [...MPIRUN_OPTIONS, '-np', '2', process.execPath, BIN, 'train', ...args, '--epochs', '2', '--workers', '1', '--out', 'mpi-2'];
    const run = spawnSync('mpirun', command, { cwd: work, env: { ...process.env, ...MPIRUN_ENV }, encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).toBe('');
    expect(fingerprintOf(run.stdout)).toBe(straight);
  });
});
