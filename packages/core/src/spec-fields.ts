import { LockstepError, describeValue } from './errors.js';
import { INIT_NAMES } from './init.js';

/** What a field of a layer entry must hold; the walker checks every field before a layer is built. */
export type FieldKind =
  | 'int'
  | 'pair'
  | 'pair0'
  | 'number'
  | 'rate'
  | 'positive'
  | 'boolean'
  | 'shape'
  | 'init'
  | 'scaling'
  | 'approximate'
  | 'layers';

/** The fields a layer entry may have besides "type"; any other field is an error. */
export interface LayerFields {
  readonly required?: Readonly<Record<string, FieldKind>>;
  readonly optional?: Readonly<Record<string, FieldKind>>;
}

const CHOICES: Partial<Record<FieldKind, readonly string[]>> = {
  init: INIT_NAMES,
  scaling: ['inverted', 'classic'],
  approximate: ['none', 'tanh'],
};

const EXPECTED: Record<FieldKind, string> = {
  int: 'a positive integer',
  pair: 'a positive integer or a list of two',
  pair0: 'an integer >= 0 or a list of two',
  number: 'a finite number',
  rate: 'a number in [0, 1]',
  positive: 'a finite number > 0',
  boolean: 'true or false',
  shape: 'a non-empty list of positive integers',
  layers: 'a list of layers',
  init: `one of ${INIT_NAMES.map((c) => JSON.stringify(c)).join(', ')}`,
  scaling: 'one of "inverted", "classic"',
  approximate: 'one of "none", "tanh"',
};

const FIELD_KINDS = Object.keys(EXPECTED).join(', ');
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Throws E_SPEC unless `fields` is what a layer declaration may hold: at most `required` and
 * `optional`, each mapping field names to kinds. Checked when the layer is registered, so a mistake in
 * a declaration is named there rather than failing inside the walker at the first entry of its type.
 */
export function checkDeclaredFields(owner: string, fields: unknown): void {
  if (!isObject(fields)) {
    throw new LockstepError('E_SPEC', `${owner}: "fields" must be an object like { required: { out: 'int' }, optional: { bias: 'boolean' } } ({} for none), got ${describeValue(fields)}`);
  }
  for (const [group, kinds] of Object.entries(fields)) {
    if (group !== 'required' && group !== 'optional') throw new LockstepError('E_SPEC', `${owner}: unknown field "${group}" in "fields"; known fields: required, optional`);
    if (!isObject(kinds)) throw new LockstepError('E_SPEC', `${owner}: "fields.${group}" must be an object of field names and kinds, got ${describeValue(kinds)}`);
    for (const [name, kind] of Object.entries(kinds)) {
      // hasOwn, not `in`: "constructor" is no field kind, though every object has one.
      if (typeof kind !== 'string' || !Object.hasOwn(EXPECTED, kind)) {
        throw new LockstepError('E_SPEC', `${owner}: "fields.${group}.${name}" must be a field kind, one of ${FIELD_KINDS}, got ${describeValue(kind)}`);
      }
    }
  }
}

function isPair(value: unknown, min: number): boolean {
  const ok = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= min;
  return ok(value) || (Array.isArray(value) && value.length === 2 && value.every(ok));
}

function fits(kind: FieldKind, value: unknown): boolean {
  switch (kind) {
    case 'int':
      return Number.isInteger(value) && (value as number) >= 1;
    case 'pair':
      return isPair(value, 1);
    case 'pair0':
      return isPair(value, 0);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'rate':
      return typeof value === 'number' && value >= 0 && value <= 1;
    case 'positive':
      return typeof value === 'number' && Number.isFinite(value) && value > 0;
    case 'boolean':
      return typeof value === 'boolean';
    case 'shape':
      return Array.isArray(value) && value.length > 0 && value.every((d) => Number.isInteger(d) && d >= 1);
    case 'layers':
      return Array.isArray(value);
    default:
      return CHOICES[kind]!.includes(value as string);
  }
}

/** Throws the spec error of the entry at `where` ("layers[2] (linear)"); `cause` keeps the stack of an error it rewords. */
export function specError(where: string, message: string, cause?: unknown): never {
  throw new LockstepError('E_SPEC', `model spec${where === '' ? '' : ` ${where}`}: ${message}`, cause === undefined ? undefined : { cause });
}

export function checkField(where: string, name: string, kind: FieldKind, value: unknown): void {
  if (fits(kind, value)) return;
  specError(where, `"${name}" must be ${EXPECTED[kind]}, got ${kind === 'shape' ? JSON.stringify(value) : describeValue(value)}`);
}

/** Checks the fields of one entry: the required ones are there, and each one present has its kind. */
export function checkFields(where: string, fields: LayerFields, entry: Readonly<Record<string, unknown>>): void {
  const required = fields.required ?? {};
  const optional = fields.optional ?? {};
  for (const [name, kind] of Object.entries(required)) {
    if (!Object.hasOwn(entry, name)) specError(where, `"${name}" is required`);
    checkField(where, name, kind, entry[name]);
  }
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'type' || Object.hasOwn(required, name)) continue;
    if (!Object.hasOwn(optional, name)) {
      const known = [...Object.keys(required), ...Object.keys(optional)];
      specError(where, `unknown field "${name}"${known.length > 0 ? `; known fields: ${known.join(', ')}` : ''}`);
    }
    checkField(where, name, optional[name]!, value);
  }
}
