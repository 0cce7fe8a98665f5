import { createHash } from 'node:crypto';
import { launchedByMpirun, mpiWorld, type MpiWorld } from '@lockstep/mpi';
import type { RankGroupSpec } from '@lockstep/workers';
import { UserError } from '../errors.js';

/** The processes of one run: under mpirun, one rank each; otherwise this process alone. */
export interface RunRanks {
  readonly rank: number;
  readonly size: number;
  /** Rank 0 writes the run folder and speaks for the job, as Horovod's and torchrun's rank 0 does. */
  readonly writes: boolean;
  readonly world: MpiWorld | null;
}

/** This process's place in the run: an MPI rank when mpirun started it (or `--mpi` asks), else the whole run. */
export function runRanks(mpi: boolean): RunRanks {
  if (!mpi && !launchedByMpirun()) return { rank: 0, size: 1, writes: true, world: null };
  const world = mpiWorld();
  return { rank: world.rank, size: world.size, writes: world.rank === 0, world };
}

/** What the Trainer's workers join: the MPI world, when the run spans ranks. */
export function trainerRanks(ranks: RunRanks): RankGroupSpec | undefined {
  return ranks.size > 1 ? { kind: 'mpi', rank: ranks.rank, size: ranks.size } : undefined;
}

const DIGEST_BYTES = 32;

/**
 * Every rank must train the same run: `identity` (config, model, data fingerprint, checkpoint
 * position) is hashed and compared with rank 0's, and a rank that differs (another job's, another
 * config's) stops the job with the same line on every rank.
 */
export function checkSameRun(ranks: RunRanks, identity: string): void {
  if (ranks.world === null) return;
  const digest = new Uint8Array(createHash('sha256').update(identity).digest());
  const all = new Uint8Array(DIGEST_BYTES * ranks.size);
  ranks.world.allgather(digest, all);
  const first = all.subarray(0, DIGEST_BYTES);
  const differing = Array.from({ length: ranks.size }, (_, rank) => rank).filter((rank) =>
    all.subarray(rank * DIGEST_BYTES, (rank + 1) * DIGEST_BYTES).some((byte, i) => byte !== first[i]),
  );
  if (differing.length > 0) {
    const which = differing.length === 1 ? `rank ${differing[0]} runs` : `ranks ${differing.join(', ')} run`;
    throw new UserError(`${which} another config, model, data or checkpoint than rank 0 (of ${ranks.size} ranks); start every rank with the same command, files and data`);
  }
}

/** Rank 0's `text` on every rank (two MPI_Bcast calls from the main thread: its length, then its UTF-8 bytes); `text` itself on one process. */
export function broadcastText(ranks: RunRanks, text: string): string {
  if (ranks.world === null) return text;
  const length = Int32Array.of(ranks.rank === 0 ? Buffer.byteLength(text) : 0);
  ranks.world.broadcast(length, 0);
  const bytes = ranks.rank === 0 ? new Uint8Array(Buffer.from(text, 'utf8')) : new Uint8Array(length[0]!);
  ranks.world.broadcast(bytes, 0);
  return Buffer.from(bytes).toString('utf8');
}
