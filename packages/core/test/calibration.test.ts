import { describe, expect, it } from 'vitest';
import { accuracyAtCoverage, calibration, coverageCurve, LockstepError, type ClassPredictions } from '@lockstep/core';

function predictions(rows: number[][], labels: number[]): ClassPredictions {
  return { probabilities: rows.flat(), classes: rows[0]!.length, labels };
}

describe('expected calibration error and reliability bins', () => {
  it('2 bins: (0.5 wrong) alone in (0, 0.5], four rows of mean confidence 0.75 with 3 right in (0.5, 1]: ECE = 1/5 * 0.5', () => {
    // Row 2 is a tie, predicted as the first class, so it is wrong.
    const rows = [[0.75, 0.25], [0.25, 0.75], [0.5, 0.5], [0.625, 0.375], [0.125, 0.875]];
    const result = calibration(predictions(rows, [0, 0, 1, 0, 1]), 2);
    expect(result.bins).toEqual([
      { lower: 0, upper: 0.5, count: 1, accuracy: 0, confidence: 0.5 },
      { lower: 0.5, upper: 1, count: 4, accuracy: 0.75, confidence: 0.75 },
    ]);
    expect(result.ece).toBe(0.1);
  });

  it('4 bins, 3 classes: ECE = 2/4 * 0.4375 + 1/4 * 0.25 + 1/4 * 0 = 0.28125, and an empty bin reports null', () => {
    const rows = [[0.5, 0.25, 0.25], [0.375, 0.375, 0.25], [1, 0, 0], [0.25, 0.75, 0]];
    const result = calibration(predictions(rows, [2, 1, 0, 1]), 4);
    expect(result.bins).toEqual([
      { lower: 0, upper: 0.25, count: 0, accuracy: null, confidence: null },
      { lower: 0.25, upper: 0.5, count: 2, accuracy: 0, confidence: 0.4375 },
      { lower: 0.5, upper: 0.75, count: 1, accuracy: 1, confidence: 0.75 },
      { lower: 0.75, upper: 1, count: 1, accuracy: 1, confidence: 1 },
    ]);
    expect(result.ece).toBe(0.28125);
  });

  it('15 bins by default; a confidence equal to a bound goes to the bin below it, as in (lower, upper]', () => {
    const rows = [[0.6, 0.4], [0.6000000000000001, 0.4], [1 / 15, 0.9], [1, 0]];
    const { bins } = calibration(predictions(rows, [0, 0, 1, 0]));
    expect(bins).toHaveLength(15);
    expect(bins[8]).toMatchObject({ upper: 0.6, count: 1 });
    expect(bins[9]).toMatchObject({ lower: 0.6, count: 1 });
    expect(bins[13]).toMatchObject({ count: 1, confidence: 0.9 });
    expect(bins[14]).toMatchObject({ upper: 1, count: 1, accuracy: 1 });
    expect(bins.reduce((sum, b) => sum + b.count, 0)).toBe(4);
  });

  it('perfectly calibrated rows have an ECE of 0', () => {
    const rows = [[0.5, 0.5], [0.5, 0.5], [1, 0], [0, 1]];
    expect(calibration(predictions(rows, [0, 1, 0, 1]), 10).ece).toBe(0);
  });
});

describe('accuracy against coverage', () => {
  // Uncertainty and correctness of 10 rows. Sorted by uncertainty, ties by row index, the rows go
  // 1, 3, 5, 0, 7, 2, 8, 6, 9, 4 and are right, wrong, right, right, right, wrong, wrong, right, wrong, wrong.
  const uncertainty = [0.3, 0.1, 0.5, 0.1, 0.9, 0.2, 0.7, 0.4, 0.6, 0.8];
  const correct = [1, 1, 0, 0, 0, 1, 1, 1, 0, 0];
  const rows = predictions(correct.map(() => [0.9, 0.1]), correct.map((c) => 1 - c));

  it.each([
    [1, 0.5],
    [0.9, 5 / 9],
    [0.5, 0.8],
    [0.2, 0.5],
    [0.1, 1],
    [0.01, 1],
  ])('at coverage %s the accuracy is %s', (coverage, accuracy) => {
    expect(accuracyAtCoverage(rows, uncertainty, coverage)).toBe(accuracy);
  });

  it('the curve has the points 1%..100%, rounds the row count (halves up, at least 1) and agrees with accuracyAtCoverage', () => {
    const curve = coverageCurve(rows, uncertainty);
    expect(curve).toHaveLength(100);
    expect(curve[0]).toEqual({ coverage: 0.01, rows: 1, accuracy: 1 });
    expect(curve[14]).toEqual({ coverage: 0.15, rows: 2, accuracy: 0.5 });
    expect(curve[49]).toEqual({ coverage: 0.5, rows: 5, accuracy: 0.8 });
    expect(curve[99]).toEqual({ coverage: 1, rows: 10, accuracy: 0.5 });
    for (const point of curve) expect(accuracyAtCoverage(rows, uncertainty, point.coverage)).toBe(point.accuracy);
  });
});

describe('bad input is one line naming the problem', () => {
  const good = predictions([[0.75, 0.25], [0.5, 0.5]], [0, 1]);
  it.each([
    [() => calibration(good, 0), 'E_OPTION', 'calibration: bins must be an integer in [1, 100000], got 0'],
    [() => calibration({ ...good, probabilities: [0.5, 0.5, 1, 0, 0] }, 15), 'E_SHAPE', 'calibration: 5 probabilities for 2 labels of 2 classes; give one row of 2 probabilities per label'],
    [() => calibration({ ...good, labels: [0, 2] }), 'E_LABEL', 'calibration: label 2 of row 1 is outside [0, 2)'],
    [() => calibration({ ...good, probabilities: [0.5, NaN, 1, 0] }), 'E_DATA', 'calibration: probabilities[1] is NaN; every probability must be a finite number'],
    [() => calibration({ probabilities: [], classes: 2, labels: [] }), 'E_DATA', 'calibration: no rows; give at least one row of probabilities and its label'],
    [() => coverageCurve(good, [0.1, 0.2, 0.3]), 'E_SHAPE', 'coverageCurve: 3 uncertainty values for 2 rows; give one per row'],
    [() => coverageCurve(good, [0.1, Infinity]), 'E_DATA', 'coverageCurve: uncertainty[1] is Infinity; every value must be a finite number'],
    [() => accuracyAtCoverage(good, [0.1, 0.2], 0), 'E_OPTION', 'accuracyAtCoverage: coverage must be a number in (0, 1], got 0'],
    [() => accuracyAtCoverage(good, [0.1, 0.2], 1.5), 'E_OPTION', 'accuracyAtCoverage: coverage must be a number in (0, 1], got 1.5'],
    [() => accuracyAtCoverage(good, [0.1, 0.2], -0.5), 'E_OPTION', 'accuracyAtCoverage: coverage must be a number in (0, 1], got -0.5'],
    [() => accuracyAtCoverage(good, [0.1, 0.2], NaN), 'E_OPTION', 'accuracyAtCoverage: coverage must be a number in (0, 1], got NaN'],
  ])('%#: %s', (call, code, message) => {
    let thrown: unknown;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LockstepError);
    expect((thrown as LockstepError).code).toBe(code);
    expect((thrown as LockstepError).message).toBe(message);
  });
});
