import { checkChoice, checkInteger, checkOptionsObject, type RankGroup } from '@lockstep/core';
import { checkSharedMemoryRanks, SharedMemoryGroup, type SharedMemoryRanks } from './shared-memory-ranks.js';

/** The ranks of an MPI job (mpirun): every worker thread joins the world its process initialized. */
export interface MpiRanks {
  readonly kind: 'mpi';
  readonly rank: number;
  readonly size: number;
}

/** How a trainer's workers reach the other ranks of its run: what a worker builds its `RankGroup` from. */
export type RankGroupSpec = SharedMemoryRanks | MpiRanks;

/** Throws E_OPTION unless `spec` is one rank's place in a group that can hold it: a rank below the size, and room for every rank. */
export function checkRankGroupSpec(spec: RankGroupSpec): RankGroupSpec {
  checkOptionsObject('ranks', spec, "(kind, rank, size), such as sharedMemoryRanks(size, slotBytes)[rank]");
  checkChoice('ranks.kind', spec.kind, ['shared-memory', 'mpi']);
  const size = checkInteger('ranks.size', spec.size, 1);
  checkInteger('ranks.rank', spec.rank, 0, size - 1);
  if (spec.kind === 'shared-memory') checkSharedMemoryRanks(spec);
  return spec;
}

export async function rankGroupOf(spec: RankGroupSpec): Promise<RankGroup> {
  if (spec.kind === 'shared-memory') return new SharedMemoryGroup(spec);
  // Loaded only under MPI: a machine without Open MPI never loads the addon.
  const { mpiWorld } = await import('@lockstep/mpi');
  return mpiWorld();
}
