import { foldInString, permutation, rootKey, type Dataset } from '@lockstep/core';
import type { RunConfig } from '../config/settings.js';
import { UserError } from '../errors.js';
import { loadData } from './sources.js';

/** A seeded split of `data` into training and validation samples. */
export function splitValidation(data: Dataset, fraction: number, seed: number): { train: Dataset; validation: Dataset | null } {
  const count = Math.round(data.size * fraction);
  if (count === 0) return { train: data, validation: null };
  if (count === data.size) {
    throw new UserError(`"validationSplit": ${fraction} of ${data.size} sample${data.size === 1 ? '' : 's'} leaves none to train on; lower "validationSplit" or add samples`);
  }
  const order = permutation(foldInString(rootKey(seed), 'validation-split'), data.size);
  return { train: data.select(order.subarray(count)), validation: data.select(order.subarray(0, count)) };
}

/** The data of a run: the same seeded validation split every time the same config is loaded. */
export function runData(config: RunConfig, dataOverride?: string): { train: Dataset; validation: Dataset | null; test: Dataset | null; fingerprint: string } {
  const loaded = loadData(dataOverride ?? config.data, config.seed);
  return { ...splitValidation(loaded.train, config.validationSplit, config.seed), test: loaded.test, fingerprint: loaded.fingerprint };
}
