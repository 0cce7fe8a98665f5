import { expect } from 'vitest';
import { LockstepError } from '../../src/errors.js';

/** The code and message of the LockstepError that `run` throws, to compare whole; fails if it throws none. */
export function failure(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LockstepError);
    return { code: (error as LockstepError).code, message: (error as LockstepError).message };
  }
  throw new Error('expected a LockstepError');
}
