import { augmentGatheredRows, augmentRunKey, checkAugmentFits, isIdentityAugment, type CheckedAugmentSpec, type Dataset } from '@lockstep/core';
import { checkConfig, readConfigFile } from '../config/config-file.js';
import { flagConfig, flagValue, type ConfigFlags } from '../config/flags.js';
import { integer } from '../config/rules.js';
import { settingNamer } from '../config/setting-names.js';
import { DEFAULT_CONFIG } from '../config/settings.js';
import { DEFAULT_SHEET_SAMPLES, MAX_SHEET_SAMPLES } from '../config/sheet-samples.js';
import { skippedImagesNote } from '../data/images/skipped.js';
import { checkImageSettings } from '../data/images/source.js';
import { loadRunData } from '../data/run-data.js';
import { defaultWorkers } from '../config/options.js';
import { UserError } from '../errors.js';
import { contactSheet, type SheetCell } from '../output/contact-sheet.js';
import { checkNewFile, writeFileAtomic } from '../run/files.js';

export interface DataFlags extends ConfigFlags {
  config?: string;
  count?: string;
  epoch?: string;
  out?: string;
  overwrite?: boolean;
}

/** The class names of loaded data where its source knows them (a reader that has names adds `classNames`). */
function classNamesOf(data: object): readonly string[] | undefined {
  const names = (data as { classNames?: unknown }).classNames;
  return Array.isArray(names) && names.every((name) => typeof name === 'string') ? names : undefined;
}

function labelOf(data: Dataset, sample: number, names: readonly string[] | undefined): string {
  const { targets } = data;
  if (targets.kind !== 'classes') return `#${sample}`;
  const label = targets.labels[sample]!;
  return `#${sample} ${names?.[label] ?? `class ${label}`}`;
}

/** The augmentation as a flag would give it: `cropPadding=2 flip ...`, its fields of non-zero strength only. */
function describeAugment(spec: CheckedAugmentSpec): string {
  return Object.entries(spec)
    .filter(([, value]) => value !== 0 && value !== false)
    .map(([field, value]) => (value === true ? field : `${field}=${value}`))
    .join(' ');
}

/**
 * `lockstep data`: a contact sheet of the first training samples of a run's data, each as stored and
 * as the run's augmentation changes it in one epoch, with its label: what the network will see.
 * The samples, the split and the augmentation are those `lockstep train` uses with the same settings.
 */
export async function dataCommand(flags: DataFlags): Promise<number> {
  const count = flagValue('--count', integer(1, MAX_SHEET_SAMPLES), flags.count) ?? DEFAULT_SHEET_SAMPLES;
  const epoch = flagValue('--epoch', integer(0), flags.epoch) ?? 0;
  const out = flags.out ?? 'sheet.png';
  if (!out.toLowerCase().endsWith('.png')) throw new UserError(`--out must name a .png file, got ${JSON.stringify(out)}`);
  checkNewFile(out, flags.overwrite === true);
  // What a run's config.json records of its run (its model, workers, starting weights) has no bearing on the samples.
  const fromFile = flags.config === undefined ? {} : readConfigFile(flags.config).settings;
  const fromFlags = flagConfig(flags);
  const config = checkConfig({ ...DEFAULT_CONFIG, ...fromFile, ...fromFlags }, flags.config ?? 'config');
  checkImageSettings(config, settingNamer(fromFlags, fromFile, flags.config, flags));
  const data = await loadRunData(config, { threads: defaultWorkers() });
  const skipped = skippedImagesNote(data.skipped);
  if (skipped !== null) process.stdout.write(`${skipped}\n`);
  const train = data.train;
  if (train.sampleShape.length !== 3) {
    throw new UserError(`lockstep data draws image samples of shape [C,H,W], but ${config.data} has samples of shape [${train.sampleShape.join(',')}]`);
  }
  if (count > train.size) throw new UserError(`--count ${count} is more than the ${train.size} training samples of ${config.data}; give at most ${train.size}`);
  const samples = Uint32Array.from({ length: count }, (_, i) => i);
  const size = train.sampleSize;
  const stored = train.gatherRows(0, count).slice();
  const augmented = stored.slice();
  const spec = config.augment;
  if (spec !== undefined) {
    checkAugmentFits(spec, train.sampleShape);
    augmentGatheredRows(train.sampleShape, samples, augmented, { spec, key: augmentRunKey(config.seed) }, epoch);
  }
  const names = classNamesOf(data);
  const cells: SheetCell[] = Array.from(samples, (sample, row) => ({
    original: stored.subarray(sample * size, (sample + 1) * size),
    augmented: augmented.subarray(row * size, (row + 1) * size),
    label: labelOf(train, sample, names),
  }));
  const none = spec === undefined || isIdentityAugment(spec);
  const title = [
    `${config.data} seed ${config.seed} epoch ${epoch}`,
    none ? 'no augmentation: both as stored' : 'left stored, right augmented',
    ...(none ? [] : [describeAugment(spec)]),
  ];
  const png = contactSheet(cells, train.sampleShape, title);
  writeFileAtomic(out, png);
  const note = none ? '; no augmentation is set, so both sides are the same (give --augment or "augment" in --config)' : '';
  process.stdout.write(`wrote ${out}: the first ${count} training samples of ${config.data}, as stored and augmented for epoch ${epoch}${note}\n`);
  return 0;
}
