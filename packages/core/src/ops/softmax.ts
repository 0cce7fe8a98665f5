/** Row-wise softmax of `rows` x `width` logits into `out` (float64 for accumulation), stable for large logits. */
export function softmaxRows(logits: Float32Array, rows: number, width: number, out: Float64Array): Float64Array {
  for (let r = 0; r < rows; r++) {
    const at = r * width;
    let max = -Infinity;
    for (let c = 0; c < width; c++) max = Math.max(max, logits[at + c]);
    let sum = 0;
    for (let c = 0; c < width; c++) {
      const e = Math.exp(logits[at + c] - max);
      out[at + c] = e;
      sum += e;
    }
    for (let c = 0; c < width; c++) out[at + c] /= sum;
  }
  return out;
}
