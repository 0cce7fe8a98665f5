import { checkInteger } from '../errors.js';
import { rowOutcomes, type ClassPredictions } from './predictions.js';

/** Guo et al. 2017 ("On Calibration of Modern Neural Networks") use 15 equal-width bins. */
export const DEFAULT_CALIBRATION_BINS = 15;

/** One bar of a reliability diagram. */
export interface ReliabilityBin {
  /** The bin holds confidences in (lower, upper], with lower = b / bins and upper = (b + 1) / bins; the first bin also holds 0. */
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Fraction of the bin's rows whose most probable class is right; null for an empty bin. */
  readonly accuracy: number | null;
  /** Mean confidence of the bin's rows; null for an empty bin. */
  readonly confidence: number | null;
}

export interface Calibration {
  /** Expected calibration error: sum over bins of (rows in bin / rows) * |accuracy - confidence|. */
  readonly ece: number;
  readonly bins: ReliabilityBin[];
}

/**
 * Expected calibration error and the reliability diagram's bins, with equal-width confidence bins;
 * a row's confidence is its largest probability. Sums run in row order, then bin order.
 */
export function calibration(predictions: ClassPredictions, bins = DEFAULT_CALIBRATION_BINS): Calibration {
  const count = checkInteger('calibration: bins', bins, 1, 100_000);
  const { rows, confidence, correct } = rowOutcomes('calibration', predictions);
  const members = new Float64Array(count);
  const hits = new Float64Array(count);
  const confidenceSums = new Float64Array(count);
  for (let r = 0; r < rows; r++) {
    const b = binOf(confidence[r], count);
    members[b]++;
    hits[b] += correct[r];
    confidenceSums[b] += confidence[r];
  }
  let ece = 0;
  const reliability: ReliabilityBin[] = [];
  for (let b = 0; b < count; b++) {
    const empty = members[b] === 0;
    const accuracy = empty ? null : hits[b] / members[b];
    const meanConfidence = empty ? null : confidenceSums[b] / members[b];
    if (!empty) ece += (members[b] / rows) * Math.abs(accuracy! - meanConfidence!);
    reliability.push({ lower: b / count, upper: (b + 1) / count, count: members[b], accuracy, confidence: meanConfidence });
  }
  return { ece, bins: reliability };
}

/** The bin b with b / bins < confidence <= (b + 1) / bins, comparing against exactly the bounds the bins report. */
function binOf(confidence: number, bins: number): number {
  let b = Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1));
  while (b > 0 && confidence <= b / bins) b--;
  while (b < bins - 1 && confidence > (b + 1) / bins) b++;
  return b;
}
