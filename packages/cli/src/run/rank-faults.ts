import type { MpiWorld } from '@lockstep/mpi';
import type { FaultChannel, FaultEvent } from './fault-channel.js';

/** After a first lost connection, how long rank 0 waits for more (the ranks of one host go together), so one line names them all. */
const SETTLE_MS = 250;
/** How long a rank whose own training failed waits for rank 0 to end the job before it says why itself and calls MPI_Abort. */
const FAIL_WAIT_MS = 5_000;
/** What the others can tell of a rank whose connection closed without a goodbye. */
const UNSAID = 'without a word (killed by a signal or for lack of memory, or its host was lost)';

export interface FaultContext {
  readonly world: MpiWorld;
  /** The step this rank is in: the optimizer steps completed before it, as in "fit failed at step N". */
  step(): number;
  /** Where the run goes on, the end of the line: the last checkpoint and the command that resumes it. */
  advice(): string;
}

/** The one line that ends a job across ranks when one rank stops: which rank, during which step, why, and how to go on. */
export function faultLine(what: string, advice: string): string {
  return `lockstep: ${what}; the job ends; ${advice}\n`;
}

const named = (ranks: readonly number[], size: number): string => `${ranks.length === 1 ? 'rank' : 'ranks'} ${ranks.join(', ')} of ${size}`;

/**
 * How a run across ranks ends when one rank stops mid-run (docs/design.md, "When a rank stops"). Rank
 * 0 speaks for the job, as it does for a finished one: when a rank reports its own failure, or its
 * connection closes without a goodbye, rank 0 prints the one line, tells every rank to exit and exits.
 * If rank 0 itself is lost, rank 1 says so. The others exit without a word. Every rank leaves with
 * `exitNow`, since its worker thread may wait in a collective that will never complete.
 */
export class RankFaults {
  private readonly channel: FaultChannel;
  private readonly context: FaultContext;
  private readonly lost = new Set<number>();
  private settling: NodeJS.Timeout | null = null;
  private ending = false;
  /** Set while this rank's own failure waits for rank 0: the fallback to run if rank 0 is lost meanwhile. */
  private ownFailure: (() => never) | null = null;

  constructor(channel: FaultChannel, context: FaultContext) {
    this.channel = channel;
    this.context = context;
    channel.onEvent((event) => this.heard(event));
  }

  /**
   * This rank's training failed: the others wait for it in the step's exchange. Rank 0 prints the line
   * and ends the job; another rank tells rank 0, which does, or (rank 0 unreachable, or silent for 5 s)
   * prints the line itself and ends the job with MPI_Abort. Never returns.
   */
  async fail(cause: string): Promise<never> {
    const step = this.context.step();
    const what = `rank ${this.channel.rank} of ${this.channel.size} failed during step ${step}: ${cause}`;
    if (this.channel.rank === 0) return this.end(what);
    const alone = (): never => {
      process.stderr.write(faultLine(what, this.context.advice()));
      return this.context.world.abort(1);
    };
    if (this.channel.unreached.includes(0)) return alone();
    this.ownFailure = alone;
    this.channel.reportFailure(step, cause);
    await new Promise((resolve) => setTimeout(resolve, FAIL_WAIT_MS));
    return alone();
  }

  /** Training ended as it should: goodbye to the others, and nothing more is reported. */
  dispose(): void {
    if (this.settling !== null) clearTimeout(this.settling);
    this.channel.close();
  }

  private heard(event: FaultEvent): void {
    const { rank, size } = this.channel;
    if (event.kind === 'end') this.context.world.exitNow(1);
    if (event.kind === 'failed') void this.end(`rank ${event.rank} of ${size} failed during step ${event.step}: ${event.cause}`);
    if (event.kind !== 'lost') return;
    if (rank !== 0) {
      // Rank 0 is gone: rank 1 says so, unless its own failure was waiting for rank 0 to.
      if (this.ownFailure !== null) this.ownFailure();
      if (rank === 1) process.stderr.write(faultLine(`rank 0 of ${size} ended during step ${this.context.step()} ${UNSAID}`, this.context.advice()));
      this.context.world.exitNow(1);
    }
    this.lost.add(event.rank);
    this.settling ??= setTimeout(() => void this.end(`${named([...this.lost].sort((a, b) => a - b), size)} ended during step ${this.context.step()} ${UNSAID}`), SETTLE_MS);
  }

  /** Rank 0: prints the line, tells every rank the job ends, and exits. */
  private async end(what: string): Promise<never> {
    if (this.ending) return new Promise<never>(() => {});
    this.ending = true;
    if (this.settling !== null) clearTimeout(this.settling);
    process.stderr.write(faultLine(what, this.context.advice()));
    await this.channel.endJob();
    return this.context.world.exitNow(1);
  }
}
