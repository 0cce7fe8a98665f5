import { readFileSync } from 'node:fs';
import { UserError } from '../errors.js';
import { isObject } from './rules.js';
import { RECORD_RULES, type RunRecord } from './run-record.js';
import { DEFAULT_CONFIG, SETTING_KEYS, SETTINGS, type RunConfig } from './settings.js';

/** A config file as read: its settings, and, where it is a run folder's config.json, what it records of that run. */
export interface ConfigFile {
  readonly path: string;
  readonly settings: Partial<RunConfig>;
  readonly record: RunRecord;
}

/** A value of a config file as a message shows it: short, and on one line. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function objectOf(value: unknown, where: string): Record<string, unknown> {
  if (!isObject(value)) throw new UserError(`${where} must hold a JSON object of settings, got ${shown(value)}`);
  return value;
}

/** The settings `object` gives, each checked by its rule; `where` names the file in messages. */
function checkSettings(object: unknown, where: string, complete: boolean): Partial<RunConfig> {
  const given = objectOf(object, where);
  const unknown = Object.keys(given).find((key) => !Object.hasOwn(SETTINGS, key));
  if (unknown !== undefined) throw new UserError(`${where}: Unrecognized key: ${JSON.stringify(unknown)}`);
  const checked: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const value = Object.hasOwn(given, key) ? given[key] : undefined;
    // Every setting without a default is optional.
    if (value === undefined && !(complete && Object.hasOwn(DEFAULT_CONFIG, key))) continue;
    checked[key] = SETTINGS[key].rule.check(value, `${where}: "${key}"`, shown(value));
  }
  return checked as Partial<RunConfig>;
}

/** Reads and checks a config file: only the keys it sets, each checked; `flag` is the flag that named it. */
export function readConfigFile(path: string, flag = '--config'): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read the config file ${path}: ${(error as NodeJS.ErrnoException).code}; check the path given to ${flag}`);
  }
  return parseConfigText(text, path);
}

/** Checks the text of a config file named `path`: only the keys it sets, each checked. */
export function parseConfigText(text: string, path: string): ConfigFile {
  let parsed: unknown;
  try {
    // Windows editors save UTF-8 with a byte order mark, which JSON.parse refuses; a space in its
    // place keeps the positions in V8's messages those of the file.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ' '));
  } catch (error) {
    // V8 quotes the text around a bad token, newlines and all.
    throw new UserError(`${path} is not valid JSON: ${(error as Error).message.replace(/\s+/g, ' ')}`);
  }
  const given = objectOf(parsed, path);
  const unknown = Object.keys(given).find((key) => !Object.hasOwn(SETTINGS, key) && !Object.hasOwn(RECORD_RULES, key));
  if (unknown !== undefined) throw new UserError(`${path}: ${JSON.stringify(unknown)} is not a setting; remove it or correct its name (lockstep train --help lists the settings)`);
  const record: Record<string, unknown> = {};
  for (const [key, rule] of Object.entries(RECORD_RULES)) {
    if (Object.hasOwn(given, key)) record[key] = rule.check(given[key], `${path}: "${key}"`, shown(given[key]));
  }
  const settings = Object.fromEntries(Object.entries(given).filter(([key]) => !Object.hasOwn(RECORD_RULES, key)));
  return { path, settings: checkSettings(settings, path, false), record };
}

/** A whole run's config: every setting checked, none missing. */
export function checkConfig(config: unknown, where: string): RunConfig {
  return checkSettings(config, where, true) as RunConfig;
}
