/** Stable codes, so callers can branch on the kind of failure without parsing messages. */
export type ErrorCode =
  | 'E_OPTION'
  | 'E_SHAPE'
  | 'E_SPEC'
  | 'E_DATA'
  | 'E_IDX'
  | 'E_LABEL'
  | 'E_WORKER'
  | 'E_NUMERIC'
  | 'E_MEMORY'
  | 'E_CLOSED'
  | 'E_BUSY'
  | 'E_FORMAT';

/**
 * Every error lockstep raises on purpose: one line that names the bad thing and says what to do.
 * Anything else that escapes is a bug.
 */
export class LockstepError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LockstepError';
    this.code = code;
  }
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/**
 * A message's end for an object of one of core's classes (`ownClass`) that another copy of
 * `@lockstep/core` made (two versions installed side by side: the same class name, but not an
 * instance of this copy's class), or null for any other value: saying "must be a Dataset, got an
 * object" of a Dataset would leave the user guessing.
 */
export function fromAnotherCopy(value: unknown, ownClass: abstract new (...args: never[]) => unknown): string | null {
  const { name } = ownClass;
  if (typeof value !== 'object' || value === null || value instanceof ownClass || value.constructor?.name !== name) return null;
  return `got a ${name} made by another copy of @lockstep/core (two are installed: npm ls @lockstep/core lists them); make it with the ${name} of the @lockstep/core that @lockstep/workers uses, or install one version only`;
}

/**
 * Throws E_OPTION unless `options` is an object (not null): a constructor or call given none would
 * otherwise fail reading its first field. `fields` ends the message: what the object holds.
 */
export function checkOptionsObject<T>(name: string, options: T, fields: string): T {
  if (typeof options !== 'object' || options === null) {
    throw new LockstepError('E_OPTION', `${name} must be an object ${fields}, got ${describeValue(options)}`);
  }
  return options;
}

/** Throws E_OPTION unless `value` is an integer in [min, max]. */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new LockstepError('E_OPTION', `${name} must be an integer ${range}, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws E_OPTION unless `value` is a finite number above 0. */
export function checkPositive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new LockstepError('E_OPTION', `${name} must be a finite number > 0, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws E_OPTION unless `value` is a finite number in [min, max]; the message leaves out an infinite bound. */
export function checkNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range =
      min === -Infinity && max === Infinity ? ''
      : max === Infinity ? ` >= ${min}`
      : min === -Infinity ? ` <= ${max}`
      : ` in [${min}, ${max}]`;
    throw new LockstepError('E_OPTION', `${name} must be a finite number${range}, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws E_OPTION unless `value` is one of `choices`. */
export function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (!(choices as readonly unknown[]).includes(value)) {
    throw new LockstepError('E_OPTION', `${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describeValue(value)}`);
  }
  return value as T;
}

/**
 * Throws E_OPTION where `given` is not an object, or at its first field that is not in `known`: a
 * misspelled option would otherwise be ignored.
 */
export function checkKnownFields(name: string, given: unknown, known: readonly string[]): void {
  if (typeof given !== 'object' || given === null) throw new LockstepError('E_OPTION', `${name} must be an object (${known.join(', ')}), got ${describeValue(given)}`);
  const unknown = Object.keys(given).find((field) => !known.includes(field));
  if (unknown !== undefined) throw new LockstepError('E_OPTION', `${name}: unknown field "${unknown}"; known fields: ${known.join(', ')}`);
}
