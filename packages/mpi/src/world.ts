import { isMainThread } from 'node:worker_threads';
import { LockstepError } from '@lockstep/core';
import { loadNative, type MpiBuffer, type Native } from './native.js';

/** MPI_THREAD_MULTIPLE: any thread may call MPI at any time. */
export const MPI_THREAD_MULTIPLE = 3;

export interface MpiWorld {
  readonly rank: number;
  readonly size: number;
  /** The thread level MPI provides (MPI_THREAD_SINGLE 0 ... MPI_THREAD_MULTIPLE 3). */
  readonly threadLevel: number;
  /** MPI_Allgather: every rank contributes `send`; `receive` (size x send.length elements, same element type) gets rank r's at [r * send.length, ...). Blocking. */
  allgather(send: MpiBuffer, receive: MpiBuffer): void;
  /** MPI_Bcast of `buffer` from `root`. */
  broadcast(buffer: MpiBuffer, root: number): void;
  barrier(): void;
  /** MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job. */
  abort(code: number): never;
  /**
   * Ends this process at once with `code`, after its 'exit' listeners: `process.exit` first joins every
   * worker thread, and one waiting in a collective whose peer died never returns (nor does MPI_Abort
   * then). Without MPI_Finalize, so mpirun ends the job if other ranks still run.
   */
  exitNow(code: number): never;
}

const INSTALL = 'apt-get install openmpi-bin libopenmpi-dev, then pnpm build';
let world: MpiWorld | undefined;
/** exitNow() is ending the process: no MPI_Finalize, which would wait for the other ranks. */
let exitingNow = false;

/**
 * MPI_Init_thread(MPI_THREAD_MULTIPLE) on the first call in the process (main thread), then the same
 * world; in a worker thread of a process that initialized MPI, the world without initializing again.
 * Throws LockstepError (E_WORKER) if the addon is missing or MPI cannot start.
 */
export function mpiWorld(): MpiWorld {
  if (world !== undefined) return world;
  const loaded = loadNative();
  if ('error' in loaded) {
    throw new LockstepError('E_WORKER', `@lockstep/mpi: the Open MPI addon does not load (${loaded.error}); ${INSTALL}`);
  }
  const { native } = loaded;
  if (!isMainThread && !native.initialized()) {
    throw new LockstepError('E_WORKER', '@lockstep/mpi: MPI is not initialized in this process; call mpiWorld() in the main thread before any worker does');
  }
  const threadLevel = mpiCall(() => native.init());
  if (isMainThread) finalizeAtExit(native);
  world = openWorld(native, threadLevel);
  return world;
}

// MPI_Finalize only after a clean exit: finalizing waits for every other rank, which may be waiting for
// this one in a collective, so a failing rank leaves without it and mpirun ends the job as for a dead rank.
function finalizeAtExit(native: Native): void {
  process.once('exit', (code) => {
    if (code === 0 && !exitingNow) mpiCall(() => native.finalize());
  });
}

function openWorld(native: Native, threadLevel: number): MpiWorld {
  const rank = mpiCall(() => native.rank());
  const size = mpiCall(() => native.size());
  const where = `on rank ${rank} of ${size}`;
  return {
    rank,
    size,
    threadLevel,
    allgather(send, receive) {
      if (send.constructor !== receive.constructor) {
        throw new LockstepError('E_SHAPE', `MPI_Allgather ${where}: send is a ${send.constructor.name} but receive is a ${receive.constructor.name}; they must match`);
      }
      if (receive.length !== size * send.length) {
        throw new LockstepError(
          'E_SHAPE',
          `MPI_Allgather ${where}: receive has ${receive.length} elements, needs ${size * send.length} (${size} ranks x ${send.length} sent); MPI was not called`,
        );
      }
      mpiCall(() => native.allgather(send, receive));
    },
    broadcast(buffer, root) {
      if (!Number.isInteger(root)) throw new LockstepError('E_OPTION', `MPI_Bcast ${where}: root must be an integer rank, got ${root}`);
      mpiCall(() => native.broadcast(buffer, root));
    },
    barrier() {
      mpiCall(() => native.barrier());
    },
    abort(code) {
      return mpiCall(() => native.abort(code));
    },
    exitNow(code) {
      exitingNow = true;
      process.exitCode = code;
      process.emit('exit', code);
      return native.exitNow(code);
    },
  };
}

/** The addon's errors already name the MPI call and rank; here they become LockstepErrors. */
function mpiCall<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw new LockstepError('E_WORKER', (error as Error).message);
  }
}
