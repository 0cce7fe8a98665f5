import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { checkAugmentFits, defaultLoss } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import { checkBatching } from '../config/batching.js';
import { checkConfig, readConfigFile } from '../config/config-file.js';
import { flagConfig, flagValue, type ConfigFlags } from '../config/flags.js';
import { runModel } from '../config/model-spec.js';
import { optimizerOf } from '../config/optimizer.js';
import { OPTIONS } from '../config/options.js';
import { resumedConfig, resumedDataNote } from '../config/resume.js';
import { checkInitFrom, checkRecordedModel, modelFlags, newRunSettings, trainedOnNote } from '../config/run-record.js';
import { checkTrainingSettings } from '../config/schedule.js';
import { settingName, settingNamer } from '../config/setting-names.js';
import { DEFAULT_CONFIG } from '../config/settings.js';
import { usefulWorkers } from '../config/workers.js';
import { checkCheckpointColumns } from '../data/csv.js';
import { writeSkippedImages } from '../data/images/skipped.js';
import { checkImageSettings } from '../data/images/source.js';
import { loadRunData, type RunData } from '../data/run-data.js';
import { UserError } from '../errors.js';
import { Reporter } from '../output/report.js';
import { loadCheckpoint } from '../run/checkpoint.js';
import { defaultOutFolder, folderOf, makeFolder, removeStrayTemporaries } from '../run/files.js';
import { settleBest } from '../run/best-checkpoint.js';
import { clearExistingRun, continuesIn, removeRunFiles, RUN_FILES } from '../run/existing-run.js';
import { stopOnSignals, type Stop } from '../run/interrupt.js';
import { importModules, importNamedModules } from '../run/modules.js';
import { loadWeights, readWeightsFile } from '../run/initial-weights.js';
import { openFaultChannel } from '../run/fault-channel.js';
import { writeRunConfig } from '../run/run-config-file.js';
import { broadcastText, checkSameRun, contentDigest, runRanks, trainerRanks, type RunRanks } from '../run/ranks.js';
import { LOCK_FILE, lockRunFolder } from '../run/run-lock.js';
import { buildModel, checkpointModel, checkTrainable } from '../run/trainer.js';
import { CHECKPOINT_FILE, trainInFolder, trainsNothing, type Run } from '../run/training.js';

/** Why --retries does nothing across ranks, and the way on instead. */
const RETRIES_ACROSS_RANKS = 'note: --retries is off across ranks: one rank cannot restart its workers while the others wait for it, so a worker failure ends the job; resume from the last checkpoint instead';

export interface TrainFlags extends ConfigFlags {
  config?: string;
  workers?: string;
  out?: string;
  resume?: string;
  initFrom?: string;
  overwrite?: boolean;
  modules?: string;
  mpi?: boolean;
  workerHeap?: string;
  retries?: string;
  allowChangedData?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** What train says on stderr at a stop signal, until the run folder is written (run/training.ts says more from then on). */
const TRAIN_STOP = {
  stopping: 'stopping after this step and saving a checkpoint; Ctrl-C again stops now without saving',
  stoppedAtOnce: () => 'stopped at once, before training began; nothing was written',
};

export async function trainCommand(flags: TrainFlags): Promise<number> {
  const ranks = await runRanks(flags.mpi === true);
  const stop = stopOnSignals(ranks.writes ? TRAIN_STOP : null);
  try {
    return await train(flags, ranks, stop);
  } finally {
    stop.dispose();
  }
}

async function train(flags: TrainFlags, ranks: RunRanks, stop: Stop): Promise<number> {
  const requestedWorkers = flagValue('--workers', OPTIONS.workers, flags.workers);
  const workerHeap = flagValue('--worker-heap', OPTIONS.workerHeap, flags.workerHeap);
  const retries = flagValue('--retries', OPTIONS.retries, flags.retries) ?? 0;
  const named = flagValue('--modules', OPTIONS.modules, flags.modules);
  const fromFlags = flagConfig(flags);
  const file = flags.config === undefined ? null : readConfigFile(flags.config);
  const fromFile = file === null ? {} : flags.resume === undefined ? newRunSettings(file) : file.settings;
  if (flags.allowChangedData === true && flags.resume === undefined) throw new UserError('--allow-changed-data only applies with --resume; add --resume CHECKPOINT');
  if (flags.initFrom !== undefined && flags.resume !== undefined) {
    throw new UserError('--init-from starts a new run from other weights, --resume continues a run from its own; give one of them');
  }
  // With --resume, --overwrite means something only for another folder: that folder's run is replaced by the continued one.
  if (flags.overwrite === true && flags.resume !== undefined && continuesIn(flags.out ?? folderOf(flags.resume), flags.resume)) {
    throw new UserError(`--resume continues the run in ${folderOf(flags.resume)}, and --overwrite would delete that run first; leave out --overwrite`);
  }
  // --init-from names the weights to start from, and a checkpoint holds those it started from.
  if (file !== null && flags.initFrom === undefined && flags.resume === undefined) checkInitFrom(file, 'train');
  const initial = flags.initFrom === undefined ? null : readWeightsFile(flags.initFrom, '--init-from');
  const checkpoint = flags.resume === undefined ? null : loadCheckpoint(flags.resume);
  const config =
    checkpoint === null
      ? checkConfig({ ...DEFAULT_CONFIG, ...fromFile, ...fromFlags, ...(named === undefined ? {} : { modules: named }) }, flags.config ?? 'config')
      : resumedConfig(checkpoint, flags.resume!, fromFlags, fromFile);
  const shown = settingNamer(fromFlags, fromFile, flags.config, flags);
  checkBatching(config, shown);
  checkImageSettings(config, shown);
  const { workers, note: workersNote } = usefulWorkers(requestedWorkers, config);
  const modules = checkpoint === null ? await importModules(config.modules) : await importNamedModules(checkpoint, flags.resume!, named ?? fromFile.modules);
  const data = await loadRunData(config, { threads: workers });
  if (config.augment !== undefined) checkAugmentFits(config.augment, data.train.sampleShape);
  // The schedule's lengths come from the run's, and config.json records them.
  const resumedSchedule = checkpoint === null ? undefined : { path: flags.resume!, scheduleFromRun: checkpoint.scheduleFromRun ?? [] };
  const filled = checkTrainingSettings(config, data, defaultLoss(data.train.targets).reportsAccuracy, resumedSchedule, settingName(fromFlags, fromFile, flags.config));
  const scheduleFromRun = resumedSchedule?.scheduleFromRun ?? filled;
  // What image data gave the run (class names, computed normalization) goes into config.json and every checkpoint.
  if (data.imageData !== undefined) config.imageData = data.imageData;
  // Before the fingerprint: columns in another order are not data that changed, and --allow-changed-data cannot make them fit.
  if (checkpoint !== null) checkCheckpointColumns(data.csv, checkpoint, flags.resume!);
  const dataNote = checkpoint === null ? null : resumedDataNote(checkpoint, flags.resume!, config.data, data.fingerprint, flags.allowChangedData === true);
  const spec = runModel(config, data.train, checkpoint, flags.resume);
  const modelNote = file === null ? null : checkRecordedModel(file, { spec, dropout: config.dropout }, modelFlags(fromFlags, shown));
  const model = checkpoint === null ? buildModel(spec) : checkpointModel(checkpoint, flags.resume!);
  // Decoded once and checked against the model, and for NaN, infinity or a negative running variance, before a run folder or a worker exists: every mismatch in one line.
  const modelSettings = flags.config === undefined ? 'a --config file ("layers" or "hidden")' : `${flags.config}'s "layers" or "hidden"`;
  const initialState = initial === null ? null : loadWeights(model, initial, modelSettings);
  const initFrom = initial?.record ?? checkpoint?.initFrom;
  const optimizer = optimizerOf(config);
  checkTrainable(model, data, { optimizer, batchSize: config.batchSize, chunkSize: config.chunkSize, workers, ranks: ranks.size }, flags.config ?? flags.resume);
  // The checkpoint's weights as well as its position: copies of a run folder at the same step may hold other weights.
  const resumed = checkpoint === null ? null : { state: checkpoint.state, weights: contentDigest(checkpoint.params, checkpoint.optimizerState, checkpoint.buffers ?? new Float32Array(0)) };
  checkSameRun(ranks, JSON.stringify({ config, spec, data: data.fingerprint, resumed, initFrom: initFrom ?? null }), 'config, model, data or checkpoint');
  // Rank 0's folder on every rank (a default one is named after the time, which ranks may see differently).
  // A resumed run with nothing left to train stays in its checkpoint's folder: another --out would get a config.json and no run.
  const stays = checkpoint !== null && (flags.out === undefined || trainsNothing(checkpoint, config.epochs));
  const out = broadcastText(ranks, stays ? folderOf(flags.resume!) : (flags.out ?? defaultOutFolder()));
  const resourceLimits = workerHeap === undefined ? undefined : { maxOldGenerationSizeMb: workerHeap };
  const kernel = config.kernel ?? 'strict';
  // Every trainer, a restarted pool's too, adopts the same model with the seed's weights (a Trainer keeps
  // the weights a model has, and the failed pool's are half trained); the checkpoint then loads into it.
  // With --init-from, the file's weights replace the seed's (a resumed run's checkpoint then loads over them).
  const newTrainer = (): Trainer => {
    const trainer = new Trainer({ model: model.initialize(config.seed), seed: config.seed, optimizer, chunkSize: config.chunkSize, kernel, workers, setup: modules.urls, resourceLimits, ranks: trainerRanks(ranks) });
    if (initialState !== null) trainer.loadStateDict(initialState);
    return trainer;
  };
  const channel = await openFaultChannel(ranks);
  // Across ranks a worker failure ends the job (the other ranks cannot restart with this one), and
  // only rank 0 touches the run folder; every rank runs every step.
  const run: Run = { newTrainer, retries: ranks.size > 1 ? 0 : retries, config, scheduleFromRun, spec, data, out, checkpoint, resumedFrom: flags.resume, initFrom, modules, stop, ranks, channel };
  try {
    if (!ranks.writes) return await trainInFolder(run, new Reporter('silent', config.epochs));
    const notes = [workersNote, file === null ? null : trainedOnNote(file, { workers, ranks: ranks.size }), modelNote, dataNote, data.cacheNote ?? null];
    if (retries > 0 && ranks.size > 1) notes.push(RETRIES_ACROSS_RANKS);
    if (channel !== null && channel.unreached.length > 0) {
      notes.push(`note: ${channel.unreached.length === 1 ? 'rank' : 'ranks'} ${channel.unreached.join(', ')} did not reach rank 0 over TCP within 10 s; if one stops mid-run, only mpirun will say so`);
    }
    return await trainInRunFolder(run, flags, notes, workers, data.skipped);
  } catch (error) {
    // Rank 0 says what stopped the job; the other ranks, which would wait for it, are told to exit without a word.
    if (ranks.writes) await channel?.endJob();
    throw error;
  } finally {
    channel?.close();
  }
}

/** Rank 0, or the run's one process: locks and prepares the run folder, then trains in it. */
async function trainInRunFolder(run: Run, flags: TrainFlags, notes: Array<string | null>, workers: number, skipped: RunData['skipped']): Promise<number> {
  const { out, config, spec, ranks, initFrom } = run;
  makeFolder(out);
  const reporter = new Reporter(Reporter.choose(flags), config.epochs, { showsLr: config.schedule !== undefined });
  for (const note of notes) if (note !== null) reporter.info(note);
  const lock = lockRunFolder(out, 'train');
  try {
    if (lock.tookOver !== null) reporter.info(`note: took over the lock of ${out} from ${lock.tookOver}`);
    clearExistingRun(out, flags.resume, flags.overwrite === true);
    removeStrayTemporaries(out, [...RUN_FILES, LOCK_FILE]);
    const continues = continuesIn(out, flags.resume);
    // Nothing to resume: the run's files go, so that it can start again here without --overwrite.
    const removeIfUnsaved = (): void => {
      if (!continues && !existsSync(join(out, CHECKPOINT_FILE))) removeRunFiles(out);
    };
    // A new best that a kill left half committed: finished for the checkpoint this run goes on from, else removed.
    settleBest(out, continues ? run.checkpoint?.state.earlyStopping?.bestEpoch : undefined);
    try {
      writeRunConfig(out, { config, spec, initFrom, scheduleFromRun: run.scheduleFromRun }, { workers, ranks: ranks.size });
      const skippedNote = writeSkippedImages(out, config, skipped);
      if (skippedNote !== null) reporter.info(skippedNote);
      return await trainInFolder({ ...run, removeIfUnsaved }, reporter);
    } catch (error) {
      removeIfUnsaved();
      throw error;
    }
  } finally {
    lock.release();
  }
}
