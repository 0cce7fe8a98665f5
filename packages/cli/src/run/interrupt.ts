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
  /**
   * Replaces what a second Ctrl-C does just before it exits: `finish` tidies what must not stay and
   * returns the line saying what is on disk and how to go on. A command calls it again as that changes;
   * on a rank that says nothing (no notice) `finish` is never called.
   */
  whenStoppedAtOnce(finish: () => string): void;
  dispose(): void;
}

/** What a command says on stderr when a stop signal comes; null for a rank other than 0, which says nothing (rank 0 speaks for the job). */
export interface StopNotice {
  /** Said at the first signal, at once: what happens now, and that Ctrl-C again stops at once. */
  readonly stopping: string;
  /** Says what a second Ctrl-C leaves, until the command knows more (`whenStoppedAtOnce`). */
  readonly stoppedAtOnce: () => string;
}

/**
 * Handles the stop signals for a command's whole life. It is installed before the run folder is
 * locked, so no signal ends the process between taking the lock and releasing it, and a process that
 * is PID 1 in a container (which gets no default action for any signal) stops on SIGTERM too.
 * The first signal is answered on stderr at once, since the step it waits for can take minutes.
 * A second Ctrl-C exits at once, saying what is on disk: a person who presses it twice means it.
 * A repeated SIGTERM or SIGHUP changes nothing: a stop can arrive as both (systemd's SendSIGHUP) or
 * twice (a package manager that forwards the signal it also got), and orchestrators escalate with
 * SIGKILL, not with another SIGTERM.
 */
export function stopOnSignals(notice: StopNotice | null): Stop {
  const controller = new AbortController();
  let first: StopSignal | null = null;
  let stoppedAtOnce = notice?.stoppedAtOnce ?? null;
  const say = (text: string): void => {
    process.stderr.write(`lockstep: ${text}\n`);
  };
  const onSignal = (signal: StopSignal): void => {
    if (first === null) {
      first = signal;
      // Its listeners take a progress bar off the terminal before the line is written.
      controller.abort();
      // A signal other than Ctrl-C is named: in a job's log it is the only trace of who stopped the run.
      if (notice !== null) say(`${signal === 'SIGINT' ? '' : `${signal}: `}${notice.stopping}`);
    } else if (signal === 'SIGINT') {
      // Saves are synchronous, so this runs between them: the last checkpoint is whole, and the lock goes with the 'exit' event.
      if (stoppedAtOnce !== null) say(stoppedAtOnce());
      process.exit(exitCodeOf(first));
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    signal: controller.signal,
    get exitCode() {
      return exitCodeOf(first ?? 'SIGINT');
    },
    whenStoppedAtOnce: (finish) => {
      if (notice !== null) stoppedAtOnce = finish;
    },
    dispose: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}
