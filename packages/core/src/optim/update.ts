import type { OptimizerConfig } from './optimizer.js';
import { stateSlots } from './optimizer.js';
import { UpdateWorkspace } from './update-workspace.js';

/** The flat buffers one update touches; `state` holds the config's slots of `params.length` values each. */
export interface UpdateBuffers {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly state: Float32Array;
}

/**
 * Applies optimizer step `t` (1-based) with learning rate `lr` to parameters [from, to) of plain
 * arrays, following PyTorch's float32 update rules: the trainers' update kernel, run on copies.
 */
export function applyUpdate(config: OptimizerConfig, buffers: UpdateBuffers, t: number, lr: number, from = 0, to = buffers.params.length): void {
  const scratch = UpdateWorkspace.scratch(buffers.params.length, stateSlots(config), 1);
  scratch.params.set(buffers.params);
  scratch.slots.set(buffers.grads);
  scratch.state.set(buffers.state);
  scratch.kernel.update(config, scratch.at, t, lr, 1, from, to);
  buffers.params.set(scratch.params);
  buffers.state.set(scratch.state.subarray(0, buffers.state.length));
}
