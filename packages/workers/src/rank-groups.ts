import type { RankGroup } from '@lockstep/core';
import { SharedMemoryGroup, type SharedMemoryRanks } from './shared-memory-ranks.js';

/** The ranks of an MPI job (mpirun): every worker thread joins the world its process initialized. */
export interface MpiRanks {
  readonly kind: 'mpi';
  readonly rank: number;
  readonly size: number;
}

/** How a trainer's workers reach the other ranks of its run: what a worker builds its `RankGroup` from. */
export type RankGroupSpec = SharedMemoryRanks | MpiRanks;

export async function rankGroupOf(spec: RankGroupSpec): Promise<RankGroup> {
  if (spec.kind === 'shared-memory') return new SharedMemoryGroup(spec);
  // Loaded only under MPI: a machine without Open MPI never loads the addon.
  const { mpiWorld } = await import('@lockstep/mpi');
  return mpiWorld();
}
