import { describe, expect, it } from 'vitest';
import {
  AvgPool2d,
  Conv2d,
  Dropout2d,
  dropoutRunKey,
  GlobalAvgPool2d,
  MaxPool2d,
  Model,
  keep,
  rowIndices,
  sequentialFromSpec,
} from '@lockstep/core';
import { addColumnSums } from '../src/ops/elementwise.js';
import { addColumnsToImages, imagesToColumns, planesToRows, rowsToPlanes } from '../src/ops/im2col.js';
import { matmul, transposed } from '../src/ops/matmul.js';
import { checkLayer, type Reference } from './helpers/gradcheck.js';

type Geometry = { c: number; h: number; w: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number };

const outSize = (size: number, k: number, s: number, p: number, d: number): number => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;

/** Float64 NCHW convolution, written the plain way. */
function convReference(g: Geometry, outChannels: number, groups: number, bias: boolean): Reference {
  return (x, [w, b]) => {
    const oh = outSize(g.h, g.kh, g.sh, g.ph, g.dh);
    const ow = outSize(g.w, g.kw, g.sw, g.pw, g.dw);
    const n = x.length / (g.c * g.h * g.w);
    const cin = g.c / groups;
    const cout = outChannels / groups;
    const y = new Float64Array(n * outChannels * oh * ow);
    for (let s = 0; s < n; s++)
      for (let o = 0; o < outChannels; o++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            let sum = bias ? b[o] : 0;
            const group = Math.floor(o / cout);
            for (let c = 0; c < cin; c++)
              for (let a = 0; a < g.kh; a++)
                for (let e = 0; e < g.kw; e++) {
                  const yy = i * g.sh - g.ph + a * g.dh;
                  const xx = j * g.sw - g.pw + e * g.dw;
                  if (yy < 0 || yy >= g.h || xx < 0 || xx >= g.w) continue;
                  sum += x[((s * g.c + group * cin + c) * g.h + yy) * g.w + xx] * w[((o * cin + c) * g.kh + a) * g.kw + e];
                }
            y[((s * outChannels + o) * oh + i) * ow + j] = sum;
          }
    return y;
  };
}

/** Float64 pooling: the max, or the mean with PyTorch's count_include_pad divisor. */
function poolReference(g: Geometry, kind: 'max' | 'avg'): Reference {
  return (x) => {
    const oh = outSize(g.h, g.kh, g.sh, g.ph, 1);
    const ow = outSize(g.w, g.kw, g.sw, g.pw, 1);
    const planes = x.length / (g.h * g.w);
    const y = new Float64Array(planes * oh * ow);
    for (let p = 0; p < planes; p++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          const h0 = i * g.sh - g.ph;
          const w0 = j * g.sw - g.pw;
          let best = -Infinity;
          let sum = 0;
          for (let a = h0; a < h0 + g.kh; a++)
            for (let e = w0; e < w0 + g.kw; e++) {
              if (a < 0 || a >= g.h || e < 0 || e >= g.w) continue;
              best = Math.max(best, x[(p * g.h + a) * g.w + e]);
              sum += x[(p * g.h + a) * g.w + e];
            }
          const area = (Math.min(h0 + g.kh, g.h + g.ph) - h0) * (Math.min(w0 + g.kw, g.w + g.pw) - w0);
          y[(p * oh + i) * ow + j] = kind === 'max' ? best : sum / area;
        }
    return y;
  };
}

const geometry = (c: number, h: number, w: number, k: [number, number], s: [number, number], p: [number, number], d: [number, number] = [1, 1]): Geometry => ({
  c, h, w, kh: k[0], kw: k[1], sh: s[0], sw: s[1], ph: p[0], pw: p[1], dh: d[0], dw: d[1],
});

describe('finite-difference gradient checks for convolution and pooling (float64 reference)', () => {
  it.each([
    ['3x3, stride 1, no padding', geometry(3, 6, 7, [3, 3], [1, 1], [0, 0]), 4, 1, true],
    ['3x3, stride 2, padding 1, odd sizes', geometry(2, 7, 5, [3, 3], [2, 2], [1, 1]), 3, 1, true],
    ['2x3, stride [2,1], padding [1,0], no bias', geometry(2, 5, 6, [2, 3], [2, 1], [1, 0]), 2, 1, false],
    ['dilation 2, padding 2', geometry(2, 6, 6, [3, 3], [1, 1], [2, 2], [2, 2]), 3, 1, true],
    ['groups 2', geometry(4, 5, 5, [3, 3], [1, 1], [1, 1]), 6, 2, true],
    ['kernel as large as the padded input', geometry(1, 3, 3, [5, 5], [1, 1], [1, 1]), 2, 1, true],
  ] as const)('Conv2d %s', (_name, g, outChannels, groups, bias) => {
    const conv = new Conv2d({
      inChannels: g.c,
      outChannels,
      kernelSize: [g.kh, g.kw],
      stride: [g.sh, g.sw],
      padding: [g.ph, g.pw],
      dilation: [g.dh, g.dw],
      groups,
      bias,
    });
    checkLayer(conv, [g.c, g.h, g.w], 2, convReference(g, outChannels, groups, bias));
  });

  it.each([
    ['MaxPool2d 2x2', new MaxPool2d({ kernelSize: 2 }), geometry(3, 6, 6, [2, 2], [2, 2], [0, 0]), 'max'],
    ['MaxPool2d 3x3 stride 2 padding 1, odd sizes', new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 }), geometry(2, 7, 5, [3, 3], [2, 2], [1, 1]), 'max'],
    ['AvgPool2d 2x2', new AvgPool2d({ kernelSize: 2 }), geometry(3, 6, 6, [2, 2], [2, 2], [0, 0]), 'avg'],
    ['AvgPool2d 3x3 stride 2 padding 1, odd sizes', new AvgPool2d({ kernelSize: 3, stride: 2, padding: 1 }), geometry(2, 7, 5, [3, 3], [2, 2], [1, 1]), 'avg'],
  ] as const)('%s', (_name, layer, g, kind) => {
    checkLayer(layer, [g.c, g.h, g.w], 2, poolReference(g, kind));
  });

  it('GlobalAvgPool2d', () => {
    checkLayer(new GlobalAvgPool2d(), [3, 5, 4], 2, (x) => {
      const y = new Float64Array(x.length / 20);
      for (let p = 0; p < y.length; p++) for (let i = 0; i < 20; i++) y[p] += x[p * 20 + i] / 20;
      return y;
    });
  });
});

describe('shape errors name the shapes', () => {
  it('a kernel larger than the padded input', () => {
    expect(() => new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 5, padding: 1 }).outputShape([1, 2, 3])).toThrow(
      'Conv2d: kernel [5,5] (dilation [1,1]) is larger than the padded input [4,5] of samples [1,2,3]',
    );
    expect(() => new MaxPool2d({ kernelSize: 4 }).outputShape([2, 3, 3])).toThrow('MaxPool2d: kernel [4,4] is larger than the padded input [3,3] of samples [2,3,3]');
    expect(() => sequentialFromSpec({ input: [1, 4, 4], layers: [{ type: 'conv2d', out: 2, kernelSize: 3 }, { type: 'conv2d', out: 2, kernelSize: 3 }] })).toThrow(
      'model spec layers[1]: kernel [3,3] (dilation [1,1]) is larger than the padded input [2,2] of samples [2,2,2]',
    );
  });

  it('channels that do not match, and groups that do not divide', () => {
    expect(() => new Conv2d({ inChannels: 3, outChannels: 2, kernelSize: 3 }).outputShape([1, 8, 8])).toThrow('Conv2d: expects samples of shape [3,H,W], got [1,8,8]');
    expect(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 })).toThrow('Conv2d: groups=2 must divide inChannels=3 and outChannels=4');
  });
});

describe('Dropout2d', () => {
  const samples = 400;
  const channels = 50;
  const area = 12;
  const input = { data: new Float32Array(samples * channels * area).fill(1), shape: [samples, channels, 3, 4] };

  it.each(['inverted', 'classic'] as const)('keeps or drops whole feature maps together (%s)', (scaling) => {
    const layer = new Dropout2d(0.3, { scaling }).train();
    const out = layer.forward(input, { key: dropoutRunKey(5), step: 2, samples: rowIndices(samples) }).data;
    const kept = scaling === 'inverted' ? Math.fround(1 / 0.7) : 1;
    for (let plane = 0; plane < samples * channels; plane++) {
      const values = new Set(out.subarray(plane * area, (plane + 1) * area));
      expect(values.size).toBe(1);
      expect([0, kept]).toContain([...values][0]);
    }
  });

  it.each([0.1, 0.5, 0.9])('keeps a fraction of channels within 4 standard errors of 1-p (p=%s)', (p) => {
    const layer = new Dropout2d(p).train();
    const out = layer.forward(input, { key: dropoutRunKey(6), step: 0, samples: rowIndices(samples) }).data;
    let kept = 0;
    for (let plane = 0; plane < samples * channels; plane++) if (out[plane * area] !== 0) kept++;
    const planes = samples * channels;
    expect(Math.abs(kept / planes - (1 - p))).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / planes));
  });

  it('is the identity in eval mode (inverted) and scales by 1-p (classic)', () => {
    const context = { key: dropoutRunKey(5), step: 0, samples: rowIndices(samples) };
    expect(new Dropout2d(0.3).forward(input, context).data.every((v) => v === 1)).toBe(true);
    expect(new Dropout2d(0.3, { scaling: 'classic' }).forward(input, context).data.every((v) => v === Math.fround(0.7))).toBe(true);
  });

  it('keeps feature map c of sample s exactly where keep(seed, layer path, step, s, c) says', () => {
    const layer = new Dropout2d(0.3).train();
    layer.setPath('4');
    const sampleIndices = rowIndices(samples, 1000);
    const out = layer.forward(input, { key: dropoutRunKey(5), step: 2, samples: sampleIndices }).data;
    for (let row = 0; row < samples; row++) {
      for (let channel = 0; channel < channels; channel++) {
        const expected = keep(5, '4', 2, sampleIndices[row], channel, 0.3) ? Math.fround(1 / 0.7) : 0;
        if (!Object.is(out[(row * channels + channel) * area], expected)) expect.fail(`sample ${sampleIndices[row]} channel ${channel}: keep() gives ${expected}`);
      }
    }
  });

  it('passes the gradient through kept maps with the same multiplier', () => {
    const layer = new Dropout2d(0.5).train();
    const small = { data: new Float32Array(2 * 3 * 4).fill(1), shape: [2, 3, 2, 2] };
    const out = layer.forward(small, { key: dropoutRunKey(1), step: 0, samples: [0, 1] }).data.slice();
    const grad = layer.backward({ data: new Float32Array(24).fill(2), shape: small.shape }, true)!.data;
    out.forEach((v, i) => expect(grad[i]).toBe(v * 2));
  });
});

it('a small CNN builds from its spec and runs forward', () => {
  const model = new Model(
    sequentialFromSpec({
      input: [1, 12, 12],
      layers: [
        { type: 'conv2d', out: 4, kernelSize: 3, padding: 1 },
        { type: 'relu' },
        { type: 'max-pool2d', kernelSize: 2 },
        { type: 'dropout2d', p: 0.2 },
        { type: 'conv2d', out: 6, kernelSize: [3, 3], stride: 2 },
        { type: 'avg-pool2d', kernelSize: 2 },
        { type: 'flatten' },
        { type: 'linear', out: 3 },
      ],
    }),
    [1, 12, 12],
  ).initialize(0);
  expect(model.outputShape).toEqual([3]);
  expect(model.forward(new Float32Array(2 * 144).fill(0.5)).shape).toEqual([2, 3]);
});

describe('Conv2d runs a few samples at a time, forward and backward', () => {
  // 16 x 28 x 28 samples with a 3 x 3 kernel take 451 KB of patches each: one sample a block, five blocks.
  const [samples, inChannels, outChannels, side] = [5, 16, 8, 28];
  const k = inChannels * 9;
  const plane = side * side;
  const positions = samples * plane;
  const geometry = { channels: inChannels, height: side, width: side, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], outHeight: side, outWidth: side } as const;
  const x = Float32Array.from({ length: samples * inChannels * plane }, (_, i) => Math.sin(i * 0.37));
  const g = Float32Array.from({ length: samples * outChannels * plane }, (_, i) => Math.cos(i * 0.11));
  const weightValues = Float32Array.from({ length: outChannels * k }, (_, i) => Math.sin(i * 1.3) * 0.1);
  const biasValues = Float32Array.from({ length: outChannels }, (_, i) => i * 0.01 - 0.03);
  const bytes = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

  const run = (training: boolean): Buffer[] => {
    const conv = new Conv2d({ inChannels, outChannels, kernelSize: 3, padding: 1 });
    const weight = { value: weightValues, grad: new Float32Array(outChannels * k) };
    const bias = { value: biasValues, grad: new Float32Array(outChannels) };
    conv.bindParameters([weight, bias]);
    conv.train(training);
    const y = conv.forward({ data: x, shape: [samples, inChannels, side, side] }).data.slice();
    const gradIn = conv.backward({ data: g, shape: [samples, outChannels, side, side] }, true)!.data.slice();
    return [y, gradIn, weight.grad, bias.grad].map(bytes);
  };

  /** The same passes over the whole batch at once: every patch in one matrix, one product for each result. */
  const wholeBatch = (): Buffer[] => {
    const columns = new Float32Array(k * positions);
    imagesToColumns(geometry, samples, 0, inChannels, x, columns);
    const products = new Float32Array(positions * outChannels);
    matmul(transposed(columns, positions), transposed(weightValues, k), positions, k, outChannels, products);
    const y = new Float32Array(samples * outChannels * plane);
    rowsToPlanes(samples, outChannels, 0, outChannels, plane, products, y, biasValues);
    const rows = new Float32Array(positions * outChannels);
    planesToRows(samples, outChannels, 0, outChannels, plane, g, rows);
    const weightGrad = new Float32Array(outChannels * k);
    matmul(transposed(rows, outChannels), transposed(columns, positions), outChannels, positions, k, weightGrad, { accumulate: true });
    const biasGrad = new Float32Array(outChannels);
    addColumnSums(rows, positions, outChannels, biasGrad);
    matmul(transposed(weightValues, k), transposed(rows, outChannels), k, outChannels, positions, columns);
    const gradIn = new Float32Array(x.length);
    addColumnsToImages(geometry, samples, 0, inChannels, columns, gradIn);
    return [y, gradIn, weightGrad, biasGrad].map(bytes);
  };

  it('with the bits of one pass over the whole batch: the output, the input gradient, and the weight gradient summed across the blocks in order', () => {
    const expected = wholeBatch();
    const names = ['output', 'input gradient', 'weight gradient', 'bias gradient'];
    run(true).forEach((seen, i) => expect(seen.equals(expected[i]!), names[i]).toBe(true));
  });

  it('in eval mode too, and a backward pass after it gives the same gradients', () => {
    const [trained, inferred] = [run(true), run(false)];
    inferred.forEach((seen, i) => expect(seen.equals(trained[i]!)).toBe(true));
  });
});
