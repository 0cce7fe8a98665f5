import { basename } from 'node:path';
import { UserError } from '../errors.js';
import { MAX_CONFIGS } from './compare-limits.js';
import { DEFAULT_CONFIG, SETTING_KEYS, SETTINGS, type RunConfig } from './settings.js';

/** The settings in which the configs of `compare --configs` may differ: what makes the model. */
export const MODEL_KEYS: ReadonlySet<keyof RunConfig> = new Set(['layers', 'hidden', 'dropout']);

/**
 * The settings that compare has a flag for (program.ts; a test keeps the two in step), so that the
 * advice for configs that differ names only a flag compare takes.
 */
export const COMPARE_FLAG_KEYS: ReadonlySet<keyof RunConfig> = new Set([
  'data',
  'imageSize',
  'imageFit',
  'imageChannels',
  'skipBadImages',
  'cacheMb',
  'hidden',
  'dropout',
  'epochs',
  'batchSize',
  'chunkSize',
  'lr',
  'clipNorm',
  'kernel',
  'augment',
  'seed',
]);

/** The files of `--configs a.json,b.json`, in the order given: 1 to 8 distinct paths. */
export function configFilesFlag(value: string): string[] {
  const files = value.split(',').map((item) => item.trim());
  if (files.some((file) => file === '')) throw new UserError(`--configs needs 1 to ${MAX_CONFIGS} config files separated by commas, e.g. a.json,b.json; got ${JSON.stringify(value)}`);
  if (files.length > MAX_CONFIGS) throw new UserError(`--configs takes at most ${MAX_CONFIGS} config files, got ${files.length}; compare them in two runs`);
  const repeated = files.find((file, i) => files.indexOf(file) !== i);
  if (repeated !== undefined) throw new UserError(`--configs lists ${repeated} more than once; give each config file once`);
  return files;
}

/** A config's name in the table, the picture and the run folder: its file name without ".json". */
export const configName = (file: string): string => basename(file).replace(/\.json$/i, '') || basename(file);

/** Names must tell the configs apart: b/x.json and c/x.json would share the name x. */
export function checkDistinctNames(files: readonly string[]): void {
  const names = files.map(configName);
  const i = names.findIndex((name, j) => names.indexOf(name) !== j);
  if (i !== -1) {
    const first = files[names.indexOf(names[i])];
    throw new UserError(`--configs: ${first} and ${files[i]} would both be named ${JSON.stringify(names[i])} in the table and the run folder; rename one of the files`);
  }
}

/** A config file's own value of `key` as a message shows it, with the default where the file leaves it out. */
function shownFileValue(fromFile: Partial<RunConfig>, key: keyof RunConfig): string {
  if (fromFile[key] !== undefined) return JSON.stringify(fromFile[key]);
  const fallback = DEFAULT_CONFIG[key];
  return fallback === undefined ? 'unset' : `unset (the default ${JSON.stringify(fallback)})`;
}

/**
 * A flag sets its setting for every file of --configs; for a setting the models are made of, only
 * where the files agree on it, since otherwise it would erase what the comparison is about.
 */
export function checkFlagsKeepModels(fromFlags: Partial<RunConfig>, files: ReadonlyArray<{ file: string; fromFile: Partial<RunConfig> }>): void {
  const [first, ...others] = files;
  for (const key of MODEL_KEYS) {
    if (fromFlags[key] === undefined) continue;
    const own = (fromFile: Partial<RunConfig>): string => JSON.stringify(fromFile[key] ?? DEFAULT_CONFIG[key]);
    const differs = others.find(({ fromFile }) => own(fromFile) !== own(first.fromFile));
    if (differs === undefined) continue;
    const { flag } = SETTINGS[key];
    throw new UserError(
      `${flag} would give every file of --configs the same "${key}", which is what they differ in ` +
        `(${shownFileValue(first.fromFile, key)} in ${first.file}, ${shownFileValue(differs.fromFile, key)} in ${differs.file}); leave out ${flag} and set "${key}" in each file`,
    );
  }
}

/**
 * The configs compared must differ only in their model: one data set is loaded for all of them,
 * and each is trained for the same epochs with the same seed and optimizer. Says which file
 * departs from the first on which setting, and how to make them agree.
 */
export function checkSameSettings(configs: ReadonlyArray<{ file: string; config: RunConfig }>): void {
  const [first, ...others] = configs;
  for (const { file, config } of others) {
    for (const key of SETTING_KEYS) {
      if (MODEL_KEYS.has(key)) continue;
      const [a, b] = [JSON.stringify(first.config[key]), JSON.stringify(config[key])];
      if (a === b) continue;
      const flag = COMPARE_FLAG_KEYS.has(key) ? SETTINGS[key].flag : undefined;
      const inFile = (value: string | undefined, path: string): string => (value === undefined ? `unset in ${path}` : `${value} in ${path}`);
      throw new UserError(
        `--configs: "${key}" is ${inFile(b, file)} but ${inFile(a, first.file)}; the configs compared may differ only in "layers", "hidden" and "dropout", ` +
          `so give every file the same "${key}"${flag === undefined ? '' : ` or set it for all with ${flag}`}`,
      );
    }
  }
}
