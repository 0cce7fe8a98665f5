import { checkOptionsObject, LockstepError } from '../errors.js';
import { formatShape } from '../tensor.js';
import type { LayerFactory } from '../layer-registry.js';
import type { DropoutScaling } from '../ops/dropout.js';
import type { KeyedDropoutOptions } from './keyed-dropout.js';
import { MaskDropout } from './mask-dropout.js';

/**
 * Channel dropout (spatial dropout) over NCHW batches: each feature map of each sample is kept or
 * dropped whole. Channel c of global sample s at step t is kept when keep(seed, path, t, s, c), the
 * same addressing as element dropout, with channels as the units.
 */
export class Dropout2d extends MaskDropout {
  readonly kind = 'Dropout2d';

  constructor(p = 0.5, options: KeyedDropoutOptions = {}) {
    super('Dropout2d', p, checkOptionsObject('Dropout2d options', options, '(scaling)'));
  }

  override toSpec(): Dropout2dSpec {
    return { type: 'dropout2d', p: this.p, scaling: this.scaling };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new LockstepError('E_SHAPE', `${this.describe()}: expects samples of shape [C,H,W], got ${formatShape(inputShape)}`);
    return [...inputShape];
  }

  /** One unit per feature map: [C,1,1]. */
  protected maskShape(sampleShape: readonly number[]): readonly number[] {
    return [sampleShape[0] ?? 0, 1, 1];
  }
}

export type Dropout2dSpec = { type: 'dropout2d'; p: number; scaling?: DropoutScaling };

export const dropout2dLayer: LayerFactory<Dropout2dSpec> = {
  type: 'dropout2d',
  fields: { required: { p: 'number' }, optional: { scaling: 'scaling' } },
  fromSpec: (entry) => new Dropout2d(entry.p, { scaling: entry.scaling ?? 'inverted' }),
};
