import { learningRateAt } from '@lockstep/core';
import type { Checkpoint } from '../run/checkpoint.js';
import { UserError } from '../errors.js';
import { describeModel, dropoutRates } from './model-spec.js';
import { scheduleOf } from './schedule.js';
import { SETTINGS, type RunConfig } from './settings.js';

/** What a setting that the checkpoint's config leaves out meant to the run that saved it. */
function trainedWith(checkpoint: Checkpoint, key: keyof RunConfig): unknown {
  const value = checkpoint.config[key];
  if (value !== undefined) return value;
  if (key === 'kernel') return 'strict';
  if (key === 'dropout') {
    const rates = new Set(dropoutRates(checkpoint.spec));
    return rates.size === 1 ? [...rates][0] : undefined;
  }
  return undefined;
}

/**
 * On --resume the checkpoint fixes everything that decides the numbers, except what a diverging run
 * needs to go on: the learning rate and gradient clipping (then the run no longer matches an
 * uninterrupted one, and the caller says so). A one-cycle schedule's rates do not follow lr, so a
 * new lr is refused there rather than recorded and ignored. The length of the run may grow, and how
 * often it saves and how much of its image data it caches may change. The config's `modules` name
 * the checkpoint's modules from this folder, and importNamedModules checks that they are the run's files.
 */
export function resumedConfig(checkpoint: Checkpoint, path: string, fromFlags: Partial<RunConfig>, fromFile: Partial<RunConfig>): RunConfig {
  const { epochs, checkpointEvery, lr, clipNorm, cacheMb, modules: _modules, ...rest } = { ...fromFile, ...fromFlags };
  // Errors name what the user typed: the flag, or else the config file's key.
  const named = (key: keyof RunConfig): string => (key in fromFlags ? SETTINGS[key].flag! : key);
  for (const [key, value] of Object.entries(rest) as Array<[keyof RunConfig, unknown]>) {
    const trained = trainedWith(checkpoint, key);
    if (JSON.stringify(value) !== JSON.stringify(trained)) {
      const fix = key in fromFlags ? `; leave out ${named(key)}` : '';
      // A run of "layers" records hidden's default too, which never shaped its model.
      const was =
        key === 'hidden' && checkpoint.config.layers !== undefined
          ? `with "layers" (${describeModel(checkpoint.spec)}), which hidden does not apply to`
          : trained === undefined
            ? `without ${key}`
            : `with ${key} ${JSON.stringify(trained)}`;
      throw new UserError(`${named(key)} cannot change when resuming: ${path} was trained ${was}${fix}`);
    }
  }
  const cycle = checkpoint.config.schedule;
  if (lr !== undefined && lr !== checkpoint.config.lr && cycle?.kind === 'one-cycle') {
    throw new UserError(
      `${named('lr')} cannot change when resuming ${path}: its one-cycle schedule takes every rate from max_lr ${cycle.max_lr} and total_steps ${cycle.total_steps}, fixed when the run started, not from lr; ` +
        `leave out ${named('lr')}, or start a new run with the max_lr you want (max_lr is lr unless given)`,
    );
  }
  const { epoch, batch } = checkpoint.state;
  if (epochs !== undefined && (epochs < epoch || (epochs === epoch && batch > 0))) {
    const trained = `${epoch} epochs${batch > 0 ? ` and ${batch} batches of epoch ${epoch + 1}` : ''}`;
    throw new UserError(`${named('epochs')} ${epochs} is fewer than ${path} has already trained (${trained}); give ${named('epochs')} ${epoch + 1} or more to train on`);
  }
  const every = checkpointEvery ?? checkpoint.config.checkpointEvery;
  const clip = clipNorm ?? checkpoint.config.clipNorm;
  const cache = cacheMb ?? checkpoint.config.cacheMb;
  return {
    ...checkpoint.config,
    ...rest,
    ...(cache === undefined ? {} : { cacheMb: cache }),
    epochs: epochs ?? checkpoint.config.epochs,
    lr: lr ?? checkpoint.config.lr,
    ...(every === undefined ? {} : { checkpointEvery: every }),
    ...(clip === undefined ? {} : { clipNorm: clip }),
  };
}

/**
 * The position a run resumed with `lr` goes on from. A plateau schedule keeps its own rate, which an
 * lr other than the checkpoint's replaces, as ReduceLROnPlateau goes on from a rate set on PyTorch's
 * optimizer (its min_lr, best, bad epochs and cooldown stay); the other schedules compute each rate
 * from lr. A checkpoint the resumed run saved records its lr, so its state is taken as it is.
 */
export function resumedState(checkpoint: Checkpoint, lr: number): Checkpoint['state'] {
  const { state } = checkpoint;
  if (lr === checkpoint.config.lr || state.schedule === undefined) return state;
  return { ...state, schedule: { ...state.schedule, lr } };
}

/** Says that a resumed run's lr changed, and with a schedule, what that makes the rate of its next step. */
export function lrChangeNote(checkpoint: Checkpoint, lr: number): string | null {
  const was = checkpoint.config.lr;
  if (lr === was) return null;
  const { step, epoch } = checkpoint.state;
  const schedule = checkpoint.config.schedule;
  const state = resumedState(checkpoint, lr);
  const next = Number(learningRateAt(lr, scheduleOf(schedule), step, epoch, state.schedule ?? null).toPrecision(4));
  const effect =
    schedule === undefined
      ? ''
      : schedule.kind === 'plateau'
        ? ` (the plateau schedule's rate was ${Number((checkpoint.state.schedule?.lr ?? was).toPrecision(4))}; it goes on from ${next})`
        : ` (the base rate of the ${schedule.kind} schedule: the next step trains at ${next})`;
  return `note: lr changes from ${was} to ${lr} at step ${step}${effect}; the run will not match an uninterrupted one`;
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
