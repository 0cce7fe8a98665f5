import { maxNormRanges, type MaxNormPlan } from '../optim/max-norm.js';
import { NORM_BLOCK, normBlockCount } from '../optim/update-kernel.js';

/**
 * Where the parties of a step meet, in the order they meet (docs/design.md, "One optimizer step"):
 * the block meetings only across ranks, the last only with max-norm layers.
 */
export const STEP_MEETINGS = ['gradients-computed', 'blocks-reduced', 'blocks-exchanged', 'gradient-measured', 'parameters-updated'] as const;
export type StepMeeting = (typeof STEP_MEETINGS)[number];

/**
 * One participant of an optimizer step: which share of the work is its own (`index` of `count`) and
 * how it meets the others between phases. The reference trainer is the one party of its steps and
 * meets nobody; a worker replica meets the others at the step buffer's barrier.
 */
export interface Party {
  readonly index: number;
  readonly count: number;
  /**
   * Returns once every party has reached `meeting`, the `ordinal`-th meeting (from 1) of the current
   * step. While it waits for the others it may call `idle` (work that can be done ahead, such as
   * decoding the next step's samples) until that returns false.
   */
  meet(meeting: StepMeeting, ordinal: number, idle?: () => boolean): void;
}

export const SOLE_PARTY: Party = { index: 0, count: 1, meet: () => {} };

/** A half-open range [from, to). */
export type Range = readonly [number, number];

/** The parameters a party reduces and updates, and the max-norm rows it constrains; either may be empty. */
export interface PartyShare {
  readonly params: Range;
  readonly maxNormRows: Range;
}

export function shareOf(party: Party, paramCount: number, constraints: MaxNormPlan): PartyShare {
  return {
    params: parameterRanges(paramCount, party.count)[party.index] ?? [0, 0],
    maxNormRows: maxNormRanges(constraints, party.count)[party.index] ?? [0, 0],
  };
}

/**
 * Splits [0, size) into at most `parts` contiguous ranges whose inner boundaries fall on norm blocks
 * (NORM_BLOCK floats, a multiple of a cache line): no block's sum of squares is split between
 * parties, and parties updating neighbouring ranges never write the same line.
 */
export function parameterRanges(size: number, parts: number): Array<[number, number]> {
  const blocks = normBlockCount(size);
  const ranges: Array<[number, number]> = [];
  for (let part = 0; part < parts; part++) {
    const from = Math.min(size, Math.floor((blocks * part) / parts) * NORM_BLOCK);
    const to = Math.min(size, Math.floor((blocks * (part + 1)) / parts) * NORM_BLOCK);
    if (to > from) ranges.push([from, to]);
  }
  return ranges;
}
