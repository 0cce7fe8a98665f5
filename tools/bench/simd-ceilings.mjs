/**
 * The ceilings a 128-bit WebAssembly kernel works under on the calling thread, in GFLOP/s, each the
 * highest and the median of 7 repetitions (this VM's cores run at full speed only part of the time):
 * - `fusedPeak`: 8 independent fused multiply-adds (f32x4.relaxed_madd) per loop turn on registers
 *   only, the most 128-bit arithmetic this core retires; a 256-bit kernel (PyTorch's) has twice it;
 * - `strictInL1`, `relaxedInL1`: lockstep's own micro-kernels (wasm/matmul.wat, mul + add and fused)
 *   multiplying 8 x 256 by 256 x 16 panels that stay in the L1 cache, so nothing waits on memory:
 *   what the kernel's instruction mix allows, which a large product can approach but not pass.
 * A mul + add register loop is not measured: V8 hoists the loop-invariant products out of it.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { WASM_BASE64 as RELAXED_KERNEL } from '../../packages/core/dist/modules/wasm/matmul-relaxed.generated.js';
import { WASM_BASE64 as STRICT_KERNEL } from '../../packages/core/dist/modules/wasm/matmul.generated.js';
import { median } from './median.mjs';

setFlagsFromString('--experimental-wasm-relaxed-simd');

const REPETITIONS = 7;
const FLOPS_PER_REPETITION = 4e8;
const ACCUMULATORS = ['$c0', '$c1', '$c2', '$c3', '$c4', '$c5', '$c6', '$c7'];

/** One turn: c_i = x_(i mod 4) * b_(i mod 2) + c_i for 8 accumulators, 64 FLOP. */
const FUSED_LOOP = `(module
  (func (export "run") (param $turns i32) (result f32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $b0 v128) (local $b1 v128)
    ${ACCUMULATORS.map((c) => `(local ${c} v128)`).join(' ')}
    (local.set $x0 (f32x4.splat (f32.const 1))) (local.set $x1 (f32x4.splat (f32.const 0.5)))
    (local.set $x2 (f32x4.splat (f32.const 0.25))) (local.set $x3 (f32x4.splat (f32.const 2)))
    (local.set $b0 (f32x4.splat (f32.const 1e-9))) (local.set $b1 (f32x4.splat (f32.const 2e-9)))
    (loop $turn
      ${ACCUMULATORS.map((c, i) => `(local.set ${c} (f32x4.relaxed_madd (local.get $x${i % 4}) (local.get $b${i % 2}) (local.get ${c})))`).join('\n      ')}
      (br_if $turn (local.tee $turns (i32.sub (local.get $turns) (i32.const 1)))))
    (f32x4.extract_lane 0 ${ACCUMULATORS.slice(1).reduce((sum, c) => `(f32x4.add ${sum} (local.get ${c}))`, `(local.get ${ACCUMULATORS[0]})`)})))`;

const FLOPS_PER_TURN = 2 * 4 * ACCUMULATORS.length;

/** GFLOP/s over repetitions after a warm-up call: the highest (what the core does when nothing else runs on it) and the median. */
function rates(run, flopsPerCall) {
  const calls = Math.max(1, Math.round(FLOPS_PER_REPETITION / flopsPerCall));
  run();
  const measured = [];
  for (let r = 0; r < REPETITIONS; r++) {
    const started = performance.now();
    for (let c = 0; c < calls; c++) run();
    measured.push((flopsPerCall * calls) / ((performance.now() - started) / 1000) / 1e9);
  }
  return { best: Math.max(...measured), median: median(measured) };
}

async function fusedPeak() {
  const wabt = await createRequire(import.meta.url)('wabt')();
  const module = wabt.parseWat('fused-peak.wat', FUSED_LOOP, { simd: true, relaxed_simd: true });
  const { buffer } = module.toBinary({});
  module.destroy();
  const { run } = new WebAssembly.Instance(new WebAssembly.Module(buffer)).exports;
  const turns = 1e6;
  return rates(() => run(turns), FLOPS_PER_TURN * turns);
}

/** Panels of an 8 x 256 and a 256 x 16 operand (24 KiB), already packed as wasm `matmul` reads them. */
function microKernelInL1(binary) {
  const [m, k, n] = [8, 256, 16];
  const { matmul, memory } = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(binary, 'base64'))).exports;
  const a = 0;
  const b = 4 * m * k;
  const c = b + 4 * k * n;
  memory.grow(Math.ceil((c + 4 * m * n) / 65536));
  const floats = new Float32Array(memory.buffer, 0, c / 4);
  for (let i = 0; i < floats.length; i++) floats[i] = Math.sin(i * 12.9898) * 0.5;
  return rates(() => matmul(a, b, c, m, k, n), 2 * m * k * n);
}

export async function simdCeilings() {
  return { fusedPeak: await fusedPeak(), strictInL1: microKernelInL1(STRICT_KERNEL), relaxedInL1: microKernelInL1(RELAXED_KERNEL) };
}
