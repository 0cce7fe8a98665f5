/**
 * A number as people and CSV writers write one: decimal digits, a point, an exponent (1e-3, .5, 5.,
 * -0.1). JavaScript's Number() would also take 0x10, 0b11, 0o7, Infinity and spaces around the digits,
 * which CSV fields and flags refuse rather than read as a number nobody wrote.
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}
