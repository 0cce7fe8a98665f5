import type { Targets } from '../data/dataset.js';
import type { Tensor } from '../tensor.js';

export interface LossResult {
  /** Sum of the per-sample losses (float64), so chunk results add up in a fixed order. */
  readonly sum: number;
  /** Samples whose arg-max output equals the label (0 for regression losses). */
  readonly correct: number;
}

export type LossName = 'cross-entropy' | 'mse';

export interface Loss {
  readonly name: LossName;
  /** Whether `correct` means anything for this loss. */
  readonly reportsAccuracy: boolean;
  /**
   * Scores `output` against `targets` (the same rows). When `grad` is given, writes d(mean loss)/d(output)
   * into it, where the mean runs over `batchSize` samples: the whole optimizer batch, not just these rows.
   */
  evaluate(output: Tensor, targets: Targets, batchSize: number, grad: Float32Array | null): LossResult;
}
