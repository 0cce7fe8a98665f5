import { afterEach, describe, expect, it } from 'vitest';
import { Dataset, sgd, syntheticClassification, type KernelChoice, type ModelSpec } from '@lockstep/core';
import { loadNativeKernels } from '@lockstep/native';
import { Trainer } from '@lockstep/workers';

// Workers on @lockstep/native's kernels against workers on WebAssembly's: the same parameters, running
// statistics and predictions, bit for bit, for both kernel families. (Every other test that compares a
// Trainer with core's reference trainer compares native workers with a WebAssembly main thread too.)
const native = loadNativeKernels();
const images = syntheticClassification({ seed: 11, samples: 384, features: 144, classes: 5 });
const data = new Dataset(images.inputs, [1, 12, 12], images.targets);
const cnn: ModelSpec = {
  input: [1, 12, 12],
  layers: [
    { type: 'conv2d', out: 8, kernelSize: 3, padding: 1 },
    { type: 'batch-norm2d' },
    { type: 'relu' },
    { type: 'max-pool2d', kernelSize: 2 },
    { type: 'conv2d', out: 16, kernelSize: 3, padding: 1 },
    { type: 'relu' },
    { type: 'max-pool2d', kernelSize: 2 },
    { type: 'dropout2d', p: 0.2 },
    { type: 'flatten' },
    { type: 'linear', out: 40 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 5 },
  ],
};

const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((trainer) => trainer.close()));
});

async function trained(kernel: KernelChoice, nativeKernels: boolean): Promise<Uint8Array[]> {
  const trainer = new Trainer({ model: cnn, seed: 5, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), chunkSize: 16, workers: 2, kernel, nativeKernels });
  open.push(trainer);
  await trainer.fit(data, { epochs: 2, batchSize: 64 });
  trainer.eval();
  const predictions = await trainer.predict(data.slice(0, 100));
  const bytes = (array: Float32Array) => new Uint8Array(array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength));
  return [bytes(trainer.params), bytes(trainer.buffers), bytes(predictions)];
}

describe.skipIf(!('kernels' in native))('trainers on @lockstep/native kernels', () => {
  for (const kernel of ['strict', 'relaxed'] as KernelChoice[]) {
    it(`${kernel}: a CNN with BatchNorm and both dropouts, 12 steps on 2 workers, ends with WebAssembly's bits`, async () => {
      const onWasm = await trained(kernel, false);
      const onNative = await trained(kernel, true);
      expect(onWasm[0].length).toBe(4 * (8 * 9 + 8 + 8 + 8 + 16 * 8 * 9 + 16 + 16 * 3 * 3 * 40 + 40 + 40 * 5 + 5));
      expect(onNative).toEqual(onWasm);
    });
  }
});

if (!('kernels' in native)) it.skip(`skipped: ${'unavailable' in native ? native.unavailable : ''}`);
