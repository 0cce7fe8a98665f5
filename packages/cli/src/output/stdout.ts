/**
 * Failed writes to stdout. Node reports them as 'error' events on process.stdout after the write
 * has returned (one per failed write); with no listener, the first would crash with a stack trace.
 */
type FailureHandler = (error: NodeJS.ErrnoException) => void;

/** A reader that stops early (lockstep predict ... | head) is not an error; any other failure is. */
const endTheCommand: FailureHandler = (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  process.stderr.write(`lockstep: ${describeStdoutFailure(error)}; check where the output goes\n`);
  process.exit(1);
};

let handler = endTheCommand;

/** Routes stdout failures to the current handler; stderr failures are dropped, as there is nowhere left to report them. */
export function watchStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => handler(error));
  process.stderr.on('error', () => {});
}

/** Sends stdout failures to `replacement` instead of ending the command, until the returned function is called. */
export function onStdoutFailure(replacement: FailureHandler): () => void {
  const previous = handler;
  handler = replacement;
  return () => {
    handler = previous;
  };
}

export function describeStdoutFailure(error: NodeJS.ErrnoException): string {
  return error.code === 'EPIPE' ? 'stdout was closed (EPIPE)' : `cannot write to stdout (${error.code ?? error.message})`;
}

/**
 * For a training run: the first stdout failure aborts the returned signal, so the run stops after
 * the current step and saves, rather than going on unseen or ending with its work unsaved.
 */
export function abortOnStdoutFailure(): { signal: AbortSignal; failure: () => NodeJS.ErrnoException | null; dispose: () => void } {
  const controller = new AbortController();
  let first: NodeJS.ErrnoException | null = null;
  const dispose = onStdoutFailure((error) => {
    first ??= error;
    controller.abort();
  });
  return { signal: controller.signal, failure: () => first, dispose };
}
