import cliProgress from 'cli-progress';
import type { EpochMetrics, OptimizerConfig } from '@lockstep/core';
import type { StepProgress } from '@lockstep/workers';

export type OutputMode = 'tty' | 'plain' | 'json' | 'quiet' | 'quiet-json' | 'silent';

/** A learning rate as the epoch lines show it: 4 significant digits, enough to see a schedule move. */
export const shownLr = (lr: number): string => String(Number(lr.toPrecision(4)));

/**
 * The line that says reduce-on-plateau lowered the rate after `metrics`' epoch, as Keras prints
 * "ReduceLROnPlateau reducing learning rate to ..."; null when it did not. `lrAfter` is the rate the
 * schedule holds now, which the next epoch trains with.
 */
export function plateauNote(optimizer: OptimizerConfig, metrics: EpochMetrics, lrAfter: number | undefined, totalEpochs: number): string | null {
  const { schedule } = optimizer;
  if (schedule.kind !== 'plateau' || lrAfter === undefined || lrAfter >= metrics.lr) return null;
  // It lowers the rate once `patience` + 1 epochs in a row did not improve.
  const epochs = schedule.patience + 1;
  return (
    `epoch ${metrics.epoch}/${totalEpochs}: ${schedule.monitor} did not improve for ${epochs} epoch${epochs === 1 ? '' : 's'}, ` +
    `so the plateau schedule lowers lr from ${shownLr(metrics.lr)} to ${shownLr(lrAfter)}`
  );
}

/**
 * What a run prints: a progress bar per epoch in a terminal, one plain line per epoch elsewhere,
 * one JSON object per line with --json, and only the result with --quiet (with --json too: only
 * the result's JSON object). A rank other than rank 0 is silent: rank 0 speaks for the job.
 */
export class Reporter {
  private bar: cliProgress.SingleBar | null = null;

  private readonly label: string;
  private readonly showsLr: boolean;

  constructor(
    private readonly mode: OutputMode,
    private readonly totalEpochs: number,
    options: {
      /** Printed before "epoch" on the progress bar, e.g. "dropout 0.2 | ". */
      label?: string;
      /** Whether the epoch lines show the learning rate: with a schedule, which changes it. */
      showsLr?: boolean;
    } = {},
  ) {
    this.label = options.label ?? '';
    this.showsLr = options.showsLr ?? false;
  }

  static choose(options: { json?: boolean; quiet?: boolean }): OutputMode {
    if (options.json) return options.quiet ? 'quiet-json' : 'json';
    if (options.quiet) return 'quiet';
    return process.stderr.isTTY ? 'tty' : 'plain';
  }

  /** Whether notes and progress are printed: not with --quiet, nor on a silent rank. */
  private get showsProgress(): boolean {
    return this.mode !== 'silent' && this.mode !== 'quiet' && this.mode !== 'quiet-json';
  }

  info(text: string, fields: Record<string, unknown> = {}): void {
    if (!this.showsProgress) return;
    if (this.mode === 'json') this.json({ event: 'info', message: text, ...fields });
    else console.log(text);
  }

  step(progress: StepProgress): void {
    if (this.mode !== 'tty') return;
    if (this.bar === null) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${this.label}epoch ${progress.epoch}/${this.totalEpochs} [{bar}] {value}/{total} batches | loss {loss} | {speed} samples/s | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(progress.batches, progress.batch - 1, { loss: '-', speed: '-' });
    }
    const speed = progress.seconds > 0 ? Math.round(progress.samples / progress.seconds) : 0;
    this.bar.update(progress.batch, { loss: progress.loss.toFixed(4), speed });
  }

  epoch(metrics: EpochMetrics): void {
    this.stopBar();
    if (!this.showsProgress) return;
    if (this.mode === 'json') {
      this.json({ event: 'epoch', ...metrics });
    } else {
      const accuracy = metrics.accuracy === null ? '' : ` acc ${metrics.accuracy.toFixed(4)}`;
      const validation =
        metrics.valLoss === null ? '' : ` | val_loss ${metrics.valLoss.toFixed(4)}${metrics.valAccuracy === null ? '' : ` val_acc ${metrics.valAccuracy.toFixed(4)}`}`;
      const lr = this.showsLr ? ` | lr ${shownLr(metrics.lr)}` : '';
      console.log(
        `epoch ${metrics.epoch}/${this.totalEpochs} | loss ${metrics.loss.toFixed(4)}${accuracy}${validation}${lr} | ` +
          `${Math.round(metrics.samplesPerSecond)} samples/s | ${metrics.seconds.toFixed(1)} s`,
      );
    }
  }

  /** A progress line of another shape than train's epoch line: `text`, or `fields` as `event` with --json. */
  progress(event: string, text: string, fields: Record<string, unknown>): void {
    this.stopBar();
    if (!this.showsProgress) return;
    if (this.mode === 'json') this.json({ event, ...fields });
    else console.log(text);
  }

  /** The run's result: printed in every mode but silent, as JSON with --json. */
  result(text: string, fields: Record<string, unknown>): void {
    this.stopBar();
    if (this.mode === 'silent') return;
    if (this.mode === 'json' || this.mode === 'quiet-json') this.json({ event: 'result', ...fields });
    else console.log(text);
  }

  stopBar(): void {
    this.bar?.stop();
    this.bar = null;
  }

  private json(value: Record<string, unknown>): void {
    console.log(JSON.stringify(value));
  }
}
