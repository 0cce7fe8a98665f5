import { join } from 'node:path';
import type { ModelSpec } from '@lockstep/core';
import type { RunConfig } from '../config/settings.js';
import type { InitialWeights } from './checkpoint.js';
import { writeFileAtomic } from './files.js';

/** A run folder's record of its effective config, its model and the weights it started from, for people and tools to read. */
export const CONFIG_FILE = 'config.json';

/** Writes `out`'s config.json; `trainedWith` is where train says how many workers and ranks trained (import trains nothing). */
export function writeRunConfig(out: string, run: { config: RunConfig; spec: ModelSpec; initFrom?: InitialWeights }, trainedWith?: { workers: number; ranks: number }): void {
  const { config, spec, initFrom } = run;
  writeFileAtomic(join(out, CONFIG_FILE), `${JSON.stringify({ ...config, model: spec, ...trainedWith, ...(initFrom === undefined ? {} : { initFrom }) }, null, 2)}\n`);
}
