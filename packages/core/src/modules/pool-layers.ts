import type { LayerFactory } from '../layer-registry.js';
import { AvgPool2d, GlobalAvgPool2d, MaxPool2d, type AvgPool2dSpec, type GlobalAvgPool2dSpec, type MaxPool2dSpec } from './pool.js';

export const maxPool2dLayer: LayerFactory<MaxPool2dSpec> = {
  type: 'max-pool2d',
  fields: { required: { kernelSize: 'pair' }, optional: { stride: 'pair', padding: 'pair0' } },
  fromSpec: (entry) => new MaxPool2d(entry),
};

export const avgPool2dLayer: LayerFactory<AvgPool2dSpec> = {
  type: 'avg-pool2d',
  fields: { required: { kernelSize: 'pair' }, optional: { stride: 'pair', padding: 'pair0', countIncludePad: 'boolean' } },
  fromSpec: (entry) => new AvgPool2d(entry),
};

export const globalAvgPool2dLayer: LayerFactory<GlobalAvgPool2dSpec> = { type: 'global-avg-pool2d', fields: {}, fromSpec: () => new GlobalAvgPool2d() };
