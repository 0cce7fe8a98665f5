import { availableParallelism } from 'node:os';
import { chunksPerStep } from './batching.js';
import type { RunConfig } from './settings.js';

/** Threads a core can usefully run: more only cost memory and switching. */
const THREADS_PER_CORE = 2;

/**
 * The worker count a run uses: the one asked for (by default one per core), but no more than the
 * chunks of a step, since a worker computes whole chunks, and no more than THREADS_PER_CORE a core.
 * Any count gives the same bits, so lowering it changes only the time; an explicit --workers that is
 * lowered gets a note saying why.
 */
export function usefulWorkers(requested: number | undefined, config: RunConfig, cores = availableParallelism()): { workers: number; note: string | null } {
  const chunks = chunksPerStep(config);
  const threads = THREADS_PER_CORE * cores;
  const workers = Math.min(requested ?? cores, chunks, threads);
  if (requested === undefined || workers === requested) return { workers, note: null };
  const why =
    workers === chunks
      ? `a step has ${chunks} chunk${chunks === 1 ? '' : 's'} of work (batch size ${config.batchSize} / chunk size ${config.chunkSize}), and a worker computes whole chunks`
      : `this machine has ${cores} core${cores === 1 ? '' : 's'}, and more than ${THREADS_PER_CORE} threads a core only cost memory`;
  return { workers, note: `note: --workers ${requested} lowered to ${workers}: ${why}` };
}
