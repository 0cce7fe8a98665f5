/**
 * GFLOP/s of the three dense-layer products (X W^T, X^T G, G W) at n = 512 and 1024 (square
 * matrices), lockstep's strict and relaxed kernels on one thread, on WebAssembly SIMD and, where
 * @lockstep/native is built and can run, on its x86-64 kernels (the same bits), interleaved, median
 * of 5 repetitions of at least 0.3 s each, and PyTorch's on one thread with the ratios when Debian's
 * python3-torch is installed. Then the 128-bit ceilings the WebAssembly kernels work under
 * (simd-ceilings.mjs), set against their best product.
 */
import { matmul, rowMajor, transposed, useKernel, useNativeMatmul, KERNEL_FAMILIES } from '../../packages/core/dist/index.js';
import { loadNativeKernels } from '../../packages/native/dist/index.js';
import { pytorch, pytorchAvailable } from './pytorch.mjs';
import { simdCeilings } from './simd-ceilings.mjs';
import { median } from './median.mjs';

const random = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);

const shapes = {
  xwT: (x, w, out, n) => matmul(rowMajor(x, n), transposed(w, n), n, n, n, out),
  xTg: (x, g, out, n) => matmul(transposed(x, n), rowMajor(g, n), n, n, n, out),
  gw: (g, w, out, n) => matmul(rowMajor(g, n), rowMajor(w, n), n, n, n, out),
};

const native = loadNativeKernels();
/** Where the products run: WebAssembly, and each instruction set of the native kernels where they can. */
const BACKENDS = { wasm: null, ...Object.fromEntries(('variants' in native ? native.variants : []).map((variant) => [variant.isa, variant])) };
const COLUMNS = Object.keys(BACKENDS).flatMap((backend) => ['strict', 'relaxed'].map((kernel) => ({ backend, kernel, name: `${backend} ${kernel}` })));

function gflops(run, n) {
  const a = random(n * n);
  const b = random(n * n).reverse();
  const out = new Float32Array(n * n);
  const reps = Object.fromEntries(COLUMNS.map(({ name }) => [name, []]));
  for (let r = 0; r < 5; r++) {
    for (const { backend, kernel, name } of COLUMNS) {
      useKernel(kernel);
      useNativeMatmul(BACKENDS[backend]);
      run(a, b, out, n);
      let calls = 0;
      const started = performance.now();
      while (performance.now() - started < 300) {
        run(a, b, out, n);
        calls++;
      }
      reps[name].push((2 * n ** 3 * calls) / ((performance.now() - started) / 1000) / 1e9);
    }
  }
  useNativeMatmul(null);
  return Object.fromEntries(COLUMNS.map(({ name }) => [name, median(reps[name])]));
}

const torch = pytorchAvailable() ? pytorch(['--what', 'matmul', '--threads', '1', '--reps', '3']) : null;
console.log(`matrix products, 1 thread, GFLOP/s (strict: ${KERNEL_FAMILIES.strict}, relaxed: ${KERNEL_FAMILIES.relaxed}; each on WebAssembly SIMD and, where built, on @lockstep/native with the same bits)`);
if ('unavailable' in native) console.log(`@lockstep/native: not measured, ${native.unavailable}`);
if (torch !== null) console.log(`PyTorch ${torch.torch}, BLAS found at ${torch.blas}`);
// The strict kernel the trainers use: the native one where it runs.
const trainersStrict = `${'kernels' in native ? native.kernels.isa : 'wasm'} strict`;
console.log(`shape      n${COLUMNS.map(({ name }) => name.padStart(16)).join('')}` + (torch === null ? '' : `  PyTorch  ${`${trainersStrict}/PyTorch`.padStart(22)}`));
const best = { ...Object.fromEntries(COLUMNS.map(({ name }) => [name, 0])), torch: 0 };
for (const n of [512, 1024]) {
  for (const [name, run] of Object.entries(shapes)) {
    const ours = gflops(run, n);
    const theirs = torch?.gflops[String(n)][name];
    for (const column of COLUMNS) best[column.name] = Math.max(best[column.name], ours[column.name]);
    best.torch = Math.max(best.torch, theirs ?? 0);
    const tail = theirs === undefined ? '' : `  ${theirs.toFixed(1).padStart(7)}  ${(ours[trainersStrict] / theirs).toFixed(2).padStart(22)}`;
    console.log(`${name.padEnd(5)} ${String(n).padStart(6)}${COLUMNS.map((column) => ours[column.name].toFixed(1).padStart(16)).join('')}${tail}`);
  }
}

const ceilings = await simdCeilings();
const figure = ({ best: highest, median }) => `${highest.toFixed(1)} (median ${median.toFixed(1)})`;
console.log('128-bit ceilings of this thread (the WebAssembly kernels), GFLOP/s, highest of 7 repetitions:');
console.log(`  fused multiply-add on registers only   ${figure(ceilings.fusedPeak)}`);
console.log(`  strict micro-kernel, panels in L1      ${figure(ceilings.strictInL1)}; best wasm strict product above: ${(best['wasm strict'] / ceilings.strictInL1.best).toFixed(2)} of it`);
console.log(`  relaxed micro-kernel, panels in L1     ${figure(ceilings.relaxedInL1)}; best wasm relaxed product above: ${(best['wasm relaxed'] / ceilings.relaxedInL1.best).toFixed(2)} of it`);
if (best.torch > 0) {
  console.log(`PyTorch's best product above, ${best.torch.toFixed(1)} GFLOP/s, is ${(best.torch / ceilings.fusedPeak.best).toFixed(2)}x the 128-bit fused peak: its kernels are wider than WebAssembly's 128 bits, as @lockstep/native's are`);
}
