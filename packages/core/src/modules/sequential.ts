import { LockstepError } from '../errors.js';
import type { LayerFactory, LayerEntry } from '../layer-registry.js';
import type { Tensor } from '../tensor.js';
import { ConvBlock } from './conv-block.js';
import { checkModule, Module, type ForwardContext, type GradientMode } from './module.js';

/** Runs its layers in order; layer i gets the path "i" (or "parent.i" when nested). */
export class Sequential extends Module {
  readonly kind = 'Sequential';
  readonly layers: readonly Module[];
  /** The first layer with parameters: the gradients of the inputs below it are never read. */
  private readonly firstLearning: number;
  /** What forward and backward run in turn: each layer, or a block of layers that run fused (`ConvBlock`), with its first layer's index. */
  private readonly steps: readonly { readonly first: number; readonly run: Module | ConvBlock }[];

  constructor(...layers: Module[]) {
    super();
    layers.forEach((layer, i) => checkModule(`Sequential: layer ${i}`, layer));
    if (new Set(layers).size !== layers.length) {
      throw new LockstepError('E_SPEC', 'Sequential: the same layer instance appears twice; create a new layer for each place');
    }
    this.layers = layers;
    this.firstLearning = Math.max(0, layers.findIndex(hasParameters));
    const steps = [];
    for (let i = 0; i < layers.length; ) {
      const block = ConvBlock.at(layers, i);
      steps.push({ first: i, run: block ?? layers[i] });
      i += block?.length ?? 1;
    }
    this.steps = steps;
    this.setPath('');
  }

  override children(): readonly Module[] {
    return this.layers;
  }

  override passesGradientMode(): boolean {
    return true;
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
    for (const { run } of this.steps) x = run.forward(x, context);
    return x;
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean, gradients: GradientMode = 'add'): Tensor | null {
    let grad: Tensor | null = gradOutput;
    for (let s = this.steps.length - 1; s >= 0; s--) {
      const { first, run } = this.steps[s];
      const needed = needInputGrad || first > this.firstLearning;
      grad = run.backward(grad as Tensor, needed, gradients);
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
