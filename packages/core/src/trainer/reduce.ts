/**
 * The one fixed order in which chunk gradients are summed: a pairwise tree over chunk index,
 * aligned to powers of two. Round 1 adds slot 1 into 0, 3 into 2, ...; round 2 adds 2 into 0,
 * 6 into 4, ...; the total ends in slot 0. The order depends on the chunk count only, never on which
 * thread computed which chunk, and whole aligned subtrees can be summed elsewhere and shipped.
 */
export function reduceChunkSlots(slots: Float32Array, slotSize: number, chunks: number, from = 0, to = slotSize): void {
  for (let stride = 1; stride < chunks; stride *= 2) {
    for (let c = 0; c + stride < chunks; c += 2 * stride) {
      const into = c * slotSize;
      const from2 = (c + stride) * slotSize;
      for (let i = from; i < to; i++) slots[into + i] += slots[from2 + i];
    }
  }
}

/** The same tree over one float64 value per chunk (loss sums, correct counts). */
export function reduceChunkScalars(values: Float64Array, chunks: number): number {
  for (let stride = 1; stride < chunks; stride *= 2) {
    for (let c = 0; c + stride < chunks; c += 2 * stride) values[c] += values[c + stride];
  }
  return chunks > 0 ? values[0] : 0;
}
