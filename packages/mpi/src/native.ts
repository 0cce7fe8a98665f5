import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The typed arrays MPI moves here; each maps to one MPI datatype, so the bytes travel unchanged. */
export type MpiBuffer = Float32Array | Float64Array | Int32Array | Uint8Array;

/** The addon's functions (native/mpi.cc); each MPI failure throws an Error naming the call and rank. */
export interface Native {
  /** MPI_Init_thread(MPI_THREAD_MULTIPLE) unless MPI is initialized already; the thread level provided. */
  init(): number;
  /** Initialized and not yet finalized, by any thread of this process. */
  initialized(): boolean;
  rank(): number;
  size(): number;
  allgather(send: MpiBuffer, receive: MpiBuffer): void;
  broadcast(buffer: MpiBuffer, root: number): void;
  barrier(): void;
  abort(code: number): never;
  finalize(): void;
  /** _exit(code): ends the process without exit handlers and without joining its threads. */
  exitNow(code: number): never;
}

// The same path from src/ (tests) and dist/ (everything else): both sit beside native/.
const ADDON = fileURLToPath(new URL('../native/build/Release/lockstep_mpi.node', import.meta.url));

type Loaded = { native: Native } | { error: string };
let loaded: Loaded | undefined;

/** Loads the addon once per thread; a missing build or Open MPI library is recorded, not thrown. */
export function loadNative(): Loaded {
  if (loaded === undefined) {
    try {
      loaded = { native: createRequire(import.meta.url)(ADDON) as Native };
    } catch (error) {
      loaded = { error: String((error as Error).message).split('\n')[0] };
    }
  }
  return loaded;
}

/** The addon is built and loads: false on a machine without Open MPI. Never throws. */
export function mpiAvailable(): boolean {
  return 'native' in loadNative();
}
