/**
 * A mistake in what the user gave (a flag, a file, a folder): printed as one line that names the
 * thing and the fix, with a non-zero exit and no stack trace.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}
