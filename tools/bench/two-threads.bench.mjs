/**
 * What two threads can gain on this machine, with no coordination at all: the strict matrix kernel
 * on a chunk's first product (64 x 784 times 784 x 512, as in the reference MLP) runs for 100 ms on one
 * thread, then on two threads at once, each with its own inputs; 21 alternations. The median of
 * (GFLOP/s of both threads together) / (GFLOP/s of one) bounds the 1 -> 2 worker ratio of training,
 * whose workers share the same cores.
 *
 * Usage: node tools/bench/two-threads.bench.mjs [--alternations N (default 21)]
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { matmul, rowMajor, transposed, useKernel } from '../../packages/core/dist/index.js';
import { parseFlags, positiveInteger } from './options.mjs';
import { median } from './median.mjs';

const [m, k, n] = [64, 784, 512];
const SLICE_MS = 100;

function measure() {
  const x = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const w = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i * 4.1414) * 0.1);
  const out = new Float32Array(m * n);
  useKernel('strict');
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

if (isMainThread) {
  const values = parseFlags({ alternations: { type: 'string', default: '21' } });
  const alternations = positiveInteger('alternations', values.alternations);
  const threads = [0, 1].map(() => new Worker(new URL(import.meta.url)));
  const slice = (thread) => new Promise((resolve) => {
    thread.once('message', resolve);
    thread.postMessage('run');
  });
  await Promise.all(threads.map(slice));
  console.log(`strict kernel, ${m}x${k} times ${k}x${n}, slices of ${SLICE_MS} ms: one thread, then two at once, ${alternations} alternations`);
  const ratios = [];
  for (let a = 1; a <= alternations; a++) {
    const one = await slice(threads[0]);
    const both = await Promise.all(threads.map(slice));
    ratios.push((both[0] + both[1]) / one);
    console.log(`  ${String(a).padStart(2)}: 1 thread ${one.toFixed(1)} GFLOP/s, 2 threads ${both[0].toFixed(1)} + ${both[1].toFixed(1)} GFLOP/s: ${ratios.at(-1).toFixed(2)}x`);
  }
  const atLeast = ratios.filter((r) => r >= 1.8).length;
  console.log(
    `two threads / one thread: median ${median(ratios).toFixed(2)}x, lowest ${Math.min(...ratios).toFixed(2)}x, highest ${Math.max(...ratios).toFixed(2)}x; at least 1.8x in ${atLeast} of ${alternations}`,
  );
  await Promise.all(threads.map((thread) => thread.terminate()));
} else {
  const run = measure();
  parentPort.on('message', () => parentPort.postMessage(run()));
}
