import { kernelMemory } from '../wasm/memory.js';
import { normBlockCount, UpdateKernel, type UpdateAddresses } from './update-kernel.js';

const ALIGN = 64;
const align = (bytes: number): number => Math.ceil(bytes / ALIGN) * ALIGN;

let scratch: UpdateWorkspace | null = null;

/**
 * Parameters, chunk gradient slots and optimizer state laid end to end in a kernel memory of their
 * own, with the kernel over it: the reference trainer's working set, and the scratch of `applyUpdate`.
 */
export class UpdateWorkspace {
  readonly kernel: UpdateKernel;
  readonly at: UpdateAddresses;
  readonly params: Float32Array;
  readonly slots: Float32Array;
  readonly state: Float32Array;
  readonly blockSquares: Float64Array;

  /**
   * A workspace of this thread for copies of plain arrays (the array APIs `applyUpdate` and
   * `reduceChunkSlots`), reused while it is large enough.
   */
  static scratch(paramCount: number, stateSlots: number, chunkSlots: number): UpdateWorkspace {
    const fits = (w: UpdateWorkspace): boolean =>
      w.at.paramCount === paramCount && w.state.length >= stateSlots * paramCount && w.slots.length >= chunkSlots * paramCount;
    if (scratch === null || !fits(scratch)) scratch = new UpdateWorkspace(paramCount, stateSlots, chunkSlots);
    return scratch;
  }

  constructor(paramCount: number, stateSlots: number, chunkSlots: number) {
    const params = 0;
    const slots = align(params + 4 * paramCount);
    const state = align(slots + 4 * chunkSlots * paramCount);
    const memory = kernelMemory(align(state + 4 * stateSlots * paramCount), 'the parameters, optimizer state and chunk gradients');
    this.kernel = new UpdateKernel(memory);
    this.at = { params, slots, state, paramCount };
    this.params = new Float32Array(memory.buffer, params, paramCount);
    this.slots = new Float32Array(memory.buffer, slots, chunkSlots * paramCount);
    this.state = new Float32Array(memory.buffer, state, stateSlots * paramCount);
    this.blockSquares = new Float64Array(normBlockCount(paramCount));
  }
}
