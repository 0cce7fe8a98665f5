import type { Targets } from '../data/dataset.js';
import { LockstepError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { Loss, LossResult } from './loss.js';

/** Mean squared error, averaged over every output element as in PyTorch's `reduction='mean'`. */
export const meanSquaredError: Loss = {
  name: 'mse',
  reportsAccuracy: false,
  evaluate(output: Tensor, targets: Targets, batchSize: number, grad: Float32Array | null): LossResult {
    if (targets.kind !== 'values') {
      throw new LockstepError('E_DATA', 'mse needs value targets; use the cross-entropy loss for class labels');
    }
    const rows = output.shape[0] ?? 0;
    const width = targets.width;
    if (output.data.length !== rows * width) {
      throw new LockstepError('E_SHAPE', `mse: the model gives ${output.data.length / Math.max(rows, 1)} outputs per sample but targets have ${width}`);
    }
    let sum = 0;
    for (let i = 0; i < output.data.length; i++) {
      const diff = output.data[i] - targets.values[i];
      sum += diff * diff;
      if (grad !== null) grad[i] = (2 * diff) / (batchSize * width);
    }
    return { sum: sum / width, correct: 0 };
  },
};
