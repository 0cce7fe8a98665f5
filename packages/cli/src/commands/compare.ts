import { join } from 'node:path';
import { checkAugmentFits, defaultLoss, fingerprint, foldInString, LockstepError, permutation, rootKey, type Dataset, type Model, type ModelSpec } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import { checkBatching } from '../config/batching.js';
import { checkConfig, readConfigFile, type ConfigFile } from '../config/config-file.js';
import { checkDistinctNames, checkFlagsKeepModels, checkSameSettings, configFilesFlag, configName } from '../config/config-list.js';
import { DEFAULT_RATES, PROBE_SAMPLES } from '../config/compare-limits.js';
import { dropoutRatesFlag } from '../config/dropout-rates.js';
import { flagConfig, flagValue, type ConfigFlags } from '../config/flags.js';
import { dropoutRates, runModel } from '../config/model-spec.js';
import { optimizerOf } from '../config/optimizer.js';
import { OPTIONS } from '../config/options.js';
import { checkInitFrom, checkRecordedModel, modelFlags, newRunSettings, trainedOnNote } from '../config/run-record.js';
import { checkTrainingSettings } from '../config/schedule.js';
import { settingNamer } from '../config/setting-names.js';
import { DEFAULT_CONFIG, type RunConfig } from '../config/settings.js';
import { usefulWorkers } from '../config/workers.js';
import { checkImageSettings } from '../data/images/source.js';
import { loadRunData } from '../data/run-data.js';
import { UserError } from '../errors.js';
import { epochLine, summarize, summaryTable, variantEpoch, type VariantRun } from '../output/comparison.js';
import { comparisonSvg } from '../output/comparison-plot.js';
import { learningCurvesHtml } from '../output/learning-curves.js';
import { plateauNote, Reporter } from '../output/report.js';
import { abortOnStdoutFailure, describeStdoutFailure } from '../output/stdout.js';
import { clearExistingComparison, COMPARISON_FILE, COMPARISON_FILES, rateFolder } from '../run/existing-comparison.js';
import { defaultOutFolder, makeFolder, removeStrayTemporaries, writeFileAtomic } from '../run/files.js';
import { stopOnSignals, type Stop } from '../run/interrupt.js';
import { importModules } from '../run/modules.js';
import { anyRank, checkSameRun, runRanks, trainerRanks, type RunRanks } from '../run/ranks.js';
import { writeRunConfig } from '../run/run-config-file.js';
import { LOCK_FILE, lockRunFolder } from '../run/run-lock.js';
import { buildModel, checkTrainable } from '../run/trainer.js';

export interface CompareFlags extends ConfigFlags {
  config?: string;
  configs?: string;
  workers?: string;
  out?: string;
  overwrite?: boolean;
  json?: boolean;
  quiet?: boolean;
  mpi?: boolean;
}

/** The training samples measured in eval mode after each epoch: all of them, or a seeded subset. */
export function trainProbe(train: Dataset, seed: number): Dataset {
  if (train.size <= PROBE_SAMPLES) return train;
  return train.select(permutation(foldInString(rootKey(seed), 'compare-train-probe'), train.size).subarray(0, PROBE_SAMPLES).sort());
}

/** What is compared: a dropout rate of one model, or the model of one config file. */
interface Variant {
  /** "dropout 0.2", or the config file's name. */
  readonly name: string;
  readonly rate?: number;
  readonly file?: string;
  /** The config file it comes from: the one of --configs, or --config for every rate. */
  readonly source?: ConfigFile;
  /** Its folder inside the run folder. */
  readonly folder: string;
  readonly config: RunConfig;
  readonly spec: ModelSpec;
}

/** The defaults, then a config file's settings (`fromFile`, read from `path`), then the flags (`typed`: their texts), checked as train checks them. */
function runConfig(fromFlags: Partial<RunConfig>, fromFile: Partial<RunConfig>, path: string | undefined, compared: 'rate' | 'config', typed: ConfigFlags): RunConfig {
  if (fromFlags.hidden !== undefined && fromFile.layers !== undefined) {
    throw new UserError(`--hidden sets the widths of the default MLP, but ${path} gives "layers"; drop one of the two`);
  }
  // Only a file sets it: compare has no --early-stopping.
  if (fromFile.earlyStopping !== undefined) {
    throw new UserError(`early stopping does not apply to compare, which trains every ${compared} for all its epochs; remove "earlyStopping" from ${path}`);
  }
  const config = checkConfig({ ...DEFAULT_CONFIG, ...fromFile, ...fromFlags }, path ?? 'config');
  const named = settingNamer(fromFlags, fromFile, path, typed);
  checkBatching(config, named);
  checkImageSettings(config, named);
  return config;
}

/** The configs of --dropout or of --configs (one of the two), each checked, before the data are loaded. */
function compareConfigs(flags: CompareFlags): Array<{ name: string; rate?: number; file?: string; source?: ConfigFile; config: RunConfig }> {
  if (flags.configs !== undefined) {
    if (flags.dropout !== undefined) throw new UserError('--configs compares whole config files and --dropout the rates of one model; give one of the two');
    if (flags.config !== undefined) throw new UserError('--configs lists every config file compared, so --config is not needed; add its file to --configs');
    const paths = configFilesFlag(flags.configs);
    checkDistinctNames(paths);
    const fromFlags = flagConfig(flags);
    const files = paths.map((file) => {
      const source = readConfigFile(file, '--configs');
      checkInitFrom(source, 'compare');
      const fromFile = newRunSettings(source);
      return { file, source, fromFile, config: runConfig(fromFlags, fromFile, file, 'config', flags) };
    });
    checkFlagsKeepModels(fromFlags, files);
    checkSameSettings(files);
    return files.map(({ file, source, config }) => ({ name: configName(file), file, source, config }));
  }
  const rates = dropoutRatesFlag(flags.dropout ?? DEFAULT_RATES);
  const source = flags.config === undefined ? undefined : readConfigFile(flags.config, '--config');
  if (source !== undefined) checkInitFrom(source, 'compare');
  // Each rate sets its own; a rate from the config file would only be misleading in compare.json.
  const config = { ...runConfig(flagConfig({ ...flags, dropout: undefined }), source === undefined ? {} : newRunSettings(source), flags.config, 'rate', flags), dropout: undefined };
  return rates.map((rate) => ({ name: `dropout ${rate}`, rate, source, config: { ...config, dropout: rate } }));
}

/** The layers without their dropout rates, which are what varies. */
const architecture = (spec: ModelSpec): string =>
  `input [${spec.input.join(',')}]: ${spec.layers.map((l) => (l.type === 'linear' ? `linear ${l.out}` : l.type)).join(', ')}`;

const duration = (seconds: number): string => `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;

/**
 * Trains the same model from the same initial weights on the same data once per dropout rate, or
 * the model of each config file of --configs on the same data with the same settings, and draws
 * train accuracy (eval mode, on the training probe) and validation accuracy per epoch for all of
 * them in one picture. Across ranks every rank trains every variant, each step split among the ranks
 * as in train, and rank 0 alone prints and writes the run folder.
 */
export async function compareCommand(flags: CompareFlags): Promise<number> {
  const ranks = await runRanks(flags.mpi === true);
  const stop = stopOnSignals(
    ranks.writes
      ? {
          stopping: 'stopping after this step, keeping the results of the epochs that ended; Ctrl-C again stops now',
          stoppedAtOnce: () => 'stopped at once, before comparing began; nothing was written',
        }
      : null,
  );
  try {
    return await compare(flags, ranks, stop);
  } finally {
    stop.dispose();
  }
}

async function compare(flags: CompareFlags, ranks: RunRanks, stop: Stop): Promise<number> {
  const configs = compareConfigs(flags);
  const byRate = flags.configs === undefined;
  // Everything but the model is the same in every config (checkSameSettings), so the first one loads the data for all.
  const config = configs[0].config;
  const { workers, note: workersNote } = usefulWorkers(flagValue('--workers', OPTIONS.workers, flags.workers), config);
  const setup = (await importModules(config.modules)).urls;
  const data = await loadRunData(config, { threads: workers });
  if (config.augment !== undefined) checkAugmentFits(config.augment, data.train.sampleShape);
  const scheduleFromRun = checkTrainingSettings(config, data, defaultLoss(data.train.targets).reportsAccuracy);
  // Every variant has the first one's settings (checkSameSettings), so the schedule its length resolved is theirs too.
  for (const { config: c } of configs) c.schedule = config.schedule;
  const validation = data.validation;
  if (validation === null) {
    throw new UserError(`lockstep compare needs validation samples, and validationSplit ${config.validationSplit} of ${data.train.size} samples leaves none; raise "validationSplit" in ${byRate ? '--config' : 'every file of --configs'}`);
  }
  const variants: Variant[] = configs.map((c) => ({
    ...c,
    folder: c.rate === undefined ? c.name : rateFolder(c.rate),
    spec: runModel(c.config, data.train, null),
  }));
  if (byRate && dropoutRates(variants[0].spec).length === 0) {
    throw new UserError(`${flags.config}: "layers" has no {"type": "dropout"} entry for --dropout to set; add one, e.g. after an activation`);
  }
  // Every model is built and checked against the data and a trainer's memory before anything is written; rates differ only in p, so the first checks them all.
  const models = new Map<number, Model>();
  for (const [i, variant] of variants.entries()) {
    if (byRate && i > 0) break;
    try {
      const model = buildModel(variant.spec);
      const c = variant.config;
      // A file of --configs is named as the catch below names it.
      checkTrainable(model, data, { optimizer: optimizerOf(c), batchSize: c.batchSize, chunkSize: c.chunkSize, workers, ranks: ranks.size }, variant.file === undefined ? flags.config : undefined);
      models.set(i, model);
    } catch (error) {
      if (variant.file === undefined || !(error instanceof UserError || error instanceof LockstepError)) throw error;
      throw new UserError(`${variant.file}: ${error.message}`);
    }
  }
  // --dropout holds the rates here, not a setting; a recorded model takes each rate as "dropout" would, so the first rate checks them all.
  const fromFlags = flagConfig({ ...flags, dropout: undefined });
  const changedBy = modelFlags(fromFlags, settingNamer(fromFlags, {}, undefined, flags));
  const recordNotes = (byRate ? variants.slice(0, 1) : variants).flatMap(({ source, spec, config: c }) =>
    source === undefined ? [] : [trainedOnNote(source, { workers, ranks: ranks.size }), checkRecordedModel(source, { spec, dropout: c.dropout }, changedBy)],
  );
  const names = variants.map((v) => v.name);
  const listed = byRate ? `dropout ${variants.map((v) => v.rate).join(', ')}` : names.join(', ');
  const identity = { variants: variants.map(({ name, config: c, spec }) => ({ name, config: c, spec })), data: data.fingerprint, out: flags.out, json: flags.json === true, quiet: flags.quiet === true };
  checkSameRun(ranks, JSON.stringify(identity), byRate ? 'config, rates, data or flags' : 'configs, data or flags');
  const out = flags.out ?? defaultOutFolder('compare-');
  // Rank 0 alone writes the run folder. Its lock is released in the finally below, or by the 'exit' event should anything before it throw.
  const write = ranks.writes;
  if (write) makeFolder(out);
  const lock = write ? lockRunFolder(out, 'compare') : null;
  if (write) {
    clearExistingComparison(out, variants.map((variant) => variant.folder), flags.overwrite === true);
    removeStrayTemporaries(out, [...COMPARISON_FILES, LOCK_FILE]);
  }
  const probe = trainProbe(data.train, config.seed);
  const mode = write ? Reporter.choose(flags) : 'silent';
  const title = `lockstep compare: ${listed} on ${config.data === 'default' ? 'the built-in data set' : config.data}`;
  const described = byRate ? architecture(variants[0].spec) : 'one model per config file';
  const subtitle =
    `${described}; ${config.optimizer} lr ${config.lr}, batch ${config.batchSize}, seed ${config.seed}\n` +
    `dashed: train accuracy in eval mode (dropout off) on ${probe.size} training samples after each epoch; solid: validation accuracy (${validation.size} samples)`;
  const started = performance.now();
  const runs: VariantRun[] = [];
  const writeResults = (interrupted: boolean): void => {
    if (!write) return;
    const document = {
      ...(byRate ? { rates: variants.map((v) => v.rate), config: { ...config, dropout: undefined } } : { configs: variants.map((v) => ({ name: v.name, file: v.file, config: v.config })) }),
      trainAccuracy: `eval mode (dropout off) on ${probe.size} of the ${data.train.size} training samples, after each epoch`,
      samples: { train: data.train.size, trainProbe: probe.size, validation: validation.size },
      workers,
      interrupted,
      seconds: (performance.now() - started) / 1000,
      runs: runs.map((run) => ({ ...run, finished: run.finalFingerprint !== null, summary: run.epochs.length === 0 ? null : summarize(run) })),
    };
    writeFileAtomic(join(out, COMPARISON_FILE), `${JSON.stringify(document, null, 2)}\n`);
    const svg = comparisonSvg(runs, { title, subtitle, epochs: config.epochs });
    writeFileAtomic(join(out, 'compare.svg'), svg);
    writeFileAtomic(join(out, 'compare.html'), learningCurvesHtml(svg, title));
  };

  const noun = (n: number, finishedOnes = ''): string => `${n} ${finishedOnes}${byRate ? 'rate' : 'config'}${n === 1 ? '' : 's'}`;
  /** What compare.json holds, as it is rewritten after every epoch: the finished variants and the epochs of the one in progress. */
  const held = (): string => {
    const finished = runs.filter((run) => run.finalFingerprint !== null).length;
    const partial = runs[finished];
    return `${join(out, COMPARISON_FILE)} holds ${noun(finished, 'finished ')}` + (partial === undefined ? '' : ` and ${partial.epochs.length} of ${config.epochs} epochs of ${partial.name}`);
  };
  stop.whenStoppedAtOnce(() => {
    if (!runs.some((run) => run.epochs.length > 0)) return `stopped at once; no epoch had ended, so ${out} holds no results`;
    // The file was last written after an epoch, when the comparison was still going on.
    try {
      writeResults(true);
    } catch (error) {
      return `stopped at once; ${held()}, with "interrupted": false still, as it could not be written again (${error instanceof Error ? error.message : String(error)})`;
    }
    return `stopped at once; ${held()}`;
  });

  let reporter = new Reporter(mode, config.epochs);
  for (const note of [workersNote, ...recordNotes]) if (note !== null) reporter.info(note);
  if (lock !== null && lock.tookOver !== null) reporter.info(`note: took over the lock of ${out} from ${lock.tookOver}`);
  reporter.info(
    `comparing ${listed}: ${described}, ${config.epochs} epochs each on ${data.train.size} samples ` +
      `(${validation.size} for validation; train accuracy in eval mode on ${probe.size} of them) with ${workers} worker${workers === 1 ? '' : 's'}; run folder ${out}`,
    { out, workers, ...(byRate ? { rates: variants.map((v) => v.rate) } : { configs: names }), samples: data.train.size, trainProbe: probe.size, validation: validation.size },
  );
  const stopBar = (): void => reporter.stopBar();
  stop.signal.addEventListener('abort', stopBar);
  // No one reads the comparison any more: stop with the finished variants saved, as a signal does.
  const output = abortOnStdoutFailure();
  const stopped = AbortSignal.any([stop.signal, output.signal]);
  try {
    // Across ranks every rank leaves the loop at the same place: a fit stops on every rank after the
    // same step, and a stop that comes between two variants is agreed on before the next one starts.
    let halted = false;
    for (const [i, variant] of variants.entries()) {
      if (halted || anyRank(ranks, stopped.aborted)) break;
      const { name, rate, folder } = variant;
      const c = variant.config;
      if (write) {
        makeFolder(join(out, folder));
        writeRunConfig(join(out, folder), { config: data.imageData === undefined ? c : { ...c, imageData: data.imageData }, spec: variant.spec, scheduleFromRun }, { workers, ranks: ranks.size });
      }
      reporter = new Reporter(mode, config.epochs, { label: `${name} | ` });
      const model = models.get(i) ?? buildModel(variant.spec);
      const options = { model, seed: c.seed, optimizer: optimizerOf(c), chunkSize: c.chunkSize, kernel: c.kernel ?? 'strict', workers, setup, ranks: trainerRanks(ranks) };
      const trainer = new Trainer(options);
      try {
        const variantStarted = performance.now();
        const run: VariantRun = { name, ...(rate === undefined ? {} : { rate }), folder, initialFingerprint: fingerprint(trainer.params, trainer.buffers), finalFingerprint: null, epochs: [], seconds: 0 };
        runs.push(run);
        while (trainer.state.epoch < c.epochs) {
          const result = await trainer.fit(data.train, {
            epochs: 1,
            batchSize: c.batchSize,
            augment: c.augment,
            validation,
            signal: stopped,
            // Once stopping, the bar stays off the terminal, where the stop's lines are.
            onStep: (progress) => {
              if (!stopped.aborted) reporter.step(progress);
            },
          });
          halted = result.stopped;
          if (halted) break;
          const epoch = variantEpoch(result.history[0], await trainer.evaluate(probe));
          run.epochs.push(epoch);
          run.seconds = (performance.now() - variantStarted) / 1000;
          reporter.progress('epoch', epochLine(name, epoch, c.epochs, c.schedule !== undefined), { name, ...(rate === undefined ? {} : { rate }), ...epoch });
          const lowered = plateauNote(trainer.optimizer, epoch, trainer.state.schedule?.lr, c.epochs);
          if (lowered !== null) reporter.info(`${name} | ${lowered}`, { name, epoch: epoch.epoch, lr: trainer.state.schedule!.lr, previousLr: epoch.lr });
          if (write) writeFileAtomic(join(out, folder, 'metrics.jsonl'), run.epochs.map((e) => JSON.stringify(e)).join('\n') + '\n');
          writeResults(false);
        }
        if (trainer.state.epoch === c.epochs) run.finalFingerprint = fingerprint(trainer.params, trainer.buffers);
      } finally {
        await trainer.close();
      }
    }
    const finished = runs.filter((run) => run.finalFingerprint !== null);
    const interrupted = finished.length < variants.length;
    writeResults(interrupted);
    const summaries = finished.map(summarize);
    const seconds = (performance.now() - started) / 1000;
    const ending = interrupted
      ? `interrupted before ${variants[finished.length].name} finished; ${held()}`
      : `${noun(variants.length)} in ${duration(seconds)}; picture in ${join(out, 'compare.svg')}, every number in ${join(out, COMPARISON_FILE)}`;
    const failure = output.failure();
    if (failure !== null) throw new UserError(`${describeStdoutFailure(failure)}, so compare stopped: ${ending}`);
    reporter.result(`${summaries.length > 0 ? `${summaryTable(summaries)}\n` : ''}${ending}`, { [byRate ? 'rates' : 'configs']: summaries, interrupted, seconds, out });
    return interrupted ? stop.exitCode : 0;
  } finally {
    output.dispose();
    stop.signal.removeEventListener('abort', stopBar);
    lock?.release();
  }
}
