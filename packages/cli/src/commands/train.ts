import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Trainer } from '@lockstep/workers';
import { KERNEL_FAMILY, type EpochMetrics } from '@lockstep/core';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../checkpoint.js';
import { checkConfig, DEFAULT_CONFIG, defaultWorkers, readConfigFile, type RunConfig } from '../config.js';
import { UserError } from '../errors.js';
import { folderOf, makeFolder, writeFileAtomic } from '../files.js';
import { integerFlag } from '../flags.js';
import { fingerprint } from '../fingerprint.js';
import { learningCurvesHtml, learningCurvesSvg } from '../plot.js';
import { Reporter } from '../report.js';
import { defaultOutFolder, flagConfig, optimizerOf, runData, runModel } from '../run-setup.js';

export interface TrainFlags {
  config?: string;
  data?: string;
  workers?: string;
  epochs?: string;
  batchSize?: string;
  chunkSize?: string;
  lr?: string;
  dropout?: string;
  seed?: string;
  out?: string;
  resume?: string;
  json?: boolean;
  quiet?: boolean;
}

export const CHECKPOINT_FILE = 'checkpoint.lockstep';
export const EXIT_INTERRUPTED = 130;

/** On --resume the checkpoint fixes everything that decides the numbers; only the length of the run may grow. */
function resumedConfig(checkpoint: Checkpoint, path: string, fromFlags: Partial<RunConfig>, fromFile: Partial<RunConfig>): RunConfig {
  const { epochs, ...rest } = { ...fromFile, ...fromFlags };
  for (const [key, value] of Object.entries(rest)) {
    if (JSON.stringify(value) !== JSON.stringify(checkpoint.config[key as keyof RunConfig])) {
      throw new UserError(`${key} cannot change when resuming: ${path} was trained with ${key} ${JSON.stringify(checkpoint.config[key as keyof RunConfig])}`);
    }
  }
  return { ...checkpoint.config, ...rest, epochs: epochs ?? checkpoint.config.epochs };
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
  const fromFlags = flagConfig(flags);
  const fromFile = flags.config === undefined ? {} : readConfigFile(flags.config);
  const checkpoint = flags.resume === undefined ? null : loadCheckpoint(flags.resume);
  const config =
    checkpoint === null
      ? checkConfig({ ...DEFAULT_CONFIG, ...fromFile, ...fromFlags }, flags.config ?? 'config')
      : resumedConfig(checkpoint, flags.resume!, fromFlags, fromFile);
  const data = runData(config);
  const spec = runModel(config, data.train, checkpoint, flags.resume);
  const out = flags.out ?? (flags.resume === undefined ? defaultOutFolder() : folderOf(flags.resume));
  makeFolder(out);
  writeFileAtomic(join(out, 'config.json'), `${JSON.stringify({ ...config, model: spec, workers }, null, 2)}\n`);

  const reporter = new Reporter(Reporter.choose(flags), config.epochs);
  const optimizer = optimizerOf(config);
  const trainer = new Trainer({ model: spec, seed: config.seed, optimizer, chunkSize: config.chunkSize, workers });
  const checkpointPath = join(out, CHECKPOINT_FILE);
  const metricsPath = join(out, 'metrics.jsonl');
  const save = (): void =>
    saveCheckpoint(checkpointPath, {
      config,
      spec,
      optimizer,
      kernel: KERNEL_FAMILY,
      params: trainer.params,
      optimizerState: trainer.state.optimizerState,
      state: (({ step, epoch, batch, epochLossSum, epochCorrect }) => ({ step, epoch, batch, epochLossSum, epochCorrect }))(trainer.state),
    });
  const interrupt = new AbortController();
  const onSignal = (): void => {
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    reporter.stopBar();
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  try {
    if (checkpoint !== null) trainer.load(checkpoint);
    if (checkpoint !== null && checkpoint.kernel !== KERNEL_FAMILY) {
      reporter.info(`note: ${flags.resume} was written with the ${checkpoint.kernel} kernels and this lockstep uses ${KERNEL_FAMILY}; the resumed run will not match an uninterrupted one bit for bit`);
    }
    const history = checkpoint === null ? [] : readHistory(metricsPath, trainer.state.epoch);
    reporter.info(
      `training ${spec.layers.length} layers (${trainer.params.length} parameters) on ${data.train.size} samples ` +
        `(${data.validation?.size ?? 0} for validation) with ${workers} worker${workers === 1 ? '' : 's'}; run folder ${out}`,
      { out, workers, parameters: trainer.params.length, samples: data.train.size },
    );
    const remaining = config.epochs - trainer.state.epoch;
    if (remaining > 0) {
      const result = await trainer.fit(data.train, {
        epochs: remaining,
        batchSize: config.batchSize,
        validation: data.validation ?? undefined,
        signal: interrupt.signal,
        onStep: (progress) => reporter.step(progress),
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
  } finally {
    process.off('SIGINT', onSignal);
    await trainer.close();
  }
}
