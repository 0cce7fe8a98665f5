import { availableParallelism } from 'node:os';
import { MAX_MC_SAMPLES } from '@lockstep/core';
import { choice, integer, type Rule } from './rules.js';
import { SETTINGS } from './settings.js';

/** The flags of a command that are not run settings: they change how a run goes, never its numbers. */
export const OPTIONS = {
  workers: integer(1, 1024),
  workerHeap: integer(16),
  retries: integer(0, 100),
  mcSamples: integer(1, MAX_MC_SAMPLES),
  /** The seed of eval's and predict's Monte Carlo masks: a seed like the run's. */
  seed: SETTINGS.seed.rule,
  format: choice(['json', 'csv'] as const),
  /** Which samples eval measures: the data's test set, or the run's validation split (the one its metrics.jsonl's valLoss comes from). */
  split: choice(['test', 'validation'] as const),
  /** Module files the user names, so that their code may run: written `a.mjs,b.mjs` on the command line. */
  modules: { ...SETTINGS.modules.rule, fromText: (text: string): unknown => text.split(',') },
} satisfies Record<string, Rule<unknown>>;

export function defaultWorkers(): number {
  return availableParallelism();
}
