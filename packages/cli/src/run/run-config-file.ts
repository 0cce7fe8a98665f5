import { join } from 'node:path';
import type { ModelSpec } from '@lockstep/core';
import { SETTING_KEYS, type RunConfig } from '../config/settings.js';
import type { InitialWeights } from './checkpoint.js';
import { writeFileAtomic } from './files.js';

/**
 * A run folder's record of its effective config, its model and the weights it started from, for people
 * and tools to read, and to give back to --config (config/run-record.ts says what the keys beside the
 * settings mean there).
 */
export const CONFIG_FILE = 'config.json';

/**
 * Writes `out`'s config.json; `trainedWith` is where train says how many workers and ranks trained
 * (import trains nothing), and `scheduleFromRun` the schedule's fields the run filled in.
 */
export function writeRunConfig(
  out: string,
  run: { config: RunConfig; spec: ModelSpec; initFrom?: InitialWeights; scheduleFromRun: readonly string[] },
  trainedWith?: { workers: number; ranks: number },
): void {
  const { config, spec, initFrom, scheduleFromRun } = run;
  // The settings in their table's order, imageData (set once the data are read) too, so that a run from this file as --config writes the same file.
  const settings = Object.fromEntries(SETTING_KEYS.filter((key) => config[key] !== undefined).map((key) => [key, config[key]]));
  const record = { model: spec, ...trainedWith, ...(scheduleFromRun.length === 0 ? {} : { scheduleFromRun }), ...(initFrom === undefined ? {} : { initFrom }) };
  writeFileAtomic(join(out, CONFIG_FILE), `${JSON.stringify({ ...settings, ...record }, null, 2)}\n`);
}
