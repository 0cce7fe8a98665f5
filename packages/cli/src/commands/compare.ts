import { join } from 'node:path';
import { checkAugmentFits, defaultLoss, foldInString, permutation, rootKey, type Dataset, type ModelSpec } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import { checkBatching } from '../config/batching.js';
import { checkConfig, readConfigFile } from '../config/config-file.js';
import { DEFAULT_RATES, dropoutRatesFlag } from '../config/dropout-rates.js';
import { flagConfig, flagValue, type ConfigFlags } from '../config/flags.js';
import { runModel } from '../config/model-spec.js';
import { optimizerOf } from '../config/optimizer.js';
import { OPTIONS } from '../config/options.js';
import { checkTrainingSettings } from '../config/schedule.js';
import { settingNamer } from '../config/setting-names.js';
import { DEFAULT_CONFIG, type RunConfig } from '../config/settings.js';
import { usefulWorkers } from '../config/workers.js';
import { loadRunData } from '../data/run-data.js';
import { UserError } from '../errors.js';
import { epochLine, rateEpoch, summarize, summaryTable, type RateRun } from '../output/comparison.js';
import { comparisonSvg } from '../output/comparison-plot.js';
import { fingerprint } from '../output/fingerprint.js';
import { learningCurvesHtml } from '../output/learning-curves.js';
import { Reporter } from '../output/report.js';
import { abortOnStdoutFailure, describeStdoutFailure } from '../output/stdout.js';
import { defaultOutFolder, makeFolder, removeStrayTemporaries, writeFileAtomic } from '../run/files.js';
import { stopOnSignals, type Stop } from '../run/interrupt.js';
import { importModules } from '../run/modules.js';
import { anyRank, checkSameRun, runRanks, trainerRanks, type RunRanks } from '../run/ranks.js';
import { lockRunFolder } from '../run/run-lock.js';
import { buildModel, checkNormalizationChunks } from '../run/trainer.js';

export interface CompareFlags extends ConfigFlags {
  config?: string;
  workers?: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  mpi?: boolean;
}

/** Training samples measured in eval mode after every epoch, at most. */
export const PROBE_SAMPLES = 10_000;

/** The training samples measured in eval mode after each epoch: all of them, or a seeded subset. */
export function trainProbe(train: Dataset, seed: number): Dataset {
  if (train.size <= PROBE_SAMPLES) return train;
  return train.select(permutation(foldInString(rootKey(seed), 'compare-train-probe'), train.size).subarray(0, PROBE_SAMPLES).sort());
}

function compareConfig(flags: CompareFlags): RunConfig {
  const fromFlags = flagConfig({ ...flags, dropout: undefined });
  const fromFile = flags.config === undefined ? {} : readConfigFile(flags.config);
  if (fromFlags.hidden !== undefined && fromFile.layers !== undefined) {
    throw new UserError(`--hidden sets the widths of the default MLP, but ${flags.config} gives "layers"; drop one of the two`);
  }
  const config = checkConfig({ ...DEFAULT_CONFIG, ...fromFile, ...fromFlags }, flags.config ?? 'config');
  checkBatching(config, settingNamer(fromFlags, fromFile, flags.config));
  // Each rate sets its own; a rate from the config file would only be misleading in compare.json.
  return { ...config, dropout: undefined };
}

/** The layers without their dropout rates, which are what varies. */
const architecture = (spec: ModelSpec): string =>
  `input [${spec.input.join(',')}]: ${spec.layers.map((l) => (l.type === 'linear' ? `linear ${l.out}` : l.type)).join(', ')}`;

const duration = (seconds: number): string => `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;

/**
 * Trains the same model from the same initial weights on the same data once per dropout rate, and
 * draws train accuracy (eval mode, on the training probe) and validation accuracy per epoch for all
 * of them in one picture. Across ranks every rank trains every rate, each step split among the ranks
 * as in train, and rank 0 alone prints and writes the run folder.
 */
export async function compareCommand(flags: CompareFlags): Promise<number> {
  const ranks = runRanks(flags.mpi === true);
  const stop = stopOnSignals();
  try {
    return await compare(flags, ranks, stop);
  } finally {
    stop.dispose();
  }
}

async function compare(flags: CompareFlags, ranks: RunRanks, stop: Stop): Promise<number> {
  const rates = dropoutRatesFlag(flags.dropout ?? DEFAULT_RATES);
  const config = compareConfig(flags);
  const { workers, note: workersNote } = usefulWorkers(flagValue('--workers', OPTIONS.workers, flags.workers), config);
  const setup = await importModules(config.modules);
  const data = await loadRunData(config, { threads: workers });
  if (config.augment !== undefined) checkAugmentFits(config.augment, data.train.sampleShape);
  if (config.earlyStopping !== undefined) throw new UserError(`${flags.config}: "earlyStopping" does not apply to compare, which trains every rate for all its epochs; leave it out`);
  checkTrainingSettings(config, data, defaultLoss(data.train.targets).reportsAccuracy);
  const validation = data.validation;
  if (validation === null) {
    throw new UserError(`lockstep compare needs validation samples, and validationSplit ${config.validationSplit} of ${data.train.size} samples leaves none; raise "validationSplit" in --config`);
  }
  const specs = rates.map((rate) => runModel({ ...config, dropout: rate }, data.train, null));
  if (!specs[0].layers.some((layer) => layer.type === 'dropout')) {
    throw new UserError(`${flags.config}: "layers" has no {"type": "dropout"} entry for --dropout to set; add one, e.g. after an activation`);
  }
  // The models differ only in p, which the --dropout check has passed, so building the first checks them all.
  const firstModel = buildModel(specs[0]);
  checkNormalizationChunks(firstModel, data.train.size, config.batchSize, config.chunkSize);
  const identity = { rates, config, specs, data: data.fingerprint, out: flags.out, json: flags.json === true, quiet: flags.quiet === true };
  checkSameRun(ranks, JSON.stringify(identity), 'config, rates, data or flags');
  const out = flags.out ?? defaultOutFolder('compare-');
  // Rank 0 alone writes the run folder. Its lock is released in the finally below, or by the 'exit' event should anything before it throw.
  const write = ranks.writes;
  if (write) makeFolder(out);
  const lock = write ? lockRunFolder(out, 'compare') : null;
  if (write) removeStrayTemporaries(out);
  const probe = trainProbe(data.train, config.seed);
  const mode = write ? Reporter.choose(flags) : 'silent';
  const title = `lockstep compare: dropout ${rates.join(', ')} on ${config.data === 'default' ? 'the built-in data set' : config.data}`;
  const subtitle =
    `${architecture(specs[0])}; ${config.optimizer} lr ${config.lr}, batch ${config.batchSize}, seed ${config.seed}\n` +
    `dashed: train accuracy in eval mode (dropout off) on ${probe.size} training samples after each epoch; solid: validation accuracy (${validation.size} samples)`;
  const started = performance.now();
  const runs: RateRun[] = [];
  const writeResults = (interrupted: boolean): void => {
    if (!write) return;
    const document = {
      rates,
      config,
      trainAccuracy: `eval mode (dropout off) on ${probe.size} of the ${data.train.size} training samples, after each epoch`,
      samples: { train: data.train.size, trainProbe: probe.size, validation: validation.size },
      workers,
      interrupted,
      seconds: (performance.now() - started) / 1000,
      runs: runs.map((run) => ({ ...run, finished: run.finalFingerprint !== null, summary: run.epochs.length === 0 ? null : summarize(run) })),
    };
    writeFileAtomic(join(out, 'compare.json'), `${JSON.stringify(document, null, 2)}\n`);
    const svg = comparisonSvg(runs, { title, subtitle, epochs: config.epochs });
    writeFileAtomic(join(out, 'compare.svg'), svg);
    writeFileAtomic(join(out, 'compare.html'), learningCurvesHtml(svg, title));
  };

  let reporter = new Reporter(mode, config.epochs);
  if (workersNote !== null) reporter.info(workersNote);
  if (lock !== null && lock.tookOver !== null) reporter.info(`note: took over the lock of ${out} from ${lock.tookOver}`);
  reporter.info(
    `comparing dropout ${rates.join(', ')}: ${architecture(specs[0])}, ${config.epochs} epochs each on ${data.train.size} samples ` +
      `(${validation.size} for validation; train accuracy in eval mode on ${probe.size} of them) with ${workers} worker${workers === 1 ? '' : 's'}; run folder ${out}`,
    { out, workers, rates, samples: data.train.size, trainProbe: probe.size, validation: validation.size },
  );
  const stopBar = (): void => reporter.stopBar();
  stop.signal.addEventListener('abort', stopBar);
  // No one reads the comparison any more: stop with the finished rates saved, as a signal does.
  const output = abortOnStdoutFailure();
  const stopped = AbortSignal.any([stop.signal, output.signal]);
  try {
    // Across ranks every rank leaves the loop at the same place: a fit stops on every rank after the
    // same step, and a stop that comes between two rates is agreed on before the next one starts.
    let halted = false;
    for (const [i, rate] of rates.entries()) {
      if (halted || anyRank(ranks, stopped.aborted)) break;
      const folder = `dropout-${rate}`;
      if (write) {
        makeFolder(join(out, folder));
        writeFileAtomic(join(out, folder, 'config.json'), `${JSON.stringify({ ...config, dropout: rate, ...(data.imageData === undefined ? {} : { imageData: data.imageData }), model: specs[i], workers }, null, 2)}\n`);
      }
      reporter = new Reporter(mode, config.epochs, `dropout ${rate} | `);
      const model = i === 0 ? firstModel : buildModel(specs[i]);
      const options = { model, seed: config.seed, optimizer: optimizerOf(config), chunkSize: config.chunkSize, kernel: config.kernel ?? 'strict', workers, setup, ranks: trainerRanks(ranks) };
      const trainer = new Trainer(options);
      try {
        const rateStarted = performance.now();
        const run: RateRun = { rate, folder, initialFingerprint: fingerprint(trainer.params, trainer.buffers), finalFingerprint: null, epochs: [], seconds: 0 };
        runs.push(run);
        while (trainer.state.epoch < config.epochs) {
          const result = await trainer.fit(data.train, {
            epochs: 1,
            batchSize: config.batchSize,
            augment: config.augment,
            validation,
            signal: stopped,
            onStep: (progress) => reporter.step(progress),
          });
          halted = result.stopped;
          if (halted) break;
          const epoch = rateEpoch(result.history[0], await trainer.evaluate(probe));
          run.epochs.push(epoch);
          run.seconds = (performance.now() - rateStarted) / 1000;
          reporter.progress('epoch', epochLine(rate, epoch, config.epochs), { rate, ...epoch });
          if (write) writeFileAtomic(join(out, folder, 'metrics.jsonl'), run.epochs.map((e) => JSON.stringify(e)).join('\n') + '\n');
          writeResults(false);
        }
        if (trainer.state.epoch === config.epochs) run.finalFingerprint = fingerprint(trainer.params, trainer.buffers);
      } finally {
        await trainer.close();
      }
    }
    const finished = runs.filter((run) => run.finalFingerprint !== null);
    const interrupted = finished.length < rates.length;
    writeResults(interrupted);
    const summaries = finished.map(summarize);
    const seconds = (performance.now() - started) / 1000;
    const partial = runs[finished.length];
    const ending = interrupted
      ? `interrupted before dropout ${rates[finished.length]} finished; ${join(out, 'compare.json')} holds ${finished.length} finished rate${finished.length === 1 ? '' : 's'}` +
        (partial === undefined ? '' : ` and ${partial.epochs.length} of ${config.epochs} epochs of dropout ${partial.rate}`)
      : `${rates.length} rate${rates.length === 1 ? '' : 's'} in ${duration(seconds)}; picture in ${join(out, 'compare.svg')}, every number in ${join(out, 'compare.json')}`;
    const failure = output.failure();
    if (failure !== null) throw new UserError(`${describeStdoutFailure(failure)}, so compare stopped: ${ending}`);
    reporter.result(`${summaries.length > 0 ? `${summaryTable(summaries)}\n` : ''}${ending}`, { rates: summaries, interrupted, seconds, out });
    return interrupted ? stop.exitCode : 0;
  } finally {
    output.dispose();
    stop.signal.removeEventListener('abort', stopBar);
    lock?.release();
  }
}
