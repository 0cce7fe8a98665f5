/** Exit code of a run stopped with Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/**
 * The first Ctrl-C aborts the returned signal, so training stops after the current step and saves;
 * a second one exits at once. `beforeAbort` clears the terminal (a progress bar) first.
 */
export function abortOnCtrlC(beforeAbort: () => void): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    beforeAbort();
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSignal) };
}
