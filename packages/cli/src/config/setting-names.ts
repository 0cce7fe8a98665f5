import type { ConfigFlags } from './flags.js';
import { DEFAULT_CONFIG, SETTINGS, type RunConfig } from './settings.js';

/** A flag's value as the user typed it (quoted where the shell needed quotes); a switch is the flag alone. */
function typedFlag(flag: string, text: string | boolean | undefined, value: unknown): string {
  if (typeof text === 'boolean') return flag;
  if (text === undefined) return `${flag} ${JSON.stringify(value)}`;
  return `${flag} ${/^[^\s"'\\]+$/.test(text) ? text : JSON.stringify(text)}`;
}

/**
 * How a message names a setting and its value: as the user gave it. A flag as typed (`--chunk-size 128`,
 * `--image-size 32,32`; `typed` holds the flags' texts), a config file's key and JSON value with the
 * file (`"chunkSize": 128 in c.json`), a default as one (`the default batch size 64`), and any other
 * value (a checkpoint's) by its key.
 */
export function settingNamer(fromFlags: Partial<RunConfig>, fromFile: Partial<RunConfig>, configPath: string | undefined, typed: ConfigFlags): (key: keyof RunConfig, value: unknown) => string {
  return (key, value) => {
    const flag = SETTINGS[key].flag;
    if (Object.hasOwn(fromFlags, key) && flag !== undefined) return typedFlag(flag, (typed as Record<string, string | boolean | undefined>)[key], value);
    if (Object.hasOwn(fromFile, key)) return `"${key}": ${JSON.stringify(value)} in ${configPath}`;
    // Neither gave it: the default, or on --resume the checkpoint's value, which is no default.
    const words = key.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`);
    if (Object.hasOwn(DEFAULT_CONFIG, key) && JSON.stringify(DEFAULT_CONFIG[key]) === JSON.stringify(value)) return `the default ${words} ${JSON.stringify(value)}`;
    return `"${key}" ${JSON.stringify(value)}`;
  };
}

/**
 * The name a setting was given under, for messages about its fields: the flag (`--early-stopping`,
 * which gives `--early-stopping monitor`), the config file's key with the file (`c.json: "earlyStopping"`,
 * which gives `c.json: "earlyStopping.monitor"`), or the bare key where neither gave it (a checkpoint's).
 */
export function settingName(fromFlags: Partial<RunConfig>, fromFile: Partial<RunConfig>, configPath: string | undefined): (key: keyof RunConfig) => string {
  return (key) => {
    const flag = SETTINGS[key].flag;
    if (Object.hasOwn(fromFlags, key) && flag !== undefined) return flag;
    if (Object.hasOwn(fromFile, key)) return `${configPath}: "${key}"`;
    return key;
  };
}
