import { checkInteger, describeValue, LockstepError } from '../errors.js';

/** Class probabilities of some rows and their true classes, as calibration metrics take them. */
export interface ClassPredictions {
  /** rows x classes, row-major: each row's class probabilities. */
  readonly probabilities: ArrayLike<number>;
  readonly classes: number;
  /** The true class of each row. */
  readonly labels: ArrayLike<number>;
}

/** Per row: the confidence (the largest probability) and whether that class (the first, on a tie) is the label. */
export interface RowOutcomes {
  readonly rows: number;
  readonly confidence: Float64Array;
  readonly correct: Uint8Array;
}

/** Checks `predictions` and reduces each row to its confidence and correctness; `where` names the caller in errors. */
export function rowOutcomes(where: string, predictions: ClassPredictions): RowOutcomes {
  const { probabilities, labels } = predictions;
  const classes = checkInteger(`${where}: classes`, predictions.classes, 1);
  const rows = labels.length;
  if (rows === 0) throw new LockstepError('E_DATA', `${where}: no rows; give at least one row of probabilities and its label`);
  if (probabilities.length !== rows * classes) {
    throw new LockstepError(
      'E_SHAPE',
      `${where}: ${probabilities.length} probabilities for ${rows} labels of ${classes} classes; give one row of ${classes} probabilities per label`,
    );
  }
  const confidence = new Float64Array(rows);
  const correct = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new LockstepError('E_LABEL', `${where}: label ${describeValue(label)} of row ${r} is outside [0, ${classes})`);
    }
    let best = r * classes;
    for (let i = r * classes; i < (r + 1) * classes; i++) {
      if (!Number.isFinite(probabilities[i])) {
        throw new LockstepError('E_DATA', `${where}: probabilities[${i}] is ${describeValue(probabilities[i])}; every probability must be a finite number`);
      }
      if (probabilities[i] > probabilities[best]) best = i;
    }
    confidence[r] = probabilities[best];
    correct[r] = best - r * classes === label ? 1 : 0;
  }
  return { rows, confidence, correct };
}
