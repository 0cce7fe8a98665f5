import { SETTINGS, type RunConfig } from './settings.js';

/**
 * How a message names a setting and its value: as the user gave it. A flag as typed (`--chunk-size 128`),
 * a config file's key with the file (`"chunkSize": 128 in c.json`), and a default by the flag that
 * would change it.
 */
export function settingNamer(fromFlags: Partial<RunConfig>, fromFile: Partial<RunConfig>, configPath: string | undefined): (key: keyof RunConfig, value: unknown) => string {
  return (key, value) => {
    const flag = SETTINGS[key].flag;
    if (Object.hasOwn(fromFile, key) && !Object.hasOwn(fromFlags, key)) return `"${key}": ${JSON.stringify(value)} in ${configPath}`;
    return flag === undefined ? `"${key}" ${JSON.stringify(value)}` : `${flag} ${JSON.stringify(value)}`;
  };
}
