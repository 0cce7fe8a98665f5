import { fileURLToPath } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { LockstepError } from '@lockstep/core';
import { Piscina } from 'piscina';
import { claimableBlocks, type BlockClaims } from './block-claims.js';
import type { Task, TaskResults, WorkerSetup } from './messages.js';

/** The pool's entry, at the package's root: it imports the compiled worker (dist/worker.js), which a test run that loads this file from TypeScript needs too. */
function workerFile(): string {
  return fileURLToPath(new URL('../worker-entry.cjs', import.meta.url));
}

/**
 * The trainer's worker threads, one replica each, and the translation of their failures: any task
 * that fails closes the pool, and the caller gets one error that says where and why.
 */
export class WorkerPool {
  readonly workers: number;
  readonly piscina: Piscina;
  private closed = false;
  /** Whether close() ended the threads before any task failed: the tasks it ended did not fail. */
  private closedByCaller = false;

  constructor(workers: number, setup: WorkerSetup, resourceLimits: ResourceLimits | undefined) {
    this.workers = workers;
    this.piscina = new Piscina({
      filename: workerFile(),
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Infinity,
      workerData: setup,
      resourceLimits,
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  checkOpen(): void {
    if (this.closed) throw new LockstepError('E_CLOSED', 'this Trainer is closed; create a new Trainer');
  }

  /**
   * Runs tasks in parallel and waits for every one to settle, so nothing is left running. If any
   * failed, the pool is closed and one error names where and the first failure's cause (the others
   * may only be workers that stopped waiting for the failed one).
   */
  async round<R extends TaskResults[Task['kind']]>(tasks: Task[], where: string): Promise<R[]> {
    const failures: unknown[] = [];
    const settled = await Promise.allSettled(
      tasks.map((task) =>
        (this.piscina.run(task) as Promise<R>).catch((error: unknown) => {
          failures.push(error);
          throw error;
        }),
      ),
    );
    if (failures.length > 0) throw await this.failed(where, failures[0]);
    return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  }

  /** One task per worker (at most one per block) that claims blocks until none is left. */
  async onEveryWorker(task: Extract<Task, { blocks: BlockClaims }>, where: string): Promise<void> {
    await this.round(Array.from({ length: Math.min(this.workers, claimableBlocks(task.blocks)) }, () => task), where);
  }

  /**
   * Closes the pool after a worker failed and says where, with the failure's first line. Data that a
   * worker found changed or unreadable is no worker failure: that error keeps its code (E_DATA) and
   * says what to do itself; so does a full WebAssembly memory (E_MEMORY), which the trainer rewords.
   * A task that close() ended is E_CLOSED.
   */
  async failed(where: string, reason: unknown): Promise<LockstepError> {
    if (this.closedByCaller) return new LockstepError('E_CLOSED', `${where}: the Trainer was closed while it ran; create a new Trainer to go on`);
    await this.shutDown();
    const cause = (reason instanceof Error ? reason.message : String(reason)).split('\n')[0];
    const code = (reason as { cause?: { code?: unknown } } | null)?.cause?.code;
    if (code === 'E_DATA') return new LockstepError('E_DATA', `${where}: ${cause}`);
    if (code === 'E_MEMORY') return new LockstepError('E_MEMORY', `${where}: ${cause}`);
    return new LockstepError('E_WORKER', `${where}: a worker failed: ${cause}; the worker pool is closed`);
  }

  async close(): Promise<void> {
    if (!this.closed) this.closedByCaller = true;
    await this.shutDown();
  }

  private async shutDown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
  }
}
