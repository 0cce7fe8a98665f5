import { join } from 'node:path';
import { Trainer } from '@lockstep/workers';
import { checkConfig, readConfigFile } from '../config/config-file.js';
import { flagConfig, flagValue, type ConfigFlags } from '../config/flags.js';
import { runModel } from '../config/model-spec.js';
import { optimizerOf } from '../config/optimizer.js';
import { defaultWorkers, OPTIONS } from '../config/options.js';
import { resumedConfig } from '../config/resume.js';
import { DEFAULT_CONFIG } from '../config/settings.js';
import { runData } from '../data/run-data.js';
import { Reporter } from '../output/report.js';
import { loadCheckpoint } from '../run/checkpoint.js';
import { defaultOutFolder, folderOf, makeFolder, removeStrayTemporaries, writeFileAtomic } from '../run/files.js';
import { stopOnSignals, type Stop } from '../run/interrupt.js';
import { importModules } from '../run/modules.js';
import { lockRunFolder } from '../run/run-lock.js';
import { buildModel } from '../run/trainer.js';
import { trainInFolder } from '../run/training.js';

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

export async function trainCommand(flags: TrainFlags): Promise<number> {
  const stop = stopOnSignals();
  try {
    return await train(flags, stop);
  } finally {
    stop.dispose();
  }
}

async function train(flags: TrainFlags, stop: Stop): Promise<number> {
  const workers = flagValue('--workers', OPTIONS.workers, flags.workers) ?? defaultWorkers();
  const workerHeap = flagValue('--worker-heap', OPTIONS.workerHeap, flags.workerHeap);
  const retries = flagValue('--retries', OPTIONS.retries, flags.retries) ?? 0;
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
  const model = buildModel(spec);
  const out = flags.out ?? (flags.resume === undefined ? defaultOutFolder() : folderOf(flags.resume));
  makeFolder(out);
  const reporter = new Reporter(Reporter.choose(flags), config.epochs);
  const lock = lockRunFolder(out, 'train');
  try {
    if (lock.tookOver !== null) reporter.info(`note: took over the lock of ${out} from ${lock.tookOver}`);
    removeStrayTemporaries(out);
    writeFileAtomic(join(out, 'config.json'), `${JSON.stringify({ ...config, model: spec, workers }, null, 2)}\n`);
    const optimizer = optimizerOf(config);
    const resourceLimits = workerHeap === undefined ? undefined : { maxOldGenerationSizeMb: workerHeap };
    const kernel = config.kernel ?? 'strict';
    // A restarted pool adopts the same model: the Trainer initializes it, and the checkpoint then loads into it.
    const newTrainer = (): Trainer =>
      new Trainer({ model, seed: config.seed, optimizer, chunkSize: config.chunkSize, kernel, workers, setup, resourceLimits });
    return await trainInFolder({ newTrainer, retries, config, spec, data, out, checkpoint, resumedFrom: flags.resume, stop }, reporter);
  } finally {
    lock.release();
  }
}
