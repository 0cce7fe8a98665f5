/**
 * A number as people and CSV writers write one: decimal digits, a point, an exponent (1e-3, .5, 5.,
 * -0.1). JavaScript's Number() would also take 0x10, 0b11, 0o7, Infinity and spaces around the digits,
 * which CSV fields and flags refuse rather than read as a number nobody wrote.
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

/** For a numeric setting given a number written otherwise (0x10, " 1 ", or "16" in a config file): how to write it; '' for any other value. */
export function decimalHint(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') return '';
  const number = Number(value);
  return Number.isFinite(number) ? `; write it as ${number}` : '';
}

/**
 * Core's message about a field of a keyed setting (`--schedule step_size must be an integer >= 1,
 * got "0x10"`), with the decimalHint of that field's value where the field takes a number: `numeric`
 * says which do, and `name` names a field as the message does.
 */
export function withDecimalHint(message: string, fields: unknown, numeric: (field: string) => boolean, name: (field: string) => string): string {
  if (typeof fields !== 'object' || fields === null) return message;
  for (const [field, value] of Object.entries(fields)) {
    const hint = numeric(field) ? decimalHint(value) : '';
    if (hint !== '' && message.startsWith(`${name(field)} `) && message.endsWith(`got ${JSON.stringify(value)}`)) return `${message}${hint}`;
  }
  return message;
}
