import { describeValue, LockstepError } from '../errors.js';
import { rowOutcomes, type ClassPredictions } from './predictions.js';

/** Selective prediction: answer only the rows the model is surest about. */
export interface CoveragePoint {
  /** The fraction of rows answered. */
  readonly coverage: number;
  /** How many rows that is: round(coverage * rows), at least 1 (halves round up). */
  readonly rows: number;
  /** Accuracy on those rows. */
  readonly accuracy: number;
}

/**
 * Accuracy against coverage for c = 1%, 2%, ..., 100%: rows are sorted by `uncertainty` (the
 * predictive entropy, say) ascending, ties by row index, and the first round(c * rows) are answered.
 */
export function coverageCurve(predictions: ClassPredictions, uncertainty: ArrayLike<number>): CoveragePoint[] {
  const hits = hitsBySurety('coverageCurve', predictions, uncertainty);
  return Array.from({ length: 100 }, (_, i) => pointAt((i + 1) / 100, hits));
}

/** Accuracy on the `coverage` fraction of rows with the lowest `uncertainty`, as in `coverageCurve`. */
export function accuracyAtCoverage(predictions: ClassPredictions, uncertainty: ArrayLike<number>, coverage: number): number {
  if (typeof coverage !== 'number' || !(coverage > 0 && coverage <= 1)) {
    throw new LockstepError('E_OPTION', `accuracyAtCoverage: coverage must be a number in (0, 1], got ${describeValue(coverage)}`);
  }
  return pointAt(coverage, hitsBySurety('accuracyAtCoverage', predictions, uncertainty)).accuracy;
}

function pointAt(coverage: number, hits: Float64Array): CoveragePoint {
  const total = hits.length - 1;
  const rows = Math.max(1, Math.round(coverage * total));
  return { coverage, rows, accuracy: hits[rows] / rows };
}

/** hits[k]: correct rows among the k surest (hits[0] = 0). */
function hitsBySurety(where: string, predictions: ClassPredictions, uncertainty: ArrayLike<number>): Float64Array {
  const { rows, correct } = rowOutcomes(where, predictions);
  if (uncertainty.length !== rows) {
    throw new LockstepError('E_SHAPE', `${where}: ${uncertainty.length} uncertainty values for ${rows} rows; give one per row`);
  }
  for (let r = 0; r < rows; r++) {
    if (!Number.isFinite(uncertainty[r])) {
      throw new LockstepError('E_DATA', `${where}: uncertainty[${r}] is ${describeValue(uncertainty[r])}; every value must be a finite number`);
    }
  }
  const order = Array.from({ length: rows }, (_, r) => r).sort((a, b) => uncertainty[a] - uncertainty[b] || a - b);
  const hits = new Float64Array(rows + 1);
  order.forEach((row, k) => (hits[k + 1] = hits[k] + correct[row]));
  return hits;
}
