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
 * Moves values between images and patch rows. Row (n, oh, ow) holds channels [first, first + count)
 * of the window at (oh, ow) of sample n, ordered (channel, kh, kw); positions in the padding read 0.
 * `toRows` copies images -> rows (im2col); otherwise rows are added back into the images (col2im), in
 * one fixed order, so overlapping windows sum the same way every time.
 */
export function patches(
  geometry: PatchGeometry,
  samples: number,
  first: number,
  count: number,
  images: Float32Array,
  rows: Float32Array,
  toRows: boolean,
): void {
  const { channels, height, width, kernel, stride, padding, dilation, outHeight, outWidth } = geometry;
  const [kH, kW] = kernel;
  const rowLength = count * kH * kW;
  for (let n = 0; n < samples; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        let at = ((n * outHeight + oh) * outWidth + ow) * rowLength;
        const left = ow * stride[1] - padding[1];
        for (let c = 0; c < count; c++) {
          const plane = (n * channels + first + c) * height;
          for (let kh = 0; kh < kH; kh++, at += kW) {
            const ih = oh * stride[0] - padding[0] + kh * dilation[0];
            if (ih < 0 || ih >= height) {
              if (toRows) rows.fill(0, at, at + kW);
              continue;
            }
            const line = (plane + ih) * width;
            if (toRows) {
              for (let kw = 0; kw < kW; kw++) {
                const iw = left + kw * dilation[1];
                rows[at + kw] = iw >= 0 && iw < width ? images[line + iw] : 0;
              }
            } else {
              for (let kw = 0; kw < kW; kw++) {
                const iw = left + kw * dilation[1];
                if (iw >= 0 && iw < width) images[line + iw] += rows[at + kw];
              }
            }
          }
        }
      }
    }
  }
}
