/**
 * What two threads can gain on this machine, with no coordination at all (tools/bench/two-threads.mjs):
 * the strict matrix kernel on one thread, then on two at once, 21 alternations; the median ratio
 * bounds the 1 -> 2 worker ratio of training. trainer.bench.mjs measures the same in its own run.
 *
 * Usage: node tools/bench/two-threads.bench.mjs [--alternations N (default 21)]
 */
import { parseFlags, positiveInteger } from './options.mjs';
import { median } from './median.mjs';
import { SHAPE, SLICE_MS, twoThreads } from './two-threads.mjs';

const values = parseFlags({ alternations: { type: 'string', default: '21' } });
const alternations = positiveInteger('alternations', values.alternations);
const [m, k, n] = SHAPE;
const threads = await twoThreads();
console.log(`strict kernel, ${m}x${k} times ${k}x${n}, slices of ${SLICE_MS} ms: one thread, then two at once, ${alternations} alternations`);
const ratios = await threads.alternate(alternations, (a, one, both) =>
  console.log(`  ${String(a).padStart(2)}: 1 thread ${one.toFixed(1)} GFLOP/s, 2 threads ${both[0].toFixed(1)} + ${both[1].toFixed(1)} GFLOP/s: ${((both[0] + both[1]) / one).toFixed(2)}x`),
);
const atLeast = ratios.filter((r) => r >= 1.8).length;
console.log(
  `two threads / one thread: median ${median(ratios).toFixed(2)}x, lowest ${Math.min(...ratios).toFixed(2)}x, highest ${Math.max(...ratios).toFixed(2)}x; at least 1.8x in ${atLeast} of ${alternations}`,
);
await threads.close();
