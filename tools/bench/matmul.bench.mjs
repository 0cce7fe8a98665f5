/**
 * GFLOP/s of the three dense-layer products (X W^T, X^T G, G W) at n = 512 and 1024 (square
 * matrices), lockstep's strict and relaxed kernels on one thread, interleaved, median of 5
 * repetitions of at least 0.3 s each, and PyTorch's on one thread with the ratios when Debian's
 * python3-torch is installed. Then the 128-bit ceilings these products work under (simd-ceilings.mjs),
 * set against the best product of each.
 */
import { matmul, rowMajor, transposed, useKernel, KERNEL_FAMILIES } from '../../packages/core/dist/index.js';
import { pytorch, pytorchAvailable } from './pytorch.mjs';
import { simdCeilings } from './simd-ceilings.mjs';
import { median } from './median.mjs';

const random = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);

const shapes = {
  xwT: (x, w, out, n) => matmul(rowMajor(x, n), transposed(w, n), n, n, n, out),
  xTg: (x, g, out, n) => matmul(transposed(x, n), rowMajor(g, n), n, n, n, out),
  gw: (g, w, out, n) => matmul(rowMajor(g, n), rowMajor(w, n), n, n, n, out),
};

function gflops(run, n) {
  const a = random(n * n);
  const b = random(n * n).reverse();
  const out = new Float32Array(n * n);
  const reps = { strict: [], relaxed: [] };
  for (let r = 0; r < 5; r++) {
    for (const kernel of ['strict', 'relaxed']) {
      useKernel(kernel);
      run(a, b, out, n);
      let calls = 0;
      const started = performance.now();
      while (performance.now() - started < 300) {
        run(a, b, out, n);
        calls++;
      }
      reps[kernel].push((2 * n ** 3 * calls) / ((performance.now() - started) / 1000) / 1e9);
    }
  }
  return { strict: median(reps.strict), relaxed: median(reps.relaxed) };
}

const torch = pytorchAvailable() ? pytorch(['--what', 'matmul', '--threads', '1', '--reps', '3']) : null;
console.log(`matrix products, 1 thread, GFLOP/s (strict: ${KERNEL_FAMILIES.strict}, relaxed: ${KERNEL_FAMILIES.relaxed})`);
if (torch !== null) console.log(`PyTorch ${torch.torch}, BLAS found at ${torch.blas}`);
console.log('shape      n  strict  relaxed' + (torch === null ? '' : '  PyTorch  strict/PyTorch  relaxed/PyTorch'));
const best = { strict: 0, relaxed: 0, torch: 0 };
for (const n of [512, 1024]) {
  for (const [name, run] of Object.entries(shapes)) {
    const ours = gflops(run, n);
    const theirs = torch?.gflops[String(n)][name];
    best.strict = Math.max(best.strict, ours.strict);
    best.relaxed = Math.max(best.relaxed, ours.relaxed);
    best.torch = Math.max(best.torch, theirs ?? 0);
    const tail = theirs === undefined ? '' : `  ${theirs.toFixed(1).padStart(7)}  ${(ours.strict / theirs).toFixed(2).padStart(14)}  ${(ours.relaxed / theirs).toFixed(2).padStart(15)}`;
    console.log(`${name.padEnd(5)} ${String(n).padStart(6)}  ${ours.strict.toFixed(1).padStart(6)}  ${ours.relaxed.toFixed(1).padStart(7)}${tail}`);
  }
}

const ceilings = await simdCeilings();
const figure = ({ best: highest, median }) => `${highest.toFixed(1)} (median ${median.toFixed(1)})`;
console.log('128-bit ceilings of this thread, GFLOP/s, highest of 7 repetitions:');
console.log(`  fused multiply-add on registers only   ${figure(ceilings.fusedPeak)}`);
console.log(`  strict micro-kernel, panels in L1      ${figure(ceilings.strictInL1)}; best strict product above: ${(best.strict / ceilings.strictInL1.best).toFixed(2)} of it`);
console.log(`  relaxed micro-kernel, panels in L1     ${figure(ceilings.relaxedInL1)}; best relaxed product above: ${(best.relaxed / ceilings.relaxedInL1.best).toFixed(2)} of it`);
if (best.torch > 0) {
  console.log(`PyTorch's best product above, ${best.torch.toFixed(1)} GFLOP/s, is ${(best.torch / ceilings.fusedPeak.best).toFixed(2)}x the 128-bit fused peak: its kernels are 256-bit, a width WebAssembly does not have`);
}
