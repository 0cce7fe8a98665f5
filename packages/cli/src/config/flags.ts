import { UserError } from '../errors.js';

/** Flag values arrive as strings; these turn them into checked numbers with a message naming the flag. */
export function integerFlag(name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isInteger(number) || number < min || number > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UserError(`${name} must be an integer ${range}, got "${value}"`);
  }
  return number;
}

export function numberFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < min || number > max) {
    throw new UserError(`${name} must be a number from ${min} to ${max}, got "${value}"`);
  }
  return number;
}

export function positiveNumberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) throw new UserError(`${name} must be a number > 0, got "${value}"`);
  return number;
}

/** A comma-separated list of integers, as in `--hidden 1024,1024`. */
export function integerListFlag(name: string, value: string | undefined, min: number, example: string): number[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => item === '' || !Number.isInteger(Number(item)) || Number(item) < min)) {
    throw new UserError(`${name} must be a comma-separated list of integers >= ${min}, e.g. ${example}, got "${value}"`);
  }
  return items.map(Number);
}

export function choiceFlag<T extends string>(name: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new UserError(`${name} must be one of ${choices.join(', ')}, got "${value}"`);
  return value as T;
}
