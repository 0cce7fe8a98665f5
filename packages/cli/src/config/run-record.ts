import type { LayerSpec, ModelSpec } from '@lockstep/core';
import { UserError } from '../errors.js';
import type { InitialWeights } from '../run/checkpoint.js';
import type { ConfigFile } from './config-file.js';
import { withDropoutRate } from './model-spec.js';
import { integer, isObject, rule, type Rule } from './rules.js';
import { RUN_FILLED_FIELDS, type ScheduleSetting } from './schedule.js';
import type { RunConfig } from './settings.js';

/**
 * What a run folder's config.json holds beside the settings (run/run-config-file.ts writes it): facts
 * about the run that wrote it, not settings. A config file may hold them, so that a run's config.json
 * can be given back to --config; each command checks them against its own run, or says how its run
 * differs, here.
 */
export interface RunRecord {
  /** The model the run trained: what its settings built for its data. */
  model?: ModelSpec;
  /** The worker threads that trained it; any count gives the same numbers. */
  workers?: number;
  /** The MPI ranks that trained it; any count gives the same numbers. */
  ranks?: number;
  /** The weights it started from (train --init-from, import --weights); absent where it started from its seed's. */
  initFrom?: InitialWeights;
  /** The schedule's fields that it filled in (`T_max`, `total_steps` from its length, `max_lr` from its lr), as its checkpoints record them. */
  scheduleFromRun?: string[];
}

const isSpec = (value: unknown): boolean =>
  isObject(value) &&
  Object.keys(value).length === 2 &&
  Array.isArray(value.input) &&
  value.input.every((side) => Number.isInteger(side) && (side as number) >= 1) &&
  Array.isArray(value.layers) &&
  value.layers.every(isObject);

const isWeights = (value: unknown): boolean =>
  isObject(value) && Object.keys(value).length === 2 && typeof value.file === 'string' && typeof value.sha256 === 'string' && /^[0-9a-f]{64}$/.test(value.sha256);

const asText = (text: string): unknown => text;

export const RECORD_RULES: { readonly [K in keyof RunRecord]-?: Rule<NonNullable<RunRecord[K]>> } = {
  model: rule('the model a run records, {"input": [...], "layers": [...]}', isSpec, asText),
  workers: integer(1),
  ranks: integer(1),
  initFrom: rule('the weights a run records, {"file": "...", "sha256": "..."}', isWeights, asText),
  scheduleFromRun: rule(
    `a list of the schedule's fields a run fills in (${RUN_FILLED_FIELDS.join(', ')})`,
    (value) => Array.isArray(value) && value.every((field) => RUN_FILLED_FIELDS.includes(field as string)),
    asText,
  ),
};

/**
 * The settings a new run takes from a config file: a run folder's config.json without the schedule's
 * fields that its run filled in, so that the new run fills those from its own length and lr (with
 * other --epochs, a T_max kept from the recording run would end the cosine before the run does, or
 * after it). A resumed run takes the file as written, which must then match its checkpoint.
 */
export function newRunSettings({ settings, record }: ConfigFile): Partial<RunConfig> {
  if (settings.schedule === undefined || record.scheduleFromRun === undefined) return settings;
  const fromRun = new Set(record.scheduleFromRun);
  const schedule = Object.fromEntries(Object.entries(settings.schedule).filter(([field]) => !fromRun.has(field))) as ScheduleSetting;
  return { ...settings, schedule };
}

/** The settings that change a run's model, beside "dropout" (which a recorded model takes as "layers" do) and "layers" (which has no flag). */
const MODEL_FLAG_KEYS = ['data', 'hidden', 'imageSize', 'imageChannels'] as const;

/** The flags given, as typed (`shown` names them), that change the model the config file's settings give. */
export function modelFlags(fromFlags: Partial<RunConfig>, shown: (key: keyof RunConfig, value: unknown) => string): string[] {
  return MODEL_FLAG_KEYS.filter((key) => fromFlags[key] !== undefined).map((key) => shown(key, fromFlags[key]));
}

/** Where `spec` departs from `recorded`, as "input [..] where "model" has [..]", or null where they are the same. */
function difference(recorded: ModelSpec, spec: ModelSpec): string | null {
  if (JSON.stringify(recorded.input) !== JSON.stringify(spec.input)) return `input [${spec.input.join(',')}] where "model" has [${recorded.input.join(',')}]`;
  for (let i = 0; i < Math.max(recorded.layers.length, spec.layers.length); i++) {
    const [was, is] = [recorded.layers[i], spec.layers[i]].map((layer) => (layer === undefined ? 'none' : JSON.stringify(layer)));
    if (was !== is) return `layer ${i} ${is} where "model" has ${was}`;
  }
  return null;
}

/**
 * A run's config.json given back trains the same model: its settings ("hidden" or "layers", for the
 * data's input and classes) build it again, and "model" is checked against what they build, not
 * built from, so that flags override it as they override the settings. A "dropout" rate (the file's,
 * --dropout, or each of compare's) replaces the recorded dropout rates, as it replaces those of
 * "layers". Returns a note where `changedBy` (the flags that change the model) made it another; one
 * line where the file's own settings or the data no longer give it.
 */
export function checkRecordedModel({ path, record }: ConfigFile, run: { spec: ModelSpec; dropout?: number }, changedBy: readonly string[]): string | null {
  const recorded = record.model;
  if (recorded === undefined) return null;
  const differs = difference({ input: recorded.input, layers: withDropoutRate(recorded.layers as LayerSpec[], run.dropout) }, run.spec);
  if (differs === null) return null;
  if (changedBy.length > 0) return `note: ${changedBy.join(' and ')} ${changedBy.length === 1 ? 'gives' : 'give'} a model other than the one ${path} records: ${differs}`;
  throw new UserError(`${path}: the settings give this data a model with ${differs}; remove "model" to take the model the settings give, or restore the settings and data of the run that recorded it`);
}

/** Worker and rank counts are not settings, since any give the same numbers: a note where this run's differ from those recorded. */
export function trainedOnNote({ path, record }: ConfigFile, now: { workers: number; ranks: number }): string | null {
  const workers = record.workers ?? now.workers;
  const ranks = record.ranks ?? now.ranks;
  if (workers === now.workers && ranks === now.ranks) return null;
  const counts = (w: number, r: number): string => `${w} worker${w === 1 ? '' : 's'}${record.ranks === undefined ? '' : ` and ${r} rank${r === 1 ? '' : 's'}`}`;
  return `note: ${path} records a run on ${counts(workers, ranks)}; this one trains on ${counts(now.workers, now.ranks)}, which gives the same numbers`;
}

/**
 * The weights a run started from are not in its settings, so they alone would start from the seed's
 * weights and train another model: train takes them only with --init-from beside (or --resume, whose
 * checkpoint holds them), and compare, which always starts from the seed's, not at all.
 */
export function checkInitFrom({ path, record }: ConfigFile, command: 'train' | 'compare'): void {
  const from = record.initFrom;
  if (from === undefined) return;
  const started = `${path}: "initFrom" records that its run started from the weights of ${from.file}`;
  if (command === 'compare') throw new UserError(`${started}, and compare trains every model from its seed's weights; remove "initFrom" to compare from those`);
  throw new UserError(`${started}; add --init-from ${from.file} to start from them too, or remove "initFrom" to start from the seed's weights`);
}
