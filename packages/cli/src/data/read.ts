import { readFileSync } from 'node:fs';
import { UserError } from '../errors.js';

/** The bytes of a data file, or one line naming it. */
export function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
}
