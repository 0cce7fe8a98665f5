import { checkAugmentSpec, checkDropoutRate, LockstepError, type CheckedAugmentSpec } from '@lockstep/core';
import { UserError } from '../errors.js';
import { decimalHint, isDecimal, withDecimalHint } from './decimal.js';

/**
 * What one setting accepts, said once: a config file's value and a flag's text go through the same
 * `check`; only the way the value is shown differs.
 */
export interface Rule<T> {
  /** `value` if the setting takes it; otherwise throws one line naming `name` and what it takes. */
  check(value: unknown, name: string, shown: string): T;
  /** The value a flag's text stands for, which `check` then judges. */
  fromText(text: string): unknown;
}

/** The number a decimal text stands for; any other text stays text, which a numeric rule then refuses, as CSV data refuses it. */
export const numberOrText = (text: string): unknown => (isDecimal(text) ? Number(text) : text);
const asText = (text: string): unknown => text;

export function rule<T>(expects: string, accepts: (value: unknown) => boolean, fromText: (text: string) => unknown = numberOrText): Rule<T> {
  const hint = fromText === numberOrText ? decimalHint : (): string => '';
  return {
    check(value, name, shown) {
      if (!accepts(value)) throw new UserError(`${name} must be ${expects}, got ${shown}${hint(value)}`);
      return value as T;
    },
    fromText,
  };
}

const isInteger = (value: unknown, min: number, max: number): boolean => Number.isInteger(value) && (value as number) >= min && (value as number) <= max;

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Rule<number> {
  const accepts = (value: unknown): boolean => isInteger(value, min, max);
  if (max !== Number.MAX_SAFE_INTEGER) return rule(`an integer from ${min} to ${max}`, accepts);
  // Past 2^53 - 1 a double skips integers: that bounds every integer setting, and a value beyond it
  // is told so, where ">= min" would not say what is wrong.
  const atLeast = rule<number>(`an integer >= ${min}`, accepts);
  const within = rule<number>(`an integer from ${min} to 2^53 - 1 (${max})`, accepts);
  return { check: (value, name, shown) => (typeof value === 'number' && value > max ? within : atLeast).check(value, name, shown), fromText: numberOrText };
}

export function number(min: number, max = Infinity): Rule<number> {
  const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
  return rule(`a number ${range}`, (value) => Number.isFinite(value) && (value as number) >= min && (value as number) <= max);
}

export function positive(): Rule<number> {
  return rule('a number > 0', (value) => Number.isFinite(value) && (value as number) > 0);
}

export function choice<T extends string>(choices: readonly T[]): Rule<T> {
  return rule(`one of ${choices.join(', ')}`, (value) => (choices as readonly unknown[]).includes(value), asText);
}

/** A non-empty list of integers, written `1024,1024` on the command line. */
export function integerList(min: number, example: string): Rule<number[]> {
  const fromText = (text: string): unknown => text.split(',').map((item) => numberOrText(item.trim()));
  return rule(`a list of integers >= ${min}, e.g. ${example}`, (value) => Array.isArray(value) && value.length > 0 && value.every((item) => isInteger(item, min, Number.MAX_SAFE_INTEGER)), fromText);
}

export function textList(expects: string): Rule<string[]> {
  return rule(expects, (value) => Array.isArray(value) && value.every((item) => typeof item === 'string' && item !== ''), asText);
}

/** A JSON object: not null, not an array. */
export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function objectList(expects: string): Rule<Array<Record<string, unknown>>> {
  return rule(expects, (value) => Array.isArray(value) && value.every(isObject), asText);
}

export function text(expects: string, accepts: (value: string) => boolean): Rule<string> {
  return rule(expects, (value) => typeof value === 'string' && accepts(value), asText);
}

/** A dropout rate: a number, in the range the dropout layers themselves check, with core's check. */
export const dropoutRate: Rule<number> = {
  check(value, name, shown) {
    if (typeof value !== 'number') throw new UserError(`${name} must be a number, got ${shown}${decimalHint(value)}`);
    try {
      return checkDropoutRate(value, name);
    } catch (error) {
      throw error instanceof LockstepError ? new UserError(error.message) : error;
    }
  },
  fromText: numberOrText,
};

/** A flag's `name=value` item: a number, true or false, or the text; a bare name means true. */
function augmentItem(item: string): [string, unknown] {
  const [field, value] = item.split('=', 2) as [string, string | undefined];
  if (value === undefined) return [field.trim(), true];
  const trimmed = value.trim();
  return [field.trim(), trimmed === 'true' ? true : trimmed === 'false' ? false : numberOrText(trimmed)];
}

/**
 * Keyed augmentation (core's `checkAugmentSpec`): an object in a config file; on the command line
 * `cropPadding=2,flip,translate=0.1` or the same JSON object. Messages name the field:
 * `c.json: "augment.flip"`, `--augment flip`.
 */
export const augmentation: Rule<CheckedAugmentSpec> = {
  check(value, name) {
    const field = (key?: string): string => (key === undefined ? name : name.endsWith('"') ? `${name.slice(0, -1)}.${key}"` : `${name} ${key}`);
    try {
      return checkAugmentSpec(value, field);
    } catch (error) {
      // Every field but flip takes a number.
      throw error instanceof LockstepError ? new UserError(withDecimalHint(error.message, value, (key) => key !== 'flip', field)) : error;
    }
  },
  fromText(text) {
    if (text.trim().startsWith('{')) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    }
    return Object.fromEntries(text.split(',').filter((item) => item.trim() !== '').map(augmentItem));
  },
};
