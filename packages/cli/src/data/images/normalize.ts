import type { ChannelStats } from '../../config/image-settings.js';

/** Float64 values a sample's moments take per channel: the sum of its values, and of their squared deviations from its own mean. */
export const MOMENTS = 2;

/**
 * The moments of one sample (`channels` planes of `area` values), into `into` from `at`: per channel,
 * the float64 sum of its values in order, and the sum of the squared deviations from the plane's
 * mean, in order. What one thread computes for one sample, whichever thread it is.
 */
export function sampleMoments(values: Float32Array, channels: number, area: number, into: Float64Array, at = 0): void {
  for (let c = 0; c < channels; c++) {
    const start = c * area;
    let sum = 0;
    for (let i = start; i < start + area; i++) sum += values[i];
    const mean = sum / area;
    let squares = 0;
    for (let i = start; i < start + area; i++) {
      const deviation = values[i] - mean;
      squares += deviation * deviation;
    }
    into[at + MOMENTS * c] = sum;
    into[at + MOMENTS * c + 1] = squares;
  }
}

/**
 * Each channel's mean and population standard deviation over the samples `rows`, from their moments
 * (`moments`: MOMENTS x channels float64 values per sample, by sample index), combined in the order of
 * `rows`: the mean is the sum of the samples' sums over the count; the variance adds each sample's
 * squared deviations and its size times the square of its mean's distance from the mean (the law of
 * total variance), over the count. Float64 throughout, in a fixed order: the same rows give the same
 * numbers however many threads computed the moments.
 */
export function combineMoments(moments: Float64Array, channels: number, area: number, rows: ArrayLike<number>): ChannelStats {
  const count = rows.length * area;
  const stride = MOMENTS * channels;
  const mean = new Array<number>(channels).fill(0);
  const std = new Array<number>(channels).fill(0);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let r = 0; r < rows.length; r++) sum += moments[rows[r] * stride + MOMENTS * c];
    mean[c] = sum / count;
    let squares = 0;
    for (let r = 0; r < rows.length; r++) {
      const at = rows[r] * stride + MOMENTS * c;
      const distance = moments[at] / area - mean[c];
      squares += moments[at + 1] + area * distance * distance;
    }
    std[c] = Math.sqrt(squares / count);
  }
  return { mean, std };
}

/** `combineMoments` over the samples `rows` of `inputs`, each sample's moments computed here. */
export function channelStats(inputs: Float32Array, channels: number, area: number, rows: ArrayLike<number>): ChannelStats {
  const sampleSize = channels * area;
  const moments = new Float64Array((inputs.length / sampleSize) * MOMENTS * channels);
  for (let r = 0; r < rows.length; r++) {
    const sample = rows[r];
    sampleMoments(inputs.subarray(sample * sampleSize, (sample + 1) * sampleSize), channels, area, moments, sample * MOMENTS * channels);
  }
  return combineMoments(moments, channels, area, rows);
}

/** Replaces each value x of channel c by (x - mean[c]) / std[c], computed in float64 and rounded to float32 once. */
export function normalizeInPlace(inputs: Float32Array, channels: number, area: number, { mean, std }: ChannelStats): void {
  const samples = inputs.length / (channels * area);
  for (let s = 0; s < samples; s++) {
    for (let c = 0; c < channels; c++) {
      const start = (s * channels + c) * area;
      for (let i = start; i < start + area; i++) inputs[i] = (inputs[i] - mean[c]) / std[c];
    }
  }
}
