import { createHash } from 'node:crypto';
import type { MpiWorld } from '@lockstep/mpi';
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

/**
 * This process's place in the run: an MPI rank when mpirun started it (or `--mpi` asks), else the
 * whole run. @lockstep/mpi is an optional peer of the CLI, loaded only here, only for a run across ranks.
 */
export async function runRanks(mpi: boolean): Promise<RunRanks> {
  // mpirun (or another Open MPI launcher) sets OMPI_COMM_WORLD_SIZE; @lockstep/mpi's launchedByMpirun says the same.
  if (!mpi && process.env.OMPI_COMM_WORLD_SIZE === undefined) return { rank: 0, size: 1, writes: true, world: null };
  const { mpiWorld } = await import('@lockstep/mpi').catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ERR_MODULE_NOT_FOUND' || !error.message.includes("'@lockstep/mpi'")) throw error;
    throw new UserError('training across processes needs @lockstep/mpi, which is not installed beside @lockstep/cli; install it where Open MPI is (README, "Across processes")');
  });
  const world = mpiWorld();
  return { rank: world.rank, size: world.size, writes: world.rank === 0, world };
}

/** What the Trainer's workers join: the MPI world, when the run spans ranks. */
export function trainerRanks(ranks: RunRanks): RankGroupSpec | undefined {
  return ranks.size > 1 ? { kind: 'mpi', rank: ranks.rank, size: ranks.size } : undefined;
}

const DIGEST_BYTES = 32;

/** A digest of bytes (a checkpoint file, input rows, a checkpoint's weights), one part after another, for a run's identity: ranks compare contents, not paths. */
export function contentDigest(...parts: readonly ArrayBufferView[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  return hash.digest('hex');
}

/**
 * Every rank must run the same job: `identity` (for train: config, model, data fingerprint,
 * checkpoint position and weights; for eval, predict and compare: their checkpoint, data and flags) is hashed and
 * compared with rank 0's, and a rank that differs (another job's, another config's) stops the job
 * with the same line on every rank, which says `what` may differ.
 */
export function checkSameRun(ranks: RunRanks, identity: string, what: string): void {
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
    throw new UserError(`${which} another ${what} than rank 0 (of ${ranks.size} ranks); start every rank with the same command, files and data`);
  }
}

/**
 * Whether any rank has `wish` (to stop, between two trainings): one byte from every rank, gathered on
 * the main thread while no worker of this process calls MPI. Alone, the wish itself.
 */
export function anyRank(ranks: RunRanks, wish: boolean): boolean {
  if (ranks.world === null) return wish;
  const all = new Uint8Array(ranks.size);
  ranks.world.allgather(Uint8Array.of(wish ? 1 : 0), all);
  return all.includes(1);
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
