import { describe, expect, it } from 'vitest';
import { AvgPool2d, Conv2d, GlobalAvgPool2d, MaxPool2d, Model, type Module } from '@lockstep/core';
import { expectRelativelyClose, f32, readFixture, type FixtureTensor } from './helpers/fixtures.js';

/**
 * PyTorch 1.13 is the oracle: fixtures from tools/parity/generate_conv.py. Convolution outputs and
 * weight gradients are float32 sums of 27 to 40 products of magnitude ~1, summed in another order
 * than PyTorch's; where a sum cancels to near 0 the two differ by up to ~1.3e-7, so the absolute floor
 * is 1e-6 (relative tolerance 1e-5 as everywhere).
 */
const ATOL = 1e-6;

interface Case {
  op: 'conv2d' | 'maxpool2d' | 'avgpool2d' | 'globalavgpool2d';
  inChannels?: number;
  outChannels?: number;
  kernelSize?: [number, number];
  stride?: [number, number];
  padding?: [number, number];
  dilation?: [number, number];
  groups?: number;
  hasBias?: boolean;
  countIncludePad?: boolean;
  input: FixtureTensor;
  gradOutput: FixtureTensor;
  output: FixtureTensor;
  gradInput: FixtureTensor;
  weight?: FixtureTensor;
  bias?: FixtureTensor;
  gradWeight?: FixtureTensor;
  gradBias?: FixtureTensor;
}

const fixture = readFixture<Record<string, Case>>('conv.json');
const cases = Object.entries(fixture).filter(([name]) => name !== 'generator' && name !== 'torch');

function layerFor(c: Case): Module {
  const window = { kernelSize: c.kernelSize!, stride: c.stride, padding: c.padding };
  switch (c.op) {
    case 'conv2d':
      return new Conv2d({ ...window, inChannels: c.inChannels!, outChannels: c.outChannels!, dilation: c.dilation, groups: c.groups, bias: c.hasBias });
    case 'maxpool2d':
      return new MaxPool2d(window);
    case 'avgpool2d':
      return new AvgPool2d({ ...window, countIncludePad: c.countIncludePad });
    case 'globalavgpool2d':
      return new GlobalAvgPool2d();
  }
}

describe('PyTorch parity: convolution and pooling', () => {
  it('covers every case of the fixture', () => {
    expect(cases.map(([name]) => name)).toEqual([
      'conv_basic',
      'conv_stride_pad',
      'conv_rect_nobias',
      'conv_dilation',
      'conv_groups',
      'maxpool',
      'maxpool_odd',
      'avgpool',
      'avgpool_pad',
      'global_avgpool',
    ]);
  });

  it.each(cases)('%s: output and every gradient within rtol 1e-5', (name, c) => {
    const layer = layerFor(c);
    const model = new Model(layer, c.input.shape.slice(1));
    if (c.weight !== undefined) {
      model.params.set(f32(c.weight), 0);
      if (c.bias !== undefined) model.params.set(f32(c.bias), c.weight.data.length);
    }
    const output = model.forward({ data: f32(c.input), shape: c.input.shape });
    expect(output.shape).toEqual(c.output.shape);
    expectRelativelyClose(output.data, c.output.data, `${name} output`, 1e-5, ATOL);
    const gradInput = layer.backward({ data: f32(c.gradOutput), shape: c.gradOutput.shape }, true)!;
    expectRelativelyClose(gradInput.data, c.gradInput.data, `${name} gradInput`, 1e-5, ATOL);
    if (c.gradWeight !== undefined) expectRelativelyClose(model.grads.subarray(0, c.gradWeight.data.length), c.gradWeight.data, `${name} gradWeight`, 1e-5, ATOL);
    if (c.gradBias !== undefined) expectRelativelyClose(model.grads.subarray(c.gradWeight!.data.length), c.gradBias.data, `${name} gradBias`, 1e-5, ATOL);
  });
});
