import type { RankGroup } from '@lockstep/core';
import { SharedMemoryGroup, type SharedMemoryRanks } from './shared-memory-ranks.js';

/** How a trainer's workers reach the other ranks of its run: what a worker builds its `RankGroup` from. */
export type RankGroupSpec = SharedMemoryRanks;

export async function rankGroupOf(spec: RankGroupSpec): Promise<RankGroup> {
  return new SharedMemoryGroup(spec);
}
