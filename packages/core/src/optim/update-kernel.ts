import { WASM_BASE64 } from '../wasm/update.generated.js';
import type { OptimizerConfig } from './optimizer.js';
import { wasm, type WasmMemory, type WasmModule } from '../wasm/webassembly-types.js';

/**
 * The optimizer step in WebAssembly SIMD (wasm/update.wat), working in place on a shared
 * WebAssembly memory that holds the parameters, the optimizer state and the chunk gradient slots.
 * The worker trainer keeps those in one such memory for every thread; the reference trainer keeps
 * its own. Both run these same functions, so an update has the same bits on either.
 */

/** A gradient is measured in fixed blocks of this many parameters; see engine/reduce.ts `reduceAndMeasure`. */
export const NORM_BLOCK = 4096;

export function normBlockCount(paramCount: number): number {
  return Math.ceil(paramCount / NORM_BLOCK);
}

/** Byte addresses, in the kernel's memory, of what one update touches. */
export interface UpdateAddresses {
  readonly params: number;
  /** Chunk gradient slots of paramCount floats, end to end; the sum ends in slot 0. */
  readonly slots: number;
  /** `stateSlots(config)` slots of paramCount floats. */
  readonly state: number;
  readonly paramCount: number;
}

type KernelFunction = (...args: number[]) => number;

let compiled: WasmModule | null = null;

export class UpdateKernel {
  readonly memory: WasmMemory;
  private readonly reduce: KernelFunction;
  private readonly squares: KernelFunction;
  private readonly scale: KernelFunction;
  private readonly sgd: KernelFunction;
  private readonly adam: KernelFunction;

  constructor(memory: WasmMemory) {
    compiled ??= new wasm.Module(Buffer.from(WASM_BASE64, 'base64'));
    const exports = new wasm.Instance(compiled, { env: { memory } }).exports;
    this.memory = memory;
    this.reduce = exports.reduce as KernelFunction;
    this.squares = exports.squares as KernelFunction;
    this.scale = exports.scale as KernelFunction;
    this.sgd = exports.sgd as KernelFunction;
    this.adam = exports.adam as KernelFunction;
  }

  /**
   * Sums the chunk slots into slot 0 over [from, to) in lockstep's one fixed order, a pairwise tree
   * over chunk index aligned to powers of two: slot 1 into 0, 3 into 2, ...; then 2 into 0, 6 into 4,
   * ... The order depends on the chunk count only, never on which thread computed which chunk, and
   * whole aligned subtrees can be summed elsewhere and shipped.
   */
  sumSlots(at: UpdateAddresses, chunks: number, from: number, to: number): void {
    this.reduce(at.slots, 4 * at.paramCount, chunks, from, to);
  }

  /** The sum of squares of the summed gradient (slot 0) over [from, to), in float64. */
  sumOfSquares(at: UpdateAddresses, from: number, to: number): number {
    return this.squares(at.slots, from, to);
  }

  /** Over [from, to): scales the summed gradient by `factor` (clipping) and applies optimizer step `t`. */
  update(config: OptimizerConfig, at: UpdateAddresses, t: number, lr: number, factor: number, from: number, to: number): void {
    if (factor !== 1) this.scale(at.slots, from, to, factor);
    if (config.kind === 'sgd') {
      const first = t === 1;
      this.sgd(at.params, at.slots, at.state, from, to, lr, config.weightDecay, config.momentum === 0 ? 0 : 1,
        first ? 0 : config.momentum, first ? 1 : 1 - config.dampening, config.nesterov ? 1 : 0, config.momentum);
      return;
    }
    const decoupled = config.kind === 'adamw';
    this.adam(at.params, at.slots, at.state, at.state + 4 * at.paramCount, from, to, decoupled ? 1 : 0, config.weightDecay,
      1 - lr * config.weightDecay, config.beta1, 1 - config.beta1, config.beta2, 1 - config.beta2,
      lr / (1 - Math.pow(config.beta1, t)), Math.sqrt(1 - Math.pow(config.beta2, t)), config.eps);
  }
}

/** The L2 norm of the summed gradient from every block's sum of squares; not finite when a gradient is not. */
export function gradientNorm(blockSquares: Float64Array): number {
  let squares = 0;
  for (let b = 0; b < blockSquares.length; b++) squares += blockSquares[b];
  return Math.sqrt(squares);
}

/** The factor the gradient is scaled by: clipNorm / (norm + 1e-6) when below 1, as PyTorch's clip_grad_norm_. */
export function clipFactor(norm: number, clipNorm: number | undefined): number {
  if (clipNorm === undefined) return 1;
  const factor = Math.fround(clipNorm / (norm + 1e-6));
  return factor < 1 ? factor : 1;
}
