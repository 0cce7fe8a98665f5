/**
 * What two threads can gain on this machine, with no coordination at all: the strict matrix kernel
 * (on the vector units the trainers' workers use, see matrix-kernels.mjs)
 * on a chunk's first product (64 x 784 times 784 x 512, as in the reference MLP) runs for 100 ms on one
 * thread, then on two threads at once, each with its own inputs. The median of (GFLOP/s of both
 * threads together) / (GFLOP/s of one) over the alternations bounds the 1 -> 2 worker ratio of
 * training, whose workers share the same cores. This file is also the measuring threads' script.
 *
 * With `{ chunks: { layers, inputs, sampleShape, targets } }`, each thread instead computes a model's
 * 64-row chunk gradients (strict kernel, training mode, each thread its own model and data, in a kernel
 * memory of its own, as a worker does), and the rates are chunks per second: what two cores give the
 * whole of a training step's gradient work, memory passes included, rather than the products alone.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  Batch,
  chunkGradient,
  Dataset,
  dropoutRunKey,
  kernelMemory,
  lossByName,
  matmul,
  modelFromSpec,
  rowMajor,
  transposed,
  useKernel,
  useKernelMemory,
} from '../../packages/core/dist/index.js';
import { useTrainersMatrixKernels } from './matrix-kernels.mjs';

export const SHAPE = [64, 784, 512];
export const SLICE_MS = 100;

const CHUNK_ROWS = 64;

function measureChunks({ layers, inputs, sampleShape, targets }) {
  const data = new Dataset(inputs, sampleShape, targets);
  useKernel('strict');
  useTrainersMatrixKernels();
  useKernelMemory(kernelMemory(65536, 'a measuring thread', 2 ** 31));
  const model = modelFromSpec({ input: sampleShape, layers }, 0);
  model.train();
  const loss = lossByName('cross-entropy');
  const batch = new Batch(data, CHUNK_ROWS);
  const key = dropoutRunKey(0);
  let chunk = 0;
  return () => {
    let chunks = 0;
    const started = performance.now();
    while (performance.now() - started < SLICE_MS) {
      const samples = Uint32Array.from({ length: CHUNK_ROWS }, (_, row) => (chunk * CHUNK_ROWS + row) % data.size);
      batch.gather(samples);
      chunkGradient(model, loss, { inputs: batch.inputs, targets: batch.targets, samples }, 2 * CHUNK_ROWS, chunk >> 1, key, model.grads);
      chunk++;
      chunks++;
    }
    return chunks / ((performance.now() - started) / 1000);
  };
}

function measure() {
  if (workerData?.chunks !== undefined) return measureChunks(workerData.chunks);
  const [m, k, n] = SHAPE;
  const x = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const w = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i * 4.1414) * 0.1);
  const out = new Float32Array(m * n);
  useKernel('strict');
  useTrainersMatrixKernels();
  return () => {
    let calls = 0;
    const started = performance.now();
    while (performance.now() - started < SLICE_MS) {
      matmul(rowMajor(x, k), transposed(w, k), m, k, n, out);
      calls++;
    }
    return (2 * m * k * n * calls) / ((performance.now() - started) / 1000) / 1e9;
  };
}

/**
 * Two measuring threads (of the matrix kernel, or with `chunks` of a model's chunk gradients, see
 * above); `alternate(count, onEach)` runs `count` alternations and returns their ratios, calling
 * `onEach(index, one, both)` after each. `close()` ends the threads.
 */
export async function twoThreads(chunks) {
  const threads = [0, 1].map(() => new Worker(new URL(import.meta.url), { workerData: { chunks } }));
  const slice = (thread) =>
    new Promise((resolve) => {
      thread.once('message', resolve);
      thread.postMessage('run');
    });
  await Promise.all(threads.map(slice));
  return {
    async alternate(count, onEach = () => {}) {
      const ratios = [];
      for (let a = 1; a <= count; a++) {
        const one = await slice(threads[0]);
        const both = await Promise.all(threads.map(slice));
        ratios.push((both[0] + both[1]) / one);
        onEach(a, one, both);
      }
      return ratios;
    },
    close: () => Promise.all(threads.map((thread) => thread.terminate())),
  };
}

if (!isMainThread) {
  const run = measure();
  parentPort.on('message', () => parentPort.postMessage(run()));
}
