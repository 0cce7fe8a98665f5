import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Trainer, type TrainerFitOptions } from '@lockstep/workers';
import { KERNEL_FAMILIES, LockstepError, type Dataset, type EpochMetrics, type ModelSpec } from '@lockstep/core';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../run/checkpoint.js';
import { checkConfig, DEFAULT_CONFIG, defaultWorkers, readConfigFile, type RunConfig } from '../config/run-config.js';
import { UserError } from '../errors.js';
import { folderOf, makeFolder, removeStrayTemporaries, writeFileAtomic } from '../run/files.js';
import { integerFlag } from '../config/flags.js';
import { fingerprint } from '../output/fingerprint.js';
import { abortOnCtrlC, EXIT_INTERRUPTED } from '../run/interrupt.js';
import { importModules } from '../run/modules.js';
import { learningCurvesHtml, learningCurvesSvg } from '../output/learning-curves.js';
import { Reporter } from '../output/report.js';
import { lockRunFolder } from '../run/run-lock.js';
import { defaultOutFolder, flagConfig, optimizerOf, runData, runModel, type ConfigFlags } from '../run/setup.js';

export interface TrainFlags extends ConfigFlags {
  config?: string;
  workers?: string;
  out?: string;
  resume?: string;
  workerHeap?: string;
  retries?: string;
  json?: boolean;
  quiet?: boolean;
}

export const CHECKPOINT_FILE = 'checkpoint.lockstep';

/**
 * On --resume the checkpoint fixes everything that decides the numbers, except what a diverging run
 * needs to go on: the learning rate and gradient clipping (then the run no longer matches an
 * uninterrupted one, and the caller says so). The length of the run may grow, and how often it saves
 * may change.
 */
function resumedConfig(checkpoint: Checkpoint, path: string, fromFlags: Partial<RunConfig>, fromFile: Partial<RunConfig>): RunConfig {
  const { epochs, checkpointEvery, lr, clipNorm, ...rest } = { ...fromFile, ...fromFlags };
  for (const [key, value] of Object.entries(rest)) {
    if (JSON.stringify(value) !== JSON.stringify(checkpoint.config[key as keyof RunConfig])) {
      throw new UserError(`${key} cannot change when resuming: ${path} was trained with ${key} ${JSON.stringify(checkpoint.config[key as keyof RunConfig])}`);
    }
  }
  const every = checkpointEvery ?? checkpoint.config.checkpointEvery;
  const clip = clipNorm ?? checkpoint.config.clipNorm;
  return {
    ...checkpoint.config,
    ...rest,
    epochs: epochs ?? checkpoint.config.epochs,
    lr: lr ?? checkpoint.config.lr,
    ...(every === undefined ? {} : { checkpointEvery: every }),
    ...(clip === undefined ? {} : { clipNorm: clip }),
  };
}

function readHistory(path: string, upToEpoch: number): EpochMetrics[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        const metrics = JSON.parse(line) as EpochMetrics;
        return typeof metrics.epoch === 'number' && metrics.epoch <= upToEpoch ? [metrics] : [];
      } catch {
        return [];
      }
    });
}

export async function trainCommand(flags: TrainFlags): Promise<number> {
  const workers = integerFlag('--workers', flags.workers, 1, 1024) ?? defaultWorkers();
  const workerHeap = integerFlag('--worker-heap', flags.workerHeap, 16);
  const retries = integerFlag('--retries', flags.retries, 0, 100) ?? 0;
  const fromFlags = flagConfig(flags);
  const fromFile = flags.config === undefined ? {} : readConfigFile(flags.config);
  const checkpoint = flags.resume === undefined ? null : loadCheckpoint(flags.resume);
  const config =
    checkpoint === null
      ? checkConfig({ ...DEFAULT_CONFIG, ...fromFile, ...fromFlags }, flags.config ?? 'config')
      : resumedConfig(checkpoint, flags.resume!, fromFlags, fromFile);
  const setup = await importModules(config.modules);
  const data = runData(config);
  const spec = runModel(config, data.train, checkpoint, flags.resume);
  const out = flags.out ?? (flags.resume === undefined ? defaultOutFolder() : folderOf(flags.resume));
  makeFolder(out);
  const reporter = new Reporter(Reporter.choose(flags), config.epochs);
  const lock = lockRunFolder(out);
  process.once('exit', lock.release);
  try {
    if (lock.tookOver !== null) {
      reporter.info(`note: took over the lock of ${out} from a run that is no longer running${lock.tookOver.pid === null ? '' : ` (pid ${lock.tookOver.pid})`}`);
    }
    removeStrayTemporaries(out);
    writeFileAtomic(join(out, 'config.json'), `${JSON.stringify({ ...config, model: spec, workers }, null, 2)}\n`);
    const optimizer = optimizerOf(config);
    const resourceLimits = workerHeap === undefined ? undefined : { maxOldGenerationSizeMb: workerHeap };
    const kernel = config.kernel ?? 'strict';
    const newTrainer = (): Trainer => new Trainer({ model: spec, seed: config.seed, optimizer, chunkSize: config.chunkSize, kernel, workers, setup, resourceLimits });
    return await trainInFolder({ newTrainer, retries, config, spec, data, out, checkpoint, resumedFrom: flags.resume }, reporter);
  } finally {
    process.off('exit', lock.release);
    lock.release();
  }
}

interface Run {
  /** A trainer at the run's start: its initial parameters, step 0. */
  readonly newTrainer: () => Trainer;
  /** How many times a worker failure restarts the pool from the last checkpoint before the run gives up. */
  readonly retries: number;
  readonly config: RunConfig;
  readonly spec: ModelSpec;
  readonly data: { train: Dataset; validation: Dataset | null };
  readonly out: string;
  readonly checkpoint: Checkpoint | null;
  readonly resumedFrom: string | undefined;
}

function isWorkerFailure(error: unknown): error is LockstepError {
  return error instanceof LockstepError && error.code === 'E_WORKER';
}

/** Trains in a locked run folder, saving checkpoints, metrics and curves there, and closes the trainer. */
async function trainInFolder(run: Run, reporter: Reporter): Promise<number> {
  const { config, spec, data, out, checkpoint } = run;
  let trainer = run.newTrainer();
  const { workers, optimizer } = trainer;
  const family = KERNEL_FAMILIES[trainer.kernel];
  const checkpointPath = join(out, CHECKPOINT_FILE);
  const metricsPath = join(out, 'metrics.jsonl');
  let lastSaved = checkpoint === null ? null : { path: run.resumedFrom!, step: checkpoint.state.step };
  const save = (): void => {
    saveCheckpoint(checkpointPath, {
      config,
      spec,
      optimizer,
      kernel: family,
      params: trainer.params,
      optimizerState: trainer.state.optimizerState,
      state: (({ step, epoch, batch, epochLossSum, epochCorrect }) => ({ step, epoch, batch, epochLossSum, epochCorrect }))(trainer.state),
    });
    lastSaved = { path: checkpointPath, step: trainer.state.step };
  };
  const interrupt = abortOnCtrlC(() => reporter.stopBar());
  try {
    if (checkpoint !== null) trainer.load(checkpoint);
    for (const key of ['lr', 'clipNorm'] as const) {
      if (checkpoint !== null && config[key] !== checkpoint.config[key]) {
        reporter.info(`note: ${key} changes from ${checkpoint.config[key] ?? 'none'} to ${config[key] ?? 'none'} at step ${checkpoint.state.step}; the run will not match an uninterrupted one`);
      }
    }
    if (checkpoint !== null && checkpoint.kernel !== family) {
      reporter.info(`note: ${run.resumedFrom} was written with the ${checkpoint.kernel} kernels and this lockstep uses ${family}; the resumed run will not match an uninterrupted one bit for bit`);
    }
    let history = checkpoint === null ? [] : readHistory(metricsPath, trainer.state.epoch);
    reporter.info(
      `training ${spec.layers.length} layers (${trainer.params.length} parameters) on ${data.train.size} samples ` +
        `(${data.validation?.size ?? 0} for validation) with ${workers} worker${workers === 1 ? '' : 's'}; run folder ${out}`,
      { out, workers, parameters: trainer.params.length, samples: data.train.size },
    );
    const fitOptions = (): TrainerFitOptions => ({
      epochs: config.epochs - trainer.state.epoch,
      batchSize: config.batchSize,
      validation: data.validation ?? undefined,
      signal: interrupt.signal,
      onStep: (progress) => {
        reporter.step(progress);
        // The step that ends an epoch is saved by onEpoch, with the epoch's metrics.
        const every = config.checkpointEvery;
        if (every !== undefined && trainer.state.step % every === 0 && progress.batch < progress.batches) save();
      },
      onEpoch: (metrics) => {
        history.push(metrics);
        reporter.epoch(metrics);
        writeFileAtomic(metricsPath, history.map((m) => JSON.stringify(m)).join('\n') + '\n');
        const title = `lockstep run ${out}`;
        const svg = learningCurvesSvg(history, title);
        writeFileAtomic(join(out, 'curves.svg'), svg);
        writeFileAtomic(join(out, 'curves.html'), learningCurvesHtml(svg, title));
        save();
      },
    });
    for (let retry = 1; trainer.state.epoch < config.epochs; retry++) {
      let result: { stopped: boolean };
      try {
        result = await trainer.fit(data.train, fitOptions());
      } catch (error) {
        if (!isWorkerFailure(error) || retry > run.retries) throw error;
        // A new pool from the last checkpoint: resuming is exact, so the run ends with the same bits.
        reporter.info(`note: ${error.message}; restarting the workers from ${lastSaved === null ? 'the start' : `step ${lastSaved.step}`} (retry ${retry} of ${run.retries})`);
        await trainer.close();
        trainer = run.newTrainer();
        if (lastSaved !== null) trainer.load(loadCheckpoint(lastSaved.path));
        history = readHistory(metricsPath, trainer.state.epoch);
        continue;
      }
      if (result.stopped) {
        save();
        const { step, epoch, batch } = trainer.state;
        reporter.result(`interrupted after step ${step} (epoch ${epoch + 1}, batch ${batch}); resume with: lockstep train --resume ${checkpointPath}`, {
          interrupted: true,
          step,
          checkpoint: checkpointPath,
        });
        return EXIT_INTERRUPTED;
      }
    }
    const print = fingerprint(trainer.params);
    reporter.result(`fingerprint ${print}`, { fingerprint: print, epochs: trainer.state.epoch, steps: trainer.state.step, out });
    return 0;
  } catch (error) {
    // A numeric failure repeats exactly on an identical resume, so the way on is a lower lr or clipping.
    if (!(error instanceof LockstepError) || (error.code !== 'E_WORKER' && error.code !== 'E_NUMERIC')) throw error;
    const retune = error.code === 'E_NUMERIC' ? ' and a lower --lr or a --clip-norm' : '';
    // Parameters may be half updated: the checkpoint on disk, not memory, is where the run goes on.
    const next = lastSaved === null ? 'no checkpoint was saved yet; start the run again' : `resume from step ${lastSaved.step} with: lockstep train --resume ${lastSaved.path}${retune}`;
    throw new UserError(`${error.message}; ${next}`);
  } finally {
    interrupt.dispose();
    await trainer.close();
  }
}
