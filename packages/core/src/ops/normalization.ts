/**
 * The math of the normalization layers, as pure functions over float32 data viewed as
 * [rows, channels, spread]: BatchNorm normalizes each channel over its rows x spread values,
 * LayerNorm each row over its channels x spread values (there `channels` is 1). Sums are float64 and
 * taken in index order, so a result depends on the values alone.
 */

/** Per channel of x as [rows, channels, spread]: (count, mean, centred sum of squares) into `out[3c..3c+2]`. */
export function channelMoments(x: Float32Array, rows: number, channels: number, spread: number, out: Float64Array): void {
  const count = rows * spread;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const base = (r * channels + c) * spread;
      for (let i = 0; i < spread; i++) sum += x[base + i];
    }
    const mean = sum / count;
    let squares = 0;
    for (let r = 0; r < rows; r++) {
      const base = (r * channels + c) * spread;
      for (let i = 0; i < spread; i++) {
        const d = x[base + i] - mean;
        squares += d * d;
      }
    }
    out[3 * c] = count;
    out[3 * c + 1] = mean;
    out[3 * c + 2] = squares;
  }
}

/**
 * y = (x - mean[c]) * invStd[c] * weight[c] + bias[c] over [rows, channels, spread]; `xHat` keeps the
 * normalized values for the backward pass. A null weight is 1, a null bias 0.
 */
export function normalizeChannels(
  x: Float32Array,
  rows: number,
  channels: number,
  spread: number,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  weight: Float32Array | null,
  bias: Float32Array | null,
  xHat: Float32Array,
  y: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const base = (r * channels + c) * spread;
      const m = mean[c];
      const s = invStd[c];
      const w = weight === null ? 1 : weight[c];
      const b = bias === null ? 0 : bias[c];
      for (let i = 0; i < spread; i++) {
        const h = (x[base + i] - m) * s;
        xHat[base + i] = h;
        y[base + i] = h * w + b;
      }
    }
  }
}

/**
 * The backward pass of `normalizeChannels`. `batchStatistics`: mean and invStd came from this very
 * batch (training mode), so the gradient flows through them too:
 * dx = w * invStd * (dy - mean(dy) - xHat * mean(dy * xHat)); otherwise dx = w * invStd * dy.
 * Adds sum(dy * xHat) and sum(dy) per channel into `gradWeight` and `gradBias` when given.
 */
export function normalizeChannelsBackward(
  dy: Float32Array,
  xHat: Float32Array,
  rows: number,
  channels: number,
  spread: number,
  invStd: ArrayLike<number>,
  weight: Float32Array | null,
  batchStatistics: boolean,
  gradWeight: Float32Array | null,
  gradBias: Float32Array | null,
  dx: Float32Array | null,
): void {
  const count = rows * spread;
  for (let c = 0; c < channels; c++) {
    let sumDy = 0;
    let sumDyXHat = 0;
    for (let r = 0; r < rows; r++) {
      const base = (r * channels + c) * spread;
      for (let i = 0; i < spread; i++) {
        sumDy += dy[base + i];
        sumDyXHat += dy[base + i] * xHat[base + i];
      }
    }
    if (gradWeight !== null) gradWeight[c] += sumDyXHat;
    if (gradBias !== null) gradBias[c] += sumDy;
    if (dx === null) continue;
    const scale = (weight === null ? 1 : weight[c]) * invStd[c];
    const meanDy = batchStatistics ? sumDy / count : 0;
    const meanDyXHat = batchStatistics ? sumDyXHat / count : 0;
    for (let r = 0; r < rows; r++) {
      const base = (r * channels + c) * spread;
      for (let i = 0; i < spread; i++) dx[base + i] = scale * (dy[base + i] - meanDy - xHat[base + i] * meanDyXHat);
    }
  }
}

/** 1 / sqrt(variance + eps), the scale of a normalization. */
export function inverseStd(variance: number, eps: number): number {
  return 1 / Math.sqrt(variance + eps);
}

/**
 * LayerNorm over x as [rows, width]: each row normalized by its own mean and biased variance, then
 * y = xHat * weight[i] + bias[i] (null: 1 and 0). `invStd` receives each row's scale for the backward
 * pass; `moments` (3 float64, the caller's) is scratch.
 */
export function normalizeRows(
  x: Float32Array,
  rows: number,
  width: number,
  eps: number,
  weight: Float32Array | null,
  bias: Float32Array | null,
  invStd: Float64Array,
  xHat: Float32Array,
  y: Float32Array,
  moments: Float64Array,
): void {
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * width, (r + 1) * width);
    channelMoments(row, 1, 1, width, moments);
    const mean = moments[1];
    const s = inverseStd(moments[2] / width, eps);
    invStd[r] = s;
    for (let i = 0; i < width; i++) {
      const h = (row[i] - mean) * s;
      xHat[r * width + i] = h;
      y[r * width + i] = h * (weight === null ? 1 : weight[i]) + (bias === null ? 0 : bias[i]);
    }
  }
}

/**
 * The backward pass of `normalizeRows`: dx = invStd * (g - mean(g) - xHat * mean(g * xHat)) with
 * g = dy * weight. `sums` (2 x width float64, the caller's, overwritten) holds the parameter gradients
 * summed over the rows, added once at the end.
 */
export function normalizeRowsBackward(
  dy: Float32Array,
  xHat: Float32Array,
  rows: number,
  width: number,
  invStd: Float64Array,
  weight: Float32Array | null,
  gradWeight: Float32Array | null,
  gradBias: Float32Array | null,
  dx: Float32Array | null,
  sums: Float64Array,
): void {
  const sumDyXHat = sums.subarray(0, width).fill(0);
  const sumDy = sums.subarray(width, 2 * width).fill(0);
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    let sumG = 0;
    let sumGXHat = 0;
    for (let i = 0; i < width; i++) {
      const g = dy[base + i] * (weight === null ? 1 : weight[i]);
      sumG += g;
      sumGXHat += g * xHat[base + i];
      sumDyXHat[i] += dy[base + i] * xHat[base + i];
      sumDy[i] += dy[base + i];
    }
    if (dx === null) continue;
    const meanG = sumG / width;
    const meanGXHat = sumGXHat / width;
    for (let i = 0; i < width; i++) {
      const g = dy[base + i] * (weight === null ? 1 : weight[i]);
      dx[base + i] = invStd[r] * (g - meanG - xHat[base + i] * meanGXHat);
    }
  }
  for (let i = 0; i < width; i++) {
    if (gradWeight !== null) gradWeight[i] += sumDyXHat[i];
    if (gradBias !== null) gradBias[i] += sumDy[i];
  }
}
