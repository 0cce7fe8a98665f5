/** The ranks x workers a run across ranks must match one process at (issue: "Beyond one machine"). */
export const RANK_SHAPES: Array<[ranks: number, workers: number]> = [
  [1, 1],
  [2, 1],
  [3, 1],
  [4, 1],
  [2, 2],
  [3, 2],
];
