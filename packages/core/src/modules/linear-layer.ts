import { LockstepError } from '../errors.js';
import type { LayerFactory } from '../layer-registry.js';
import { DropConnectLinear } from './drop-connect.js';
import { Linear, type LinearSpec } from './linear.js';

/** The spec's "linear": a Linear, or a DropConnectLinear when the entry has `dropConnect`. */
export const linearLayer: LayerFactory<LinearSpec> = {
  type: 'linear',
  fields: { required: { out: 'int' }, optional: { in: 'int', bias: 'boolean', init: 'init', dropConnect: 'rate', maxNorm: 'positive' } },
  fromSpec(entry, inputShape) {
    const inFeatures = entry.in ?? (inputShape.length === 1 ? inputShape[0] : undefined);
    if (inFeatures === undefined) {
      throw new LockstepError('E_SHAPE', `linear: input samples have shape [${inputShape.join(',')}]; add {"type": "flatten"} before it`);
    }
    const options = { inFeatures, outFeatures: entry.out, bias: entry.bias ?? true, init: entry.init ?? 'torch-default', maxNorm: entry.maxNorm };
    return entry.dropConnect === undefined ? new Linear(options) : new DropConnectLinear({ ...options, p: entry.dropConnect });
  },
};
