import type { Checkpoint } from '../run/checkpoint.js';
import { UserError } from '../errors.js';
import type { RunConfig } from './settings.js';

/**
 * On --resume the checkpoint fixes everything that decides the numbers, except what a diverging run
 * needs to go on: the learning rate and gradient clipping (then the run no longer matches an
 * uninterrupted one, and the caller says so). The length of the run may grow, and how often it saves
 * may change.
 */
export function resumedConfig(checkpoint: Checkpoint, path: string, fromFlags: Partial<RunConfig>, fromFile: Partial<RunConfig>): RunConfig {
  const { epochs, checkpointEvery, lr, clipNorm, ...rest } = { ...fromFile, ...fromFlags };
  for (const [key, value] of Object.entries(rest)) {
    if (JSON.stringify(value) !== JSON.stringify(checkpoint.config[key as keyof RunConfig])) {
      throw new UserError(`${key} cannot change when resuming: ${path} was trained with ${key} ${JSON.stringify(checkpoint.config[key as keyof RunConfig])}`);
    }
  }
  const every = checkpointEvery ?? checkpoint.config.checkpointEvery;
  const clip = clipNorm ?? checkpoint.config.clipNorm;
  return {
    ...checkpoint.config,
    ...rest,
    epochs: epochs ?? checkpoint.config.epochs,
    lr: lr ?? checkpoint.config.lr,
    ...(every === undefined ? {} : { checkpointEvery: every }),
    ...(clip === undefined ? {} : { clipNorm: clip }),
  };
}

/**
 * Whether a resumed run may go on with data of this `fingerprint`: the run is refused where the data
 * changed since the checkpoint, unless `allowChanged`; a note where the run goes on unchecked or changed.
 */
export function resumedDataNote(checkpoint: Checkpoint, path: string, data: string, fingerprint: string, allowChanged: boolean): string | null {
  const recorded = checkpoint.dataFingerprint;
  if (recorded === undefined) return `note: ${path} records no fingerprint of its data (an older lockstep wrote it), so the data could not be checked`;
  if (recorded === fingerprint) return null;
  const change = `${data} changed since ${path} was saved (data fingerprint ${recorded}, now ${fingerprint})`;
  if (!allowChanged) throw new UserError(`${change}; restore the data it was trained on, or add --allow-changed-data to resume on this data anyway`);
  return `note: ${change}; the run will not match an uninterrupted one`;
}
