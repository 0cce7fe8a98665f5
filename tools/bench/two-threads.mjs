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
 * Its `alternateMeeting` runs the two threads in rounds instead: each computes one chunk gradient, and
 * the two meet (a spinning barrier) before the next round, as a step's workers meet once their chunks
 * are done. No update, no coordinator: what two cores give gradient work that must wait for the slower
 * thread every step, on this machine, where the scheduler now and then stalls one of the two.
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

/** Waits at `barrier` (one Int32: arrivals since the rounds began) until both threads have arrived for the `round`-th time (from 1). */
function meet(barrier, round) {
  Atomics.add(barrier, 0, 1);
  while (Atomics.load(barrier, 0) < 2 * round);
}

function measureChunks({ layers, inputs, sampleShape, targets, barrier }) {
  const data = new Dataset(inputs, sampleShape, targets);
  useKernel('strict');
  useTrainersMatrixKernels();
  useKernelMemory(kernelMemory(65536, 'a measuring thread', 2 ** 31));
  const model = modelFromSpec({ input: sampleShape, layers }, 0);
  model.train();
  const loss = lossByName('cross-entropy');
  const batch = new Batch(data, CHUNK_ROWS);
  const key = dropoutRunKey(0);
  const arrivals = new Int32Array(barrier);
  let chunk = 0;
  const computeChunk = () => {
    const samples = Uint32Array.from({ length: CHUNK_ROWS }, (_, row) => (chunk * CHUNK_ROWS + row) % data.size);
    batch.gather(samples);
    chunkGradient(model, loss, { inputs: batch.inputs, targets: batch.targets, samples }, 2 * CHUNK_ROWS, chunk >> 1, key, model.grads);
    chunk++;
  };
  return (rounds) => {
    let chunks = 0;
    const started = performance.now();
    if (rounds === undefined) {
      for (; performance.now() - started < SLICE_MS; chunks++) computeChunk();
    } else {
      for (; chunks < rounds; chunks++) {
        computeChunk();
        meet(arrivals, chunks + 1);
      }
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
  const barrier = new SharedArrayBuffer(4);
  const threads = [0, 1].map(() => new Worker(new URL(import.meta.url), { workerData: { chunks: chunks === undefined ? undefined : { ...chunks, barrier } } }));
  const slice = (thread, rounds) =>
    new Promise((resolve) => {
      thread.once('message', resolve);
      thread.postMessage({ rounds });
    });
  await Promise.all(threads.map((thread) => slice(thread)));
  return {
    async alternate(count, onEach = () => {}) {
      const ratios = [];
      for (let a = 1; a <= count; a++) {
        const one = await slice(threads[0]);
        const both = await Promise.all(threads.map((thread) => slice(thread)));
        ratios.push((both[0] + both[1]) / one);
        onEach(a, one, both);
      }
      return ratios;
    },
    /**
     * With `chunks` only: `count` alternations of one thread alone for a slice, then both threads in
     * rounds that meet (about a slice's worth); returns each (chunks/s of both) / (chunks/s of one).
     */
    async alternateMeeting(count, onEach = () => {}) {
      const ratios = [];
      for (let a = 1; a <= count; a++) {
        const one = await slice(threads[0]);
        const rounds = Math.max(2, Math.round((one * SLICE_MS) / 1000));
        new Int32Array(barrier).fill(0);
        const both = await Promise.all(threads.map((thread) => slice(thread, rounds)));
        // Both threads computed `rounds` chunks; the pair finished when the slower one did.
        ratios.push((2 * Math.min(...both)) / one);
        onEach(a, one, both);
      }
      return ratios;
    },
    close: () => Promise.all(threads.map((thread) => thread.terminate())),
  };
}

if (!isMainThread) {
  const run = measure();
  parentPort.on('message', ({ rounds }) => parentPort.postMessage(run(rounds)));
}
