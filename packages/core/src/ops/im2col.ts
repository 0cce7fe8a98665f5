/** Where the patches of a 2-D convolution or pooling window come from. */
export interface PatchGeometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly outHeight: number;
  readonly outWidth: number;
}

/** Output size along one axis; below 1 means the kernel does not fit. */
export function outputSize(size: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/**
 * im2col: row (n, oh, ow) of `rows` gets channels [first, first + count) of the window at (oh, ow) of
 * sample n, ordered (channel, kh, kw); positions in the padding read 0. Filled one patch column at a
 * time along each output row, so the inner loop is a strided copy without bounds tests; one sample's
 * rows stay in cache while they are filled.
 */
export function imagesToRows(geometry: PatchGeometry, samples: number, first: number, count: number, images: Float32Array, rows: Float32Array): void {
  const { channels, height, width, kernel, stride, padding, dilation, outHeight, outWidth } = geometry;
  const [kH, kW] = kernel;
  const rowLength = count * kH * kW;
  const outputRow = outWidth * rowLength;
  for (let n = 0; n < samples; n++) {
    const sampleRows = n * outHeight * outputRow;
    for (let c = 0; c < count; c++) {
      const plane = (n * channels + first + c) * height;
      for (let kh = 0; kh < kH; kh++) {
        for (let kw = 0; kw < kW; kw++) {
          const column = sampleRows + (c * kH + kh) * kW + kw;
          // Input column of output column ow: ow * stride + offset; inside the image for ow in [inFrom, inTo).
          const offset = kw * dilation[1] - padding[1];
          const inFrom = Math.min(outWidth, Math.max(0, Math.ceil(-offset / stride[1])));
          const inTo = Math.max(inFrom, Math.min(outWidth, Math.floor((width - 1 - offset) / stride[1]) + 1));
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * stride[0] - padding[0] + kh * dilation[0];
            let at = column + oh * outputRow;
            let ow = 0;
            if (ih >= 0 && ih < height) {
              const line = (plane + ih) * width + offset;
              for (; ow < inFrom; ow++, at += rowLength) rows[at] = 0;
              for (; ow < inTo; ow++, at += rowLength) rows[at] = images[line + ow * stride[1]];
            }
            for (; ow < outWidth; ow++, at += rowLength) rows[at] = 0;
          }
        }
      }
    }
  }
}

/**
 * col2im: adds each value of `rows` (laid out as `imagesToRows` makes them) back into the image
 * position it came from; padding positions are skipped. Windows are visited in one fixed order
 * (sample, output position, channel, kh, kw), so overlapping windows sum the same way every time.
 */
export function addRowsToImages(geometry: PatchGeometry, samples: number, first: number, count: number, rows: Float32Array, images: Float32Array): void {
  const { channels, height, width, kernel, stride, padding, dilation, outHeight, outWidth } = geometry;
  const [kH, kW] = kernel;
  const rowLength = count * kH * kW;
  for (let n = 0; n < samples; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        let at = ((n * outHeight + oh) * outWidth + ow) * rowLength;
        const left = ow * stride[1] - padding[1];
        // Kernel columns whose input column left + kw * dilation lies inside the image.
        const kwFrom = Math.min(kW, Math.max(0, Math.ceil(-left / dilation[1])));
        const kwTo = Math.max(kwFrom, Math.min(kW, Math.floor((width - 1 - left) / dilation[1]) + 1));
        for (let c = 0; c < count; c++) {
          const plane = (n * channels + first + c) * height;
          for (let kh = 0; kh < kH; kh++, at += kW) {
            const ih = oh * stride[0] - padding[0] + kh * dilation[0];
            if (ih < 0 || ih >= height) continue;
            const line = (plane + ih) * width + left;
            for (let kw = kwFrom; kw < kwTo; kw++) images[line + kw * dilation[1]] += rows[at + kw];
          }
        }
      }
    }
  }
}
