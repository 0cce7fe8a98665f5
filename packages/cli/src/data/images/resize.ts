/** Planes of float64 values: `channels` of them, each `height` rows of `width`. */
export interface Planes {
  readonly data: Float64Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/**
 * For each output position along one axis, the first input position it reads and its weights: a
 * triangle (bilinear) filter at half-pixel centres, widened by the scale when shrinking so that every
 * input pixel counts (antialiased, PIL's BILINEAR resampling and torchvision's Resize(antialias=True)).
 * The weights are float64 and sum to 1.
 */
function axisWeights(inSize: number, outSize: number): Array<{ first: number; weights: Float64Array }> {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  return Array.from({ length: outSize }, (_, o) => {
    const centre = (o + 0.5) * scale;
    const first = Math.max(0, Math.floor(centre - support + 0.5));
    const last = Math.min(inSize, Math.floor(centre + support + 0.5));
    const weights = new Float64Array(last - first);
    let sum = 0;
    for (let i = first; i < last; i++) {
      const w = Math.max(0, 1 - Math.abs((i - centre + 0.5) / filterScale));
      weights[i - first] = w;
      sum += w;
    }
    for (let k = 0; k < weights.length; k++) weights[k] /= sum;
    return { first, weights };
  });
}

/** Resizes to `height` x `width`: rows first, then columns, each a weighted sum in input order, in float64. */
export function resize(planes: Planes, height: number, width: number): Planes {
  const { data, channels, height: inHeight, width: inWidth } = planes;
  if (inHeight === height && inWidth === width) return planes;
  const across = axisWeights(inWidth, width);
  const down = axisWeights(inHeight, height);
  const wide = new Float64Array(channels * inHeight * width);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < inHeight; y++) {
      const row = (c * inHeight + y) * inWidth;
      for (let x = 0; x < width; x++) {
        const { first, weights } = across[x];
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += weights[k] * data[row + first + k];
        wide[(c * inHeight + y) * width + x] = sum;
      }
    }
  }
  const out = new Float64Array(channels * height * width);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const { first, weights } = down[y];
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += weights[k] * wide[(c * inHeight + first + k) * width + x];
        out[(c * height + y) * width + x] = sum;
      }
    }
  }
  return { data: out, channels, height, width };
}

/**
 * The centre `height` x `width` window: it starts floor((in - out) / 2) pixels in, and where the
 * image is smaller than the window the rest is 0 (torchvision's CenterCrop pads with zeros too).
 */
export function centreCrop(planes: Planes, height: number, width: number): Planes {
  const { data, channels, height: inHeight, width: inWidth } = planes;
  if (inHeight === height && inWidth === width) return planes;
  const top = Math.floor((inHeight - height) / 2);
  const left = Math.floor((inWidth - width) / 2);
  const out = new Float64Array(channels * height * width);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const sy = y + top;
      if (sy < 0 || sy >= inHeight) continue;
      for (let x = 0; x < width; x++) {
        const sx = x + left;
        if (sx >= 0 && sx < inWidth) out[(c * height + y) * width + x] = data[(c * inHeight + sy) * inWidth + sx];
      }
    }
  }
  return { data: out, channels, height, width };
}
