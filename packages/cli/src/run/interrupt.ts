import { constants } from 'node:os';

/**
 * The signals that stop a run the way Ctrl-C does: SIGTERM is how Kubernetes, systemd, Docker and CI
 * runners stop a job (SIGKILL follows after a grace period), and SIGHUP comes when the terminal closes.
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** The shell's code for a process ended by `signal`, 128 + its number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. */
export function exitCodeOf(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

export interface Stop {
  /** Aborted by the first stop signal: training finishes the current step, saves and ends. */
  readonly signal: AbortSignal;
  /** The exit code for the signal that stopped the command; 130 before any came. */
  readonly exitCode: number;
  dispose(): void;
}

/**
 * Handles the stop signals for a command's whole life. It is installed before the run folder is
 * locked, so no signal ends the process between taking the lock and releasing it, and a process that
 * is PID 1 in a container (which gets no default action for any signal) stops on SIGTERM too.
 * A second Ctrl-C exits at once: a person who presses it twice means it. A repeated SIGTERM or SIGHUP
 * changes nothing: a stop can arrive as both (systemd's SendSIGHUP) or twice (a package manager that
 * forwards the signal it also got), and orchestrators escalate with SIGKILL, not with another SIGTERM.
 */
export function stopOnSignals(): Stop {
  const controller = new AbortController();
  let first: StopSignal | null = null;
  const onSignal = (signal: StopSignal): void => {
    if (first === null) {
      first = signal;
      controller.abort();
    } else if (signal === 'SIGINT') {
      // Saves are synchronous, so this runs between them: the last checkpoint is whole, and the lock goes with the 'exit' event.
      process.exit(exitCodeOf(first));
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    signal: controller.signal,
    get exitCode() {
      return exitCodeOf(first ?? 'SIGINT');
    },
    dispose: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}

