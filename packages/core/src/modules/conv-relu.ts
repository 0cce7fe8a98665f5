import { ReLU } from './activations.js';
import { Conv2d } from './conv2d.js';
import type { Module } from './module.js';

/** A Conv2d and the ReLU right after it, which run as one pass over the conv's output. */
export interface ConvRelu {
  readonly conv: Conv2d;
  readonly relu: ReLU;
}

/**
 * For each layer of a sequence, the pair it starts when it is a Conv2d followed at once by a ReLU,
 * else null. Such a pair saves a read and a write of the conv's output each way (forward:
 * `Conv2d.forwardRectified`; backward: the conv's gradient transpose masks by the output's signs),
 * with the same bits. Exact classes only: a subclass may change either layer's passes.
 */
export function convReluPairs(layers: readonly Module[]): (ConvRelu | null)[] {
  return layers.map((conv, i) => {
    const relu = layers[i + 1];
    return conv.constructor === Conv2d && relu?.constructor === ReLU ? { conv: conv as Conv2d, relu: relu as ReLU } : null;
  });
}
