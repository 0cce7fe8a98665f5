import type { Targets } from '../data/dataset.js';
import type { Loss, LossResult } from '../losses/loss.js';
import type { Model } from '../model.js';
import type { Key } from '../random/key.js';
import { Scratch } from '../tensor.js';

/** The rows of one chunk: inputs end to end, their targets, and their global sample indices. */
export interface Chunk {
  readonly inputs: Float32Array;
  readonly targets: Targets;
  readonly samples: ArrayLike<number>;
}

const lossGrads = new Scratch();

/**
 * The gradient of one chunk's share of the batch's mean loss, written into `slot` (the model's
 * gradient layout), whatever it held. This is the unit of work every trainer splits a batch into: the
 * result depends on the parameters, the chunk, the batch size, the step and the key, and on nothing else.
 */
export function chunkGradient(model: Model, loss: Loss, chunk: Chunk, batchSize: number, step: number, dropoutKey: Key, slot: Float32Array): LossResult {
  model.bind(model.params, slot);
  const output = model.forward(model.inputTensor(chunk.inputs), { key: dropoutKey, step, samples: chunk.samples });
  const grad = lossGrads.take(output.data.length);
  const result = loss.evaluate(output, chunk.targets, batchSize, grad);
  model.backward({ data: grad, shape: output.shape }, { gradients: 'set' });
  return result;
}
