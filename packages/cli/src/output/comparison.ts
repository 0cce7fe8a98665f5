import type { EpochMetrics, Evaluation } from '@lockstep/core';
import { shownLr } from './report.js';

/** One epoch of one variant: train's metrics (running loss and accuracy with dropout on, validation) and more. */
export interface VariantEpoch extends EpochMetrics {
  readonly valLoss: number;
  readonly valAccuracy: number;
  /** Loss and accuracy on the training probe in eval mode (dropout off), measured after the epoch. */
  readonly trainEvalLoss: number;
  readonly trainEvalAccuracy: number;
}

/** The training of one variant (a dropout rate, or a config file), as far as it went. */
export interface VariantRun {
  /** How lines, the legend and the table name it: "dropout 0.2", or a config file's name. */
  readonly name: string;
  /** The dropout rate, in a comparison of rates. */
  readonly rate?: number;
  /** Its folder inside the run folder. */
  readonly folder: string;
  readonly initialFingerprint: string;
  /** Set when every epoch is done. */
  finalFingerprint: string | null;
  readonly epochs: VariantEpoch[];
  seconds: number;
}

const signed = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(4)}`;

/** A classifier's epoch with a validation split, and its training probe measured in eval mode. */
export function variantEpoch(metrics: EpochMetrics, onProbe: Evaluation): VariantEpoch {
  if (metrics.valLoss === null || metrics.valAccuracy === null || onProbe.accuracy === null) {
    throw new Error('compare measures classifiers with a validation split, and got no accuracy or no validation');
  }
  return { ...metrics, valLoss: metrics.valLoss, valAccuracy: metrics.valAccuracy, trainEvalLoss: onProbe.loss, trainEvalAccuracy: onProbe.accuracy };
}

/** One variant's epoch line; `showsLr` with a schedule, which changes the rate. */
export function epochLine(name: string, epoch: VariantEpoch, epochs: number, showsLr: boolean): string {
  return (
    `${name} | epoch ${epoch.epoch}/${epochs} | train_loss ${epoch.trainEvalLoss.toFixed(4)} train_acc ${epoch.trainEvalAccuracy.toFixed(4)} | ` +
    `val_loss ${epoch.valLoss.toFixed(4)} val_acc ${epoch.valAccuracy.toFixed(4)} | gap ${signed(epoch.trainEvalAccuracy - epoch.valAccuracy)} | ` +
    (showsLr ? `lr ${shownLr(epoch.lr)} | ` : '') +
    `${Math.round(epoch.samplesPerSecond)} samples/s | ${epoch.seconds.toFixed(1)} s`
  );
}

export interface VariantSummary {
  readonly name: string;
  readonly rate?: number;
  readonly bestValAccuracy: number;
  /** The first epoch that reached `bestValAccuracy`. */
  readonly bestEpoch: number;
  readonly finalTrainAccuracy: number;
  readonly finalValAccuracy: number;
  /** finalTrainAccuracy - finalValAccuracy: how much better the model does on the samples it learned from. */
  readonly gap: number;
}

export function summarize(run: VariantRun): VariantSummary {
  let best = run.epochs[0];
  for (const epoch of run.epochs) if (epoch.valAccuracy > best.valAccuracy) best = epoch;
  const last = run.epochs[run.epochs.length - 1];
  return {
    name: run.name,
    ...(run.rate === undefined ? {} : { rate: run.rate }),
    bestValAccuracy: best.valAccuracy,
    bestEpoch: best.epoch,
    finalTrainAccuracy: last.trainEvalAccuracy,
    finalValAccuracy: last.valAccuracy,
    gap: last.trainEvalAccuracy - last.valAccuracy,
  };
}

/** The summaries as an aligned text table, one row per variant: its rate under "dropout", or its name under "config". */
export function summaryTable(rows: readonly VariantSummary[]): string {
  const byRate = rows.every((row) => row.rate !== undefined);
  const header = [byRate ? 'dropout' : 'config', 'best val acc (epoch)', 'final train acc', 'final val acc', 'gap (train - val)'];
  const cells = rows.map((row) => [
    byRate ? String(row.rate) : row.name,
    `${row.bestValAccuracy.toFixed(4)} (${row.bestEpoch})`,
    row.finalTrainAccuracy.toFixed(4),
    row.finalValAccuracy.toFixed(4),
    signed(row.gap),
  ]);
  const widths = header.map((title, c) => Math.max(title.length, ...cells.map((row) => row[c].length)));
  const line = (row: readonly string[]): string => row.map((cell, c) => cell.padEnd(widths[c])).join(' | ').trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-+-'), ...cells.map(line)].join('\n');
}
