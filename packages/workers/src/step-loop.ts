import type { StepReport } from '@lockstep/core';
import { setImmediate as eventLoopTurn } from 'node:timers/promises';
import type { Piscina } from 'piscina';
import { abortSteps, allReported, allReportedWithin, ordersRung, readReport, ring, STOP } from './doorbell.js';
import type { StepViews } from './layout.js';
import type { DoorbellOrder, StepLoopTask } from './messages.js';

/** How long a blocking coordinator waits for a step's reports before it waits on the event loop instead. */
const BLOCK_MS = 10;
/** The longest a blocking coordinator goes without a turn of the event loop (signals, output, worker messages). */
const EVENT_LOOP_TURN_MS = 20;

/**
 * The coordinator's side of a run of optimizer steps: one 'step-loop' task per worker for the whole
 * run, then one ring of the step buffer's doorbell per step. Between steps every worker waits for
 * the next order, so the coordinator's callbacks see parameters that nothing is changing.
 *
 * With `blocking`, the coordinator waits for a step's reports with its thread blocked, for up to
 * `BLOCK_MS`, and lets the event loop turn at least every `EVENT_LOOP_TURN_MS`: for a trainer that
 * shares its main thread with no other (ranks joined in shared memory must not, as one waits on
 * another's ring).
 */
export class StepLoop {
  private readonly views: StepViews;
  private readonly parties: number;
  private readonly settled: Promise<unknown>;
  private readonly failed: Promise<void>;
  /** Worker failures in the order they came; the first is the cause. */
  private readonly failures: unknown[] = [];
  private failureThrown = false;
  private readonly blocking: boolean;
  /** When the event loop last turned between steps; the first step waits for one, in which the pool hands out the loops' tasks. */
  private lastTurn = -Infinity;

  constructor(pool: Piscina, views: StepViews, tasks: Array<Omit<StepLoopTask, 'since'>>, { blocking }: { blocking: boolean }) {
    this.views = views;
    this.blocking = blocking;
    this.parties = tasks.length;
    let failed = (): void => {};
    this.failed = new Promise((resolve) => (failed = resolve));
    const since = ordersRung(views);
    const loops = tasks.map((task) =>
      pool.run({ ...task, since } satisfies StepLoopTask).catch((reason: unknown) => {
        // The first failure in time is the cause; the other loops then stop.
        if (this.failures.push(reason) > 1) return;
        abortSteps(views);
        failed();
      }),
    );
    this.settled = Promise.all(loops);
  }

  /** Runs one step on every worker and returns their reports; throws the first worker failure once every loop has ended. */
  async run(order: DoorbellOrder): Promise<StepReport[]> {
    if (this.blocking && performance.now() - this.lastTurn > EVENT_LOOP_TURN_MS) {
      await eventLoopTurn();
      this.lastTurn = performance.now();
    }
    ring(this.views, order);
    if (!this.blocking || !allReportedWithin(this.views, this.parties, BLOCK_MS)) {
      await Promise.race([allReported(this.views, this.parties, () => this.failures.length > 0), this.failed]);
    }
    if (this.failures.length > 0) {
      await this.settled;
      this.failureThrown = true;
      throw this.failures[0];
    }
    return Array.from({ length: this.parties }, (_, party) => readReport(this.views, party));
  }

  /** Ends every worker's loop and waits for it; throws a failure that no step has thrown. */
  async stop(): Promise<void> {
    if (this.failures.length === 0) ring(this.views, STOP);
    await this.settled;
    if (this.failures.length > 0 && !this.failureThrown) throw this.failures[0];
  }
}

/**
 * Step loops that start at the first step after a pause and end at the next pause (a validation, the
 * end of a fit), when the workers must be free for other tasks.
 */
export class PausableStepLoop {
  private running: StepLoop | null = null;
  private readonly start: () => StepLoop;

  constructor(start: () => StepLoop) {
    this.start = start;
  }

  run(order: DoorbellOrder): Promise<StepReport[]> {
    this.running ??= this.start();
    return this.running.run(order);
  }

  async pause(): Promise<void> {
    const running = this.running;
    this.running = null;
    await running?.stop();
  }
}
