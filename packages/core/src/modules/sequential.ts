import { LockstepError } from '../errors.js';
import type { LayerFactory, LayerEntry } from '../layer-registry.js';
import type { Tensor } from '../tensor.js';
import { convReluPairs, type ConvRelu } from './conv-relu.js';
import { Module, type ForwardContext } from './module.js';

/** Runs its layers in order; layer i gets the path "i" (or "parent.i" when nested). */
export class Sequential extends Module {
  readonly kind = 'Sequential';
  readonly layers: readonly Module[];
  /** The first layer with parameters: the gradients of the inputs below it are never read. */
  private readonly firstLearning: number;
  /** Per layer, the conv-ReLU pair it starts, run fused. */
  private readonly convRelu: readonly (ConvRelu | null)[];

  constructor(...layers: Module[]) {
    super();
    if (new Set(layers).size !== layers.length) {
      throw new LockstepError('E_SPEC', 'Sequential: the same layer instance appears twice; create a new layer for each place');
    }
    this.layers = layers;
    this.firstLearning = Math.max(0, layers.findIndex(hasParameters));
    this.convRelu = convReluPairs(layers);
    this.setPath('');
  }

  override children(): readonly Module[] {
    return this.layers;
  }

  override setPath(path: string): void {
    this.path = path;
    this.layers.forEach((layer, index) => layer.setPath(path === '' ? String(index) : `${path}.${index}`));
  }

  override toSpec(): SequentialSpec {
    return { type: 'sequential', layers: this.layers.map((layer) => layer.toSpec()) };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    let shape = [...inputShape];
    for (const layer of this.layers) shape = layer.outputShape(shape);
    return shape;
  }

  override forward(input: Tensor, context: ForwardContext): Tensor {
    let x = input;
    for (let i = 0; i < this.layers.length; i++) {
      const pair = this.convRelu[i];
      if (pair === null) {
        x = this.layers[i].forward(x, context);
      } else {
        x = pair.relu.takeRectified(pair.conv.forwardRectified(x));
        i++;
      }
    }
    return x;
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    let grad: Tensor | null = gradOutput;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      // A ReLU that ran inside the conv before it: the conv's backward takes the gradient through it.
      if (i > 0 && this.convRelu[i - 1]?.conv.rectifies === true) continue;
      const needed = needInputGrad || i > this.firstLearning;
      grad = this.layers[i].backward(grad as Tensor, needed);
      if (!needed) return null;
    }
    return grad;
  }
}

function hasParameters(module: Module): boolean {
  return module.parameterSpecs().length > 0 || module.children().some(hasParameters);
}

export type SequentialSpec = { type: 'sequential'; layers: LayerEntry[] };

export const sequentialLayer: LayerFactory<SequentialSpec> = {
  type: 'sequential',
  fields: { required: { layers: 'layers' } },
  fromSpec: (_entry, inputShape, context) => new Sequential(...context.layers('layers', inputShape)),
};
