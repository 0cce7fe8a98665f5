import type { Targets } from '../data/dataset.js';
import { LockstepError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { Loss, LossResult } from './loss.js';

/** Softmax cross-entropy over integer labels, stable for large logits (log-sum-exp around the row max). */
export const crossEntropy: Loss = {
  name: 'cross-entropy',
  reportsAccuracy: true,
  evaluate(output: Tensor, targets: Targets, batchSize: number, grad: Float32Array | null): LossResult {
    if (targets.kind !== 'classes') {
      throw new LockstepError('E_DATA', 'cross-entropy needs class labels; use the mse loss for value targets');
    }
    const rows = output.shape[0] ?? 0;
    const classes = output.data.length / Math.max(rows, 1);
    const z = output.data;
    let sum = 0;
    let correct = 0;
    for (let r = 0; r < rows; r++) {
      const at = r * classes;
      const label = targets.labels[r];
      if (label < 0 || label >= classes) {
        throw new LockstepError('E_LABEL', `cross-entropy: label ${label} in row ${r} is outside [0, ${classes}); the model has ${classes} outputs`);
      }
      let max = -Infinity;
      let best = 0;
      for (let c = 0; c < classes; c++) {
        if (z[at + c] > max) {
          max = z[at + c];
          best = c;
        }
      }
      let sumExp = 0;
      for (let c = 0; c < classes; c++) sumExp += Math.exp(z[at + c] - max);
      sum += Math.log(sumExp) + max - z[at + label];
      if (best === label) correct++;
      if (grad !== null) {
        for (let c = 0; c < classes; c++) {
          const softmax = Math.exp(z[at + c] - max) / sumExp;
          grad[at + c] = (softmax - (c === label ? 1 : 0)) / batchSize;
        }
      }
    }
    return { sum, correct };
  },
};
