import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  accuracyAtCoverage,
  calibration,
  coverageCurve,
  DEFAULT_CALIBRATION_BINS,
  rowEntropies,
  type ClassPredictions,
  type CoveragePoint,
  type ReliabilityBin,
  type Uncertainty,
} from '@lockstep/core';
import { coverageSvg, reliabilitySvg } from './calibration-plot.js';
import { UserError } from '../errors.js';
import { REPLACE_ADVICE, writeFileAtomic } from '../run/files.js';

/** The coverages `lockstep eval --mc-samples` reports accuracy at. */
export const REPORTED_COVERAGES = [1, 0.9, 0.5] as const;

/** How well one way of predicting knows what it knows. */
export interface MethodCalibration {
  /** Expected calibration error over `bins` equal-width confidence bins. */
  readonly ece: number;
  /** Mean predictive entropy (nats). */
  readonly meanEntropy: number;
  /** Accuracy on the surest 100%, 90% and 50% of rows, sorted by predictive entropy. */
  readonly coverage: Array<{ coverage: number; accuracy: number }>;
  readonly reliability: ReliabilityBin[];
  readonly curve: CoveragePoint[];
}

export interface CalibrationReport {
  readonly set: string;
  readonly samples: number;
  readonly bins: number;
  readonly mcSamples: number;
  readonly seed: number;
  /** Softmax of the eval-mode outputs (dropout off). */
  readonly eval: MethodCalibration;
  /** Monte Carlo dropout's mean probabilities. */
  readonly mc: MethodCalibration & { readonly meanMutualInformation: number };
}

export const CALIBRATION_FILES = ['reliability.svg', 'coverage.svg', 'calibration.json'] as const;

function mean(values: Float64Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

function methodCalibration(predictions: ClassPredictions, entropy: Float64Array): MethodCalibration {
  const { ece, bins } = calibration(predictions, DEFAULT_CALIBRATION_BINS);
  return {
    ece,
    meanEntropy: mean(entropy),
    coverage: REPORTED_COVERAGES.map((coverage) => ({ coverage, accuracy: accuracyAtCoverage(predictions, entropy, coverage) })),
    reliability: bins,
    curve: coverageCurve(predictions, entropy),
  };
}

/** Calibration of eval mode (`probabilities`: softmax of the eval-mode outputs) against Monte Carlo dropout (`mc`). */
export function calibrationReport(
  run: { set: string; labels: Int32Array; mcSamples: number; seed: number },
  probabilities: Float64Array,
  mc: Uncertainty,
): CalibrationReport {
  const classes = mc.classes;
  return {
    set: run.set,
    samples: run.labels.length,
    bins: DEFAULT_CALIBRATION_BINS,
    mcSamples: run.mcSamples,
    seed: run.seed,
    eval: methodCalibration({ probabilities, classes, labels: run.labels }, rowEntropies(probabilities, classes)),
    mc: {
      ...methodCalibration({ probabilities: mc.mean, classes, labels: run.labels }, mc.entropy),
      meanMutualInformation: mean(mc.mutualInformation),
    },
  };
}

/**
 * Refuses `folder` where it holds a calibration file, unless `overwrite`: the file may be another
 * report's or the user's own. In `runFolder`, the checkpoint's, they are the run's files, which each
 * eval of it writes afresh.
 */
export function checkCalibrationFolder(folder: string, runFolder: string, overwrite: boolean): void {
  if (overwrite || resolve(folder) === resolve(runFolder)) return;
  const held = CALIBRATION_FILES.find((name) => existsSync(join(folder, name)));
  if (held !== undefined) throw new UserError(`${folder} already holds ${held}; ${REPLACE_ADVICE}`);
}

/** Writes reliability.svg, coverage.svg and calibration.json into the existing `folder`, each atomically. */
export function writeCalibrationFiles(folder: string, report: CalibrationReport): void {
  const passes = `MC dropout (${report.mcSamples} passes)`;
  const evalName = 'eval mode';
  writeFileAtomic(
    join(folder, 'reliability.svg'),
    reliabilitySvg(
      [
        { name: evalName, color: '#e8702a', values: report.eval.reliability },
        { name: passes, color: '#2f6fdf', values: report.mc.reliability },
      ],
      `reliability on the ${report.set} (${report.samples} samples, ${report.bins} bins)`,
      `expected calibration error: ${evalName} ${report.eval.ece.toFixed(4)}, ${passes} ${report.mc.ece.toFixed(4)}`,
    ),
  );
  writeFileAtomic(
    join(folder, 'coverage.svg'),
    coverageSvg(
      [
        { name: evalName, color: '#e8702a', values: report.eval.curve },
        { name: passes, color: '#2f6fdf', values: report.mc.curve },
      ],
      `accuracy against coverage on the ${report.set} (${report.samples} samples)`,
    ),
  );
  writeFileAtomic(join(folder, 'calibration.json'), `${JSON.stringify(report, null, 2)}\n`);
}

/** The report as a few lines of text, numbers to 4 decimals. */
export function calibrationLines(report: CalibrationReport): string[] {
  const percent = (coverage: number): string => `${Math.round(coverage * 100)}%`.padStart(8);
  const row = (name: string, method: MethodCalibration): string => `${name.padEnd(12)}${method.coverage.map((p) => p.accuracy.toFixed(4).padStart(8)).join('')}`;
  return [
    `calibration over ${report.bins} confidence bins: ECE eval mode ${report.eval.ece.toFixed(4)}, MC dropout ${report.mc.ece.toFixed(4)} (${report.mcSamples} passes, seed ${report.seed})`,
    `accuracy of the surest rows by predictive entropy, at coverage`,
    `${''.padEnd(12)}${REPORTED_COVERAGES.map(percent).join('')}`,
    row('eval mode', report.eval),
    row('MC dropout', report.mc),
    `MC dropout: mean predictive entropy ${report.mc.meanEntropy.toFixed(4)} (eval mode ${report.eval.meanEntropy.toFixed(4)}), mean mutual information ${report.mc.meanMutualInformation.toFixed(4)}`,
  ];
}
