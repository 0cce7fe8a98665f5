import { join } from 'node:path';
import { checkAugmentFits, defaultLoss, fingerprint, KERNEL_FAMILIES, newTrainingState } from '@lockstep/core';
import { checkBatching } from '../config/batching.js';
import { checkConfig, readConfigFile } from '../config/config-file.js';
import { runModel } from '../config/model-spec.js';
import { optimizerOf } from '../config/optimizer.js';
import { checkRecordedModel, newRunSettings } from '../config/run-record.js';
import { checkTrainingSettings } from '../config/schedule.js';
import { settingName, settingNamer } from '../config/setting-names.js';
import { DEFAULT_CONFIG } from '../config/settings.js';
import { usefulWorkers } from '../config/workers.js';
import { writeSkippedImages } from '../data/images/skipped.js';
import { checkImageSettings } from '../data/images/source.js';
import { loadRunData } from '../data/run-data.js';
import { UserError } from '../errors.js';
import { saveCheckpoint } from '../run/checkpoint.js';
import { clearExistingRun, removeRunFiles, RUN_FILES } from '../run/existing-run.js';
import { defaultOutFolder, makeFolder, removeStrayTemporaries } from '../run/files.js';
import { loadWeights, readWeightsFile } from '../run/initial-weights.js';
import { importModules } from '../run/modules.js';
import { runCheckpoint } from '../run/run-checkpoint.js';
import { CONFIG_FILE, writeRunConfig } from '../run/run-config-file.js';
import { LOCK_FILE, lockRunFolder } from '../run/run-lock.js';
import { buildModel, checkTrainable } from '../run/trainer.js';
import { CHECKPOINT_FILE } from '../run/training.js';

export interface ImportFlags {
  config?: string;
  weights?: string;
  out?: string;
  overwrite?: boolean;
  json?: boolean;
}

/**
 * Makes a run folder from a config and a .safetensors file of weights, without training: the model
 * of the config's "layers" (or "hidden") for its data, as train builds it, holding the file's
 * tensors (parameters and BatchNorm's running statistics) bit for bit, in a checkpoint at step 0
 * with a fresh optimizer state. eval, predict and export take it as a trained run's checkpoint, and
 * train --resume trains it as train --init-from with the same file and config would. Everything is
 * checked, in train's order and with its messages, before the folder is touched.
 */
export async function importCommand(flags: ImportFlags): Promise<number> {
  if (flags.config === undefined) throw new UserError('--config is required: the config file (as train takes it) whose "layers" or "hidden" and "data" give the model the weights are for');
  if (flags.weights === undefined) throw new UserError('--weights is required: the .safetensors file of the weights, named as PyTorch\'s nn.Sequential names them');
  const weights = readWeightsFile(flags.weights, '--weights');
  // A run's config.json may be given: its "model" is checked below; its "workers", "ranks" and "initFrom" describe a run that trained, and an import trains nothing and starts from --weights.
  const file = readConfigFile(flags.config);
  const fromFile = newRunSettings(file);
  const config = checkConfig({ ...DEFAULT_CONFIG, ...fromFile }, flags.config);
  const shown = settingNamer({}, fromFile, flags.config, {});
  checkBatching(config, shown);
  checkImageSettings(config, shown);
  const { workers } = usefulWorkers(undefined, config);
  const modules = await importModules(config.modules);
  // The model's input shape and classes, a CSV's columns and an image run's classes and normalization come from the data, as in train.
  const data = await loadRunData(config, { threads: workers });
  if (config.augment !== undefined) checkAugmentFits(config.augment, data.train.sampleShape);
  const scheduleFromRun = checkTrainingSettings(config, data, defaultLoss(data.train.targets).reportsAccuracy, undefined, settingName({}, fromFile, flags.config));
  if (data.imageData !== undefined) config.imageData = data.imageData;
  const spec = runModel(config, data.train, null);
  checkRecordedModel(file, { spec, dropout: config.dropout }, []);
  const model = buildModel(spec);
  const loaded = loadWeights(model, weights, `${flags.config}'s "layers" or "hidden"`);
  const optimizer = optimizerOf(config);
  // The checkpoint is a run's start: refused where train would refuse the run.
  checkTrainable(model, data, { optimizer, batchSize: config.batchSize, chunkSize: config.chunkSize, workers, ranks: 1 }, flags.config);
  const { optimizerState, ...state } = newTrainingState(model, optimizer);
  const run = { config, spec, data, initFrom: weights.record, modules, scheduleFromRun };
  const checkpoint = runCheckpoint(run, { optimizer, kernel: KERNEL_FAMILIES[config.kernel ?? 'strict'], params: model.params, optimizerState, buffers: model.buffers, state });

  const out = flags.out ?? defaultOutFolder('import-');
  makeFolder(out);
  const lock = lockRunFolder(out, 'import');
  try {
    clearExistingRun(out, undefined, flags.overwrite === true);
    removeStrayTemporaries(out, [...RUN_FILES, LOCK_FILE]);
    try {
      writeRunConfig(out, run);
      const skippedNote = writeSkippedImages(out, config, data.skipped);
      if (skippedNote !== null) process.stderr.write(`${skippedNote}\n`);
      // Last: a folder with a checkpoint holds a whole import.
      saveCheckpoint(join(out, CHECKPOINT_FILE), checkpoint);
    } catch (error) {
      removeRunFiles(out);
      throw error;
    }
  } finally {
    lock.release();
  }
  const path = join(out, CHECKPOINT_FILE);
  const values = model.size + model.buffers.length;
  const print = fingerprint(model.params, model.buffers);
  if (flags.json === true) {
    console.log(JSON.stringify({ imported: flags.weights, sha256: weights.record.sha256, tensors: loaded.size, values, checkpoint: path, config: join(out, CONFIG_FILE), fingerprint: print }));
  } else {
    console.log(`imported ${flags.weights} (${loaded.size} tensors, ${values} values) as the model of ${flags.config} into ${path}, at step 0; sha256 ${weights.record.sha256}`);
    console.log(`fingerprint ${print}`);
  }
  return 0;
}
