import { checkNumber, LockstepError } from '../errors.js';
import type { Model } from '../model.js';
import { applyMaxNorm, maxNormPlan, type MaxNormPlan } from './max-norm.js';
import { checkOptimizer, stateSlots, type OptimizerConfig } from './optimizer.js';
import { applyUpdate } from './update.js';

/**
 * PyTorch's optimizer object for a hand-written loop: it keeps its own state (momentum, Adam's
 * moments) and step count, and `step()` applies `applyUpdate` to the model's parameters with the
 * gradients in `model.grads`, then any MaxNorm constraint: the same bits as a `fit` step given the
 * same summed gradient.
 *
 *     const optimizer = new Optimizer(model, sgd({ lr: 0.1, momentum: 0.9 }));
 *     optimizer.zeroGrad();
 *     const output = model.forward(batch.inputs, { key: dropoutRunKey(seed), step, samples });
 *     const gradient = new Float32Array(output.data.length);
 *     crossEntropy.evaluate(output, batch.targets, samples.length, gradient);
 *     model.backward({ data: gradient, shape: output.shape });
 *     optimizer.step();
 */
export class Optimizer {
  readonly model: Model;
  readonly config: OptimizerConfig;
  /** `stateSlots(config)` slots of one value per parameter (slot s of parameter i at s * P + i), as in a checkpoint. */
  readonly state: Float32Array;
  /** Steps taken; the next step is `steps + 1` (1-based, as Adam's bias correction counts). */
  steps = 0;
  private rate: number;
  private readonly constraints: MaxNormPlan;

  constructor(model: Model, given: OptimizerConfig) {
    const config = checkOptimizer(given);
    if (config.clipNorm !== undefined) {
      throw new LockstepError('E_OPTION', 'Optimizer: clipNorm is applied by fit across the whole step; leave it out and scale model.grads yourself (gradientNorm)');
    }
    if (config.schedule.kind !== 'constant') {
      throw new LockstepError(
        'E_OPTION',
        `Optimizer: schedule (${config.schedule.kind}) is followed by fit, which counts the steps and epochs; leave it out and set optimizer.lr before each step (learningRateAt)`,
      );
    }
    this.model = model;
    this.config = config;
    this.state = new Float32Array(stateSlots(config) * model.size);
    this.rate = config.lr;
    this.constraints = maxNormPlan(model.entries);
  }

  /** The learning rate of the next steps: the config's; set it each step to follow a schedule (`learningRateAt`). */
  get lr(): number {
    return this.rate;
  }

  set lr(lr: number) {
    this.rate = checkNumber('Optimizer lr', lr, 0);
  }

  /** Sets every gradient to 0, as PyTorch's `optimizer.zero_grad(set_to_none=False)`. */
  zeroGrad(): void {
    this.model.zeroGrad();
  }

  /** One update of every parameter with the gradients in `model.grads`; then MaxNorm constraints, if any. */
  step(): void {
    this.steps++;
    applyUpdate(this.config, { params: this.model.params, grads: this.model.grads, state: this.state }, this.steps, this.lr);
    if (this.constraints.rows > 0) applyMaxNorm(this.model.params, this.constraints);
  }
}
