import type { ParameterEntry } from '../model.js';

/**
 * Keras' MaxNorm constraint, applied after every optimizer update: each output unit's incoming weights
 * w (a row of Linear's [out, in] weight, a Conv2d output channel's [in/groups, kh, kw] block) become
 * w * min(norm, c) / (eps + norm). Like Keras this also shrinks rows already inside the bound, by
 * norm / (eps + norm). The norm is summed in float64 in index order and each row is done whole by one
 * thread, so the result does not depend on the worker count.
 */

/** Keras' backend epsilon, which MaxNorm adds to the norm in the denominator. */
export const MAX_NORM_EPSILON = 1e-7;

/** One constrained parameter tensor: `rows` rows of `rowLength` values from `offset`; rows are numbered across blocks from `firstRow`. */
export interface MaxNormBlock {
  readonly offset: number;
  readonly rows: number;
  readonly rowLength: number;
  readonly maxNorm: number;
  readonly firstRow: number;
}

export interface MaxNormPlan {
  readonly blocks: readonly MaxNormBlock[];
  /** Rows of every block together. */
  readonly rows: number;
}

/** The constrained rows of a model: every parameter whose spec has `maxNorm`, in parameter order. */
export function maxNormPlan(entries: readonly ParameterEntry[]): MaxNormPlan {
  const blocks: MaxNormBlock[] = [];
  let rows = 0;
  for (const entry of entries) {
    const maxNorm = entry.spec.maxNorm;
    if (maxNorm === undefined) continue;
    const count = entry.shape[0];
    blocks.push({ offset: entry.offset, rows: count, rowLength: entry.length / count, maxNorm, firstRow: rows });
    rows += count;
  }
  return { blocks, rows };
}

/** Constrains rows [from, to) of the plan in `params`. */
export function applyMaxNorm(params: Float32Array, plan: MaxNormPlan, from = 0, to = plan.rows): void {
  for (const block of plan.blocks) {
    const last = Math.min(to, block.firstRow + block.rows);
    for (let row = Math.max(from, block.firstRow); row < last; row++) {
      const start = block.offset + (row - block.firstRow) * block.rowLength;
      constrainRow(params, start, start + block.rowLength, block.maxNorm);
    }
  }
}

function constrainRow(params: Float32Array, start: number, end: number, maxNorm: number): void {
  let sumOfSquares = 0;
  for (let i = start; i < end; i++) sumOfSquares += params[i] * params[i];
  const norm = Math.sqrt(sumOfSquares);
  const scale = Math.min(norm, maxNorm) / (MAX_NORM_EPSILON + norm);
  for (let i = start; i < end; i++) params[i] *= scale;
}

/** Splits the plan's rows into at most `parts` ranges of whole rows holding about equal numbers of values. */
export function maxNormRanges(plan: MaxNormPlan, parts: number): Array<[number, number]> {
  const ends = new Float64Array(plan.rows);
  let total = 0;
  for (const block of plan.blocks) {
    for (let row = 0; row < block.rows; row++) ends[block.firstRow + row] = total += block.rowLength;
  }
  const ranges: Array<[number, number]> = [];
  let from = 0;
  for (let part = 1; part <= parts && from < plan.rows; part++) {
    let to = from + 1;
    while (to < plan.rows && ends[to - 1] < (total * part) / parts) to++;
    ranges.push([from, to]);
    from = to;
  }
  return ranges;
}
