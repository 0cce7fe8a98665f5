import type { ChannelStats } from '../../config/image-settings.js';

/**
 * The mean and (population) standard deviation of each channel over the samples `rows` of `inputs`
 * (samples of `channels` planes of `area` values), in float64: the rows in the order given, each
 * plane's values in order, the mean first, then the squared deviations from it. The same rows give
 * the same numbers on every machine.
 */
export function channelStats(inputs: Float32Array, channels: number, area: number, rows: ArrayLike<number>): ChannelStats {
  const count = rows.length * area;
  const mean = new Array<number>(channels).fill(0);
  const std = new Array<number>(channels).fill(0);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let r = 0; r < rows.length; r++) {
      const start = (rows[r] * channels + c) * area;
      for (let i = start; i < start + area; i++) sum += inputs[i];
    }
    mean[c] = sum / count;
    let squares = 0;
    for (let r = 0; r < rows.length; r++) {
      const start = (rows[r] * channels + c) * area;
      for (let i = start; i < start + area; i++) {
        const deviation = inputs[i] - mean[c];
        squares += deviation * deviation;
      }
    }
    std[c] = Math.sqrt(squares / count);
  }
  return { mean, std };
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
