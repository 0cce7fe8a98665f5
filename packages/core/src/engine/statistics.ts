/**
 * A step's batch statistics (docs/design.md, "Batch statistics"): every chunk writes, per channel of
 * each BatchNorm layer, the triple (count, mean, centred sum of squares M2) of its own values into its
 * own slot of `statisticsSize` float64 values. At the step's end the slots are merged in the pairwise
 * tree over chunk index the gradients use, with Chan, Golub and LeVeque's pairwise update:
 *
 *   n = na + nb,  d = mean_b - mean_a,  mean = mean_a + d * nb / n,  M2 = M2a + M2b + d^2 * na * nb / n
 *
 * The result is the whole batch's count, mean and M2, whatever the chunking, in one fixed order of
 * float64 operations; the layers fold it into their running statistics once per step.
 */
export function combineChunkStatistics(stats: Float64Array, width: number, chunks: number): Float64Array {
  for (let stride = 1; stride < chunks; stride *= 2) {
    for (let c = 0; c + stride < chunks; c += 2 * stride) {
      const a = c * width;
      const b = (c + stride) * width;
      for (let i = 0; i < width; i += 3) mergeMoments(stats, a + i, b + i);
    }
  }
  return stats.subarray(0, width);
}

/** Merges the triple at `b` into the triple at `a`. */
function mergeMoments(stats: Float64Array, a: number, b: number): void {
  const na = stats[a];
  const nb = stats[b];
  const n = na + nb;
  const delta = stats[b + 1] - stats[a + 1];
  stats[a + 1] += (delta * nb) / n;
  stats[a + 2] += stats[b + 2] + (delta * delta * na * nb) / n;
  stats[a] = n;
}
