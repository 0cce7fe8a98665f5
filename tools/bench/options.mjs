// The benches' command-line options: an unknown flag or a bad value ends the bench with one line
// naming the flag, before any work starts.
import { parseArgs } from 'node:util';

/** The flags' values (node:util parseArgs), or exit 2 with parseArgs' complaint in one line. */
export function parseFlags(options) {
  try {
    return parseArgs({ options }).values;
  } catch (error) {
    console.error(error.message.split('\n')[0]);
    process.exit(2);
  }
}

/** `value` (a flag's text) as a positive integer, or exit 2 saying which flag to fix. */
export function positiveInteger(flag, value) {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) {
    console.error(`--${flag} must be a positive integer, got "${value}"`);
    process.exit(2);
  }
  return number;
}

/** `value` if it is one of `choices`, or exit 2 listing them. */
export function oneOf(flag, value, choices) {
  if (!choices.includes(value)) {
    console.error(`--${flag} must be one of ${choices.join(', ')}, got "${value}"`);
    process.exit(2);
  }
  return value;
}
