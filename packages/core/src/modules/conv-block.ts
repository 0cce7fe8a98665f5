import type { Tensor } from '../tensor.js';
import { ReLU } from './activations.js';
import { Conv2d } from './conv2d.js';
import type { Module } from './module.js';
import { MaxPool2d } from './pool.js';

/**
 * A Conv2d with what follows it at once in a sequence, a ReLU, a max pool or a ReLU then a max pool,
 * run with fewer passes over the conv's output and the same bits: the ReLU inside the conv's output transpose
 * (`Conv2d.forwardRectified`), and, backward, the pool's and the ReLU's gradients written straight into
 * the conv's product rows (`Conv2d.backwardThroughMaxPool`). Exact classes only: a subclass may
 * change a layer's passes.
 */
export class ConvBlock {
  readonly length: number;

  private constructor(
    private readonly conv: Conv2d,
    private readonly relu: ReLU | null,
    private readonly pool: MaxPool2d | null,
  ) {
    this.length = 1 + (relu === null ? 0 : 1) + (pool === null ? 0 : 1);
  }

  /** The block that starts at layers[i], or null when there is nothing to fuse there. */
  static at(layers: readonly Module[], i: number): ConvBlock | null {
    if (layers[i]?.constructor !== Conv2d) return null;
    const relu = layers[i + 1]?.constructor === ReLU ? (layers[i + 1] as ReLU) : null;
    const next = layers[i + (relu === null ? 1 : 2)];
    const pool = next?.constructor === MaxPool2d ? (next as MaxPool2d) : null;
    return relu === null && pool === null ? null : new ConvBlock(layers[i] as Conv2d, relu, pool);
  }

  forward(input: Tensor): Tensor {
    const y = this.relu === null ? this.conv.forward(input) : this.relu.takeRectified(this.conv.forwardRectified(input));
    return this.pool === null ? y : this.pool.forward(y);
  }

  /** Its layers set no gradient (`ParameterSpec.setByBackward`): they add theirs in either `GradientMode`. */
  backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    if (this.relu !== null && !this.conv.rectifies) {
      // The layers ran one at a time (a replay of the forward pass): so does their backward.
      let g: Tensor | null = this.pool === null ? gradOutput : this.pool.backward(gradOutput, true);
      g = this.relu.backward(g as Tensor, true);
      return this.conv.backward(g as Tensor, needInputGrad);
    }
    return this.pool === null ? this.conv.backward(gradOutput, needInputGrad) : this.conv.backwardThroughMaxPool(gradOutput, this.pool, needInputGrad);
  }
}
