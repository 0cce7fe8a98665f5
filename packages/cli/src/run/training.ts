import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fingerprint, KERNEL_FAMILIES, LockstepError, type Dataset, type ModelSpec } from '@lockstep/core';
import type { Trainer, TrainerFitOptions } from '@lockstep/workers';
import { lrChangeNote, resumedState } from '../config/resume.js';
import type { RunConfig } from '../config/settings.js';
import type { CsvHeader } from '../data/csv.js';
import { UserError } from '../errors.js';
import { learningCurvesHtml, learningCurvesSvg } from '../output/learning-curves.js';
import { plateauNote, type Reporter } from '../output/report.js';
import { abortOnStdoutFailure, describeStdoutFailure } from '../output/stdout.js';
import { BEST_FILE, committedBest, loadBest, settleBest, writeWithBest } from './best-checkpoint.js';
import { encodeCheckpoint, loadCheckpoint, type Checkpoint, type InitialWeights } from './checkpoint.js';
import type { FaultChannel } from './fault-channel.js';
import { folderOf, writeFileAtomic, WriteError } from './files.js';
import { readHistory } from './history.js';
import type { Stop } from './interrupt.js';
import { resumeCommand, type ImportedModules } from './modules.js';
import { numericFailureMessage } from './numeric-advice.js';
import { RankFaults } from './rank-faults.js';
import type { RunRanks } from './ranks.js';
import { runCheckpoint } from './run-checkpoint.js';
import { SavedCheckpoints, type SavedCheckpoint } from './saved-checkpoints.js';

export const CHECKPOINT_FILE = 'checkpoint.lockstep';
const METRICS_FILE = 'metrics.jsonl';

/**
 * Whether a run resumed from `checkpoint` has nothing left to train: early stopping ended it, or it
 * has trained `epochs` already. trainInFolder then only says so, and prints the checkpoint's fingerprint.
 */
export function trainsNothing(checkpoint: Checkpoint, epochs: number): boolean {
  return (checkpoint.state.earlyStopping?.stoppedEpoch ?? 0) > 0 || checkpoint.state.epoch >= epochs;
}

export interface Run {
  /** A trainer at the run's start: its initial parameters, step 0. */
  readonly newTrainer: () => Trainer;
  /** How many times a worker failure restarts the pool from the last checkpoint before the run gives up. */
  readonly retries: number;
  readonly config: RunConfig;
  /** The fields of the schedule that the run's length filled in when it started; saved in every checkpoint. */
  readonly scheduleFromRun: readonly string[];
  readonly spec: ModelSpec;
  readonly data: { train: Dataset; validation: Dataset | null; fingerprint: string; csv?: CsvHeader };
  readonly out: string;
  readonly checkpoint: Checkpoint | null;
  readonly resumedFrom: string | undefined;
  /** Where the run's initial weights came from (--init-from, or the resumed checkpoint's record); saved in every checkpoint. */
  readonly initFrom?: InitialWeights;
  /** The run's modules: where it found them is saved in every checkpoint, and how the user named them is the --modules of its resume commands. */
  readonly modules: ImportedModules;
  /** Aborted by Ctrl-C, SIGTERM or SIGHUP: the run finishes its step, saves and ends with `stop.exitCode`. */
  readonly stop: Stop;
  /** This process's place in the run: rank 0 of a run across ranks, or the run's one process, writes the run folder. */
  readonly ranks: RunRanks;
  /** Across ranks, how a rank that stops mid-run is told to the others (null for one process). */
  readonly channel: FaultChannel | null;
  /** Rank 0: removes the run's files from its folder unless a checkpoint there lets it go on. */
  readonly removeIfUnsaved?: () => void;
}

function isWorkerFailure(error: unknown): error is LockstepError {
  return error instanceof LockstepError && error.code === 'E_WORKER';
}

function resumeAdvice(latest: SavedCheckpoint | null, modules: readonly string[] | undefined): string {
  return latest === null ? 'no checkpoint was saved yet; start the run again' : `resume from step ${latest.step} with: ${resumeCommand(latest.path, modules)}`;
}

/**
 * Across ranks, after a rank stopped: the last checkpoint, and that any number of ranks may resume it.
 * Rank 0 wrote it; another rank knows only that rank 0 was to save one (`latest`), and not whether
 * rank 0 finished writing it before it was lost, so it names no step.
 */
function ranksAdvice(run: Run, latest: SavedCheckpoint | null): string {
  if (latest === null) return 'no checkpoint was saved yet; start the run again';
  const anywhere = 'on any number of ranks (mpirun -np N) or in one process';
  if (!run.ranks.writes) return `rank 0 saved the checkpoints: resume from its last ${anywhere} with: ${resumeCommand(latest.path, run.modules.named)}`;
  return `the last checkpoint (step ${latest.step}) is whole; resume it ${anywhere} with: ${resumeCommand(latest.path, run.modules.named)}`;
}

/** A non-finite step is seen by every rank at once, and each rank stops by itself: no rank waits for another. */
const everyRanks = (error: unknown): boolean => error instanceof LockstepError && error.code === 'E_NUMERIC';

/** Trains in a locked run folder, saving checkpoints, metrics and curves there, and closes the trainer. */
export async function trainInFolder(run: Run, reporter: Reporter): Promise<number> {
  const { config, spec, data, out, checkpoint } = run;
  let trainer = run.newTrainer();
  const { workers, optimizer } = trainer;
  const family = KERNEL_FAMILIES[trainer.kernel];
  const checkpointPath = join(out, CHECKPOINT_FILE);
  const metricsPath = join(out, METRICS_FILE);
  const saved = new SavedCheckpoints(checkpoint === null ? null : { path: run.resumedFrom!, step: checkpoint.state.step, bytes: encodeCheckpoint(checkpoint) });
  const encode = (): Buffer =>
    encodeCheckpoint(
      runCheckpoint(run, { optimizer, kernel: family, params: trainer.params, optimizerState: trainer.state.optimizerState, buffers: trainer.buffers, state: savedState(trainer.state) }),
    );
  // Rank 0 alone writes the checkpoints; every other rank keeps the one rank 0 saved last, to name it if rank 0 is lost.
  let rankZeroSaved: SavedCheckpoint | null = saved.latest;
  const save = (bytes?: Buffer, replacedBest?: Buffer | null): void => {
    if (!run.ranks.writes) {
      rankZeroSaved = { path: checkpointPath, step: trainer.state.step };
      return;
    }
    const written = bytes ?? encode();
    writeFileAtomic(checkpointPath, written);
    saved.record(checkpointPath, trainer.state.step, written, replacedBest);
  };
  const faults =
    run.channel === null
      ? null
      : new RankFaults(run.channel, { world: run.ranks.world!, step: () => trainer.state.step, advice: () => ranksAdvice(run, run.ranks.writes ? saved.latest : rankZeroSaved) });
  run.stop.whenStoppedAtOnce(() => {
    run.removeIfUnsaved?.();
    return `stopped at once; ${resumeAdvice(saved.latest, run.modules.named)}`;
  });
  // Until every rank has trained its last step (or stopped after the same one), a failure of this rank alone leaves the others waiting.
  let training = true;
  const stopBar = (): void => reporter.stopBar();
  run.stop.signal.addEventListener('abort', stopBar);
  const output = abortOnStdoutFailure();
  try {
    if (checkpoint !== null) {
      trainer.load(resumePoint(checkpoint, run.resumedFrom!, run));
      const lrNote = lrChangeNote(checkpoint, config.lr);
      if (lrNote !== null) reporter.info(lrNote);
      if (config.clipNorm !== checkpoint.config.clipNorm) {
        reporter.info(`note: clipNorm changes from ${checkpoint.config.clipNorm ?? 'none'} to ${config.clipNorm ?? 'none'} at step ${checkpoint.state.step}; the run will not match an uninterrupted one`);
      }
    }
    if (checkpoint !== null && checkpoint.kernel !== family) {
      reporter.info(`note: ${run.resumedFrom} was written with the ${checkpoint.kernel} kernels and this lockstep uses ${family}; the resumed run will not match an uninterrupted one bit for bit`);
    }
    const resumedIn = checkpoint === null ? null : folderOf(run.resumedFrom!);
    let history = resumedIn === null ? [] : readHistory(join(resumedIn, METRICS_FILE), trainer.state.epoch);
    const writeHistory = (): void => {
      writeFileAtomic(metricsPath, history.map((m) => JSON.stringify(m)).join('\n') + '\n');
      const title = `lockstep run ${out}`;
      const svg = learningCurvesSvg(history, title);
      writeFileAtomic(join(out, 'curves.svg'), svg);
      writeFileAtomic(join(out, 'curves.html'), learningCurvesHtml(svg, title));
    };
    // Resumed into another folder, the run branches there, and starts with what the checkpoint's folder
    // holds of it up to the checkpoint: the earlier epochs' metrics, so the curves are whole, and the
    // best epoch's checkpoint that early stopping names, which the run's messages and a later resume look for here.
    if (checkpoint !== null && resumedIn !== null && resolve(resumedIn) !== resolve(out) && run.ranks.writes) {
      if (history.length > 0) writeHistory();
      const bestEpoch = checkpoint.state.earlyStopping?.bestEpoch ?? 0;
      const best = bestEpoch > 0 ? loadBest(resumedIn, bestEpoch) : null;
      if (best !== null) writeFileAtomic(join(out, BEST_FILE), encodeCheckpoint(best.checkpoint));
    }
    reporter.info(
      `training ${spec.layers.length} layers (${trainer.params.length} parameters) on ${data.train.size} samples ` +
        `(${data.validation?.size ?? 0} for validation) with ${workers} worker${workers === 1 ? '' : 's'}; run folder ${out}`,
      { out, workers, parameters: trainer.params.length, samples: data.train.size },
    );
    // A run that early stopping ended is over: a new fit would watch afresh and train on.
    const stoppedAt = checkpoint?.state.earlyStopping?.stoppedEpoch ?? 0;
    if (checkpoint !== null) {
      const { step, epoch, batch } = checkpoint.state;
      const fields = { resumedFrom: run.resumedFrom, step, epoch, batch };
      if (stoppedAt > 0) {
        const endedWith = config.earlyStopping?.restoreBestWeights === true ? join(folderOf(run.resumedFrom!), BEST_FILE) : run.resumedFrom;
        reporter.info(
          `note: early stopping ended ${run.resumedFrom} at epoch ${stoppedAt}, so there is nothing to train; to train on from where it ended, ` +
            `lockstep export --checkpoint ${endedWith} --format safetensors --out ended.safetensors, then start a new run with --init-from ended.safetensors`,
          fields,
        );
      } else if (epoch >= config.epochs) reporter.info(`note: ${run.resumedFrom} has trained all ${epoch} epochs, so there is nothing to train; give --epochs above ${epoch} to go on`, fields);
      else reporter.info(`resuming after step ${step} (epoch ${epoch + 1}, batch ${batch}) of ${config.epochs} epochs from ${run.resumedFrom}`, fields);
    }
    const fitOptions = (): TrainerFitOptions => ({
      epochs: config.epochs - trainer.state.epoch,
      batchSize: config.batchSize,
      augment: config.augment,
      validation: data.validation ?? undefined,
      signal: AbortSignal.any([run.stop.signal, output.signal]),
      onStep: (progress) => {
        // Once stopping, the bar stays off the terminal, where the stop's lines are.
        if (!run.stop.signal.aborted) reporter.step(progress);
        // The step that ends an epoch is saved by onEpoch, with the epoch's metrics.
        const every = config.checkpointEvery;
        if (every !== undefined && trainer.state.step % every === 0 && progress.batch < progress.batches) save();
      },
      onEpoch: (metrics) => {
        history.push(metrics);
        reporter.epoch(metrics);
        const lowered = plateauNote(optimizer, metrics, trainer.state.schedule?.lr, config.epochs);
        if (lowered !== null) reporter.info(lowered, { epoch: metrics.epoch, lr: trainer.state.schedule!.lr, previousLr: metrics.lr });
        if (!run.ranks.writes) return save();
        writeHistory();
        const bytes = encode();
        if (trainer.state.earlyStopping?.bestEpoch !== metrics.epoch) return save(bytes);
        // A new best epoch is committed with the checkpoint that names it (best-checkpoint.ts); the best
        // it replaces is kept, to be put back if this checkpoint is (SavedCheckpoints.beforeFailure).
        const replaced = committedBest(out);
        writeWithBest(out, bytes, () => save(bytes, replaced));
      },
      ...(config.earlyStopping === undefined ? {} : { earlyStopping: config.earlyStopping }),
    });
    for (let retry = 1; stoppedAt === 0 && trainer.state.epoch < config.epochs; retry++) {
      let result: { stopped: boolean; stopRequested: boolean };
      try {
        result = await trainer.fit(data.train, fitOptions());
        training = false;
      } catch (error) {
        if (!isWorkerFailure(error) || retry > run.retries) throw error;
        // A new pool from the last checkpoint: resuming is exact, so the run ends with the same bits.
        const lastSaved = saved.latest;
        reporter.info(`note: ${error.message}; restarting the workers from ${lastSaved === null ? 'the start' : `step ${lastSaved.step}`} (retry ${retry} of ${run.retries})`);
        await trainer.close();
        trainer = run.newTrainer();
        if (lastSaved !== null) {
          const last = loadCheckpoint(lastSaved.path);
          if (lastSaved.path === checkpointPath) settleBest(out, last.state.earlyStopping?.bestEpoch);
          trainer.load(resumePoint(last, lastSaved.path, run));
        }
        history = readHistory(metricsPath, trainer.state.epoch);
        continue;
      }
      if (result.stopped) {
        save();
        const { step, epoch, batch } = trainer.state;
        const failure = output.failure();
        const position = `after step ${step} (epoch ${epoch + 1}, batch ${batch}); resume with: ${resumeCommand(checkpointPath, run.modules.named)}`;
        // No one reads the run's output any more: stop with its work saved, as Ctrl-C does, rather than train on unseen.
        if (failure !== null) throw new UserError(`${describeStdoutFailure(failure)}, so training stopped ${position}`);
        reporter.result(`interrupted ${position}`, {
          interrupted: true,
          step,
          checkpoint: checkpointPath,
        });
        return run.stop.exitCode;
      }
      // Early stopping ended the run.
      if (result.stopRequested) break;
    }
    const watch = trainer.state.earlyStopping;
    if (watch !== undefined && config.earlyStopping !== undefined) {
      const { monitor, restoreBestWeights } = config.earlyStopping;
      const best = `best epoch ${watch.bestEpoch}, ${monitor} ${watch.best?.toFixed(4)}`;
      const holds = `${join(out, BEST_FILE)} holds the best epoch's parameters${restoreBestWeights ? ', and the run ends with them' : ''}`;
      const fields = { bestEpoch: watch.bestEpoch, best: watch.best, bestCheckpoint: join(out, BEST_FILE) };
      if (watch.stoppedEpoch > 0) {
        const since = watch.stoppedEpoch - watch.bestEpoch;
        reporter.info(
          `stopped early at epoch ${watch.stoppedEpoch} of ${config.epochs} (${best}; ${monitor} did not improve for ${since} epoch${since === 1 ? '' : 's'}); ${holds}`,
          { stoppedEarly: true, stoppedEpoch: watch.stoppedEpoch, ...fields },
        );
      } else if (restoreBestWeights) {
        // Its parameters are not checkpoint.lockstep's, which keeps the last epoch's to resume from: say whose they are.
        reporter.info(`trained all ${config.epochs} epochs (${best}); ${holds}`, { stoppedEarly: false, ...fields });
      }
    }
    const print = fingerprint(trainer.params, trainer.buffers);
    reporter.result(`fingerprint ${print}`, { fingerprint: print, epochs: trainer.state.epoch, steps: trainer.state.step, out });
    return 0;
  } catch (error) {
    // Across ranks the job ends here, with one line (docs/design.md, "When a rank stops").
    if (faults !== null && training && !everyRanks(error)) await faults.fail(error instanceof Error ? error.message : String(error));
    if (error instanceof WriteError) throw new UserError(`${error.message}; then ${resumeAdvice(saved.latest, run.modules.named)}`);
    if (!(error instanceof LockstepError) || (error.code !== 'E_WORKER' && error.code !== 'E_NUMERIC')) throw error;
    // A numeric failure repeats exactly on an identical resume, so the way on is a lower lr or clipping.
    if (error.code === 'E_NUMERIC') {
      // Every rank met it at the same step and stops by itself; rank 0 says so for the job.
      if (!run.ranks.writes) return 1;
      throw new UserError(numericFailureMessage(error.message, config, run.modules.named, saved.beforeFailure(trainer.state.step, checkpointPath), saved.latest, trainer.state.schedule?.lr));
    }
    // Parameters may be half updated: the checkpoint on disk, not memory, is where the run goes on.
    throw new UserError(`${error.message}; ${resumeAdvice(saved.latest, run.modules.named)}`);
  } finally {
    faults?.dispose();
    output.dispose();
    run.stop.signal.removeEventListener('abort', stopBar);
    await trainer.close();
  }
}

/** What a checkpoint keeps of the training state: the position, and the schedule's and early stopping's state without the best parameters. */
function savedState(state: Trainer['state']): Checkpoint['state'] {
  const { step, epoch, batch, epochLossSum, epochCorrect, schedule, earlyStopping } = state;
  const watch = earlyStopping === undefined ? undefined : (({ best, bestEpoch, wait, stoppedEpoch }) => ({ best, bestEpoch, wait, stoppedEpoch }))(earlyStopping);
  return { step, epoch, batch, epochLossSum, epochCorrect, ...(schedule === undefined ? {} : { schedule: { ...schedule } }), ...(watch === undefined ? {} : { earlyStopping: watch }) };
}

/**
 * The checkpoint to resume from, as `Trainer.load` takes it: at the run's lr (`resumedState`), and
 * with the best epoch's parameters from the run folder's best.lockstep where early stopping restores
 * them: a resumed run then ends as an uninterrupted one. A run that early stopping ended, or that
 * trained all its epochs, holds them as its parameters, as it did when it ended; its checkpoint
 * keeps the last epoch's, which a run given more epochs goes on from.
 */
function resumePoint(checkpoint: Checkpoint, checkpointPath: string, run: Run): Parameters<Trainer['load']>[0] {
  const watch = checkpoint.state.earlyStopping;
  const base = { ...checkpoint, state: { ...resumedState(checkpoint, run.config.lr), optimizerState: checkpoint.optimizerState } };
  if (watch === undefined || watch.bestEpoch === 0 || run.config.earlyStopping?.restoreBestWeights !== true) return base;
  const folder = folderOf(checkpointPath);
  const found = loadBest(folder, watch.bestEpoch);
  if (found === null) {
    const path = join(folder, BEST_FILE);
    if (!existsSync(path)) throw new UserError(`${path} is missing: restoreBestWeights needs the best epoch's parameters (epoch ${watch.bestEpoch}) to resume ${checkpointPath}`);
    throw new UserError(`${path} holds epoch ${loadCheckpoint(path).state.epoch}, but ${checkpointPath} names epoch ${watch.bestEpoch} as the best; resume from the checkpoint written with it`);
  }
  const best = found.checkpoint;
  if (best.params.length !== checkpoint.params.length) {
    throw new UserError(`${found.path} is damaged: it holds ${best.params.length} parameters, where ${checkpointPath} holds ${checkpoint.params.length}; resume from the checkpoint written with it`);
  }
  if (watch.stoppedEpoch > 0 || checkpoint.state.epoch >= run.config.epochs) return { ...base, params: best.params, buffers: best.buffers };
  const bestState = { ...watch, bestParams: best.params, bestBuffers: best.buffers ?? new Float32Array(0) };
  return { ...base, state: { ...base.state, earlyStopping: bestState } };
}
