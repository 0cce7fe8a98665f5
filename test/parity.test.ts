import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  applyMask,
  applyUpdate,
  crossEntropy,
  Dataset,
  GELU,
  LeakyReLU,
  Linear,
  meanSquaredError,
  Model,
  ReLU,
  Sequential,
  sgd,
  Sigmoid,
  Tanh,
  type Module,
  type OptimizerConfig,
} from '@lockstep/core';
import { expectRelativelyClose, f32, readFixture, type FixtureTensor } from './helpers/fixtures.js';

/**
 * PyTorch 1.13 is the oracle: fixtures come from tools/parity/generate.py; these tests need no Python.
 * Activations are compared with PyTorch's float64 results, since its float32 GELU is itself off by up
 * to 2e-4 relative in the far negative tail.
 */

interface LayerCase {
  input: FixtureTensor;
  gradOutput: FixtureTensor;
  output: FixtureTensor;
  gradInput: FixtureTensor;
  outputFloat64?: FixtureTensor;
  gradInputFloat64?: FixtureTensor;
  weight?: FixtureTensor;
  bias?: FixtureTensor;
  gradWeight?: FixtureTensor;
  gradBias?: FixtureTensor;
  negativeSlope?: number;
}

const layers = readFixture<Record<string, LayerCase>>('layers.json');

function layerFor(name: string, c: LayerCase): Module {
  const features = c.input.shape[1];
  switch (name) {
    case 'linear':
    case 'linear_nobias':
      return new Linear({ inFeatures: features, outFeatures: c.output.shape[1], bias: c.bias !== undefined });
    case 'relu':
      return new ReLU();
    case 'leaky_relu':
      return new LeakyReLU(c.negativeSlope);
    case 'tanh':
      return new Tanh();
    case 'sigmoid':
      return new Sigmoid();
    case 'gelu':
      return new GELU('none');
    case 'gelu_tanh':
      return new GELU('tanh');
    default:
      throw new Error(`no layer for fixture case ${name}`);
  }
}

describe('PyTorch parity: layers', () => {
  const cases = Object.entries(layers).filter(([name]) => name !== 'generator' && name !== 'torch');

  it('covers every layer case of the fixture', () => {
    expect(cases.map(([name]) => name).sort()).toEqual(
      ['gelu', 'gelu_tanh', 'leaky_relu', 'linear', 'linear_nobias', 'relu', 'sigmoid', 'tanh'],
    );
  });

  it.each(cases)('%s forward and backward within rtol 1e-5', (name, c) => {
    const layer = layerFor(name, c);
    const model = new Model(layer, c.input.shape.slice(1));
    if (c.weight !== undefined) {
      model.params.set(f32(c.weight), 0);
      if (c.bias !== undefined) model.params.set(f32(c.bias), c.weight.data.length);
    }
    const output = model.forward({ data: f32(c.input), shape: c.input.shape });
    expectRelativelyClose(output.data, (c.outputFloat64 ?? c.output).data, `${name} output`);
    const gradInput = layer.backward({ data: f32(c.gradOutput), shape: c.gradOutput.shape }, true)!;
    expectRelativelyClose(gradInput.data, (c.gradInputFloat64 ?? c.gradInput).data, `${name} gradInput`);
    if (c.gradWeight !== undefined) {
      expectRelativelyClose(model.grads.subarray(0, c.gradWeight.data.length), c.gradWeight.data, `${name} gradWeight`);
    }
    if (c.gradBias !== undefined) {
      expectRelativelyClose(model.grads.subarray(c.gradWeight!.data.length), c.gradBias.data, `${name} gradBias`);
    }
  });
});

describe('PyTorch parity: losses', () => {
  const losses = readFixture<{
    cross_entropy: { logits: FixtureTensor; labels: number[]; loss: number; gradLogits: FixtureTensor };
    mse: { output: FixtureTensor; target: FixtureTensor; loss: number; gradOutput: FixtureTensor };
  }>('losses.json');

  it('softmax cross-entropy (with a row of logits near 100)', () => {
    const c = losses.cross_entropy;
    const rows = c.logits.shape[0];
    const data = Dataset.classification(new Float32Array(rows), [1], Int32Array.from(c.labels), c.logits.shape[1]);
    const grad = new Float32Array(c.logits.data.length);
    const { sum } = crossEntropy.evaluate({ data: f32(c.logits), shape: c.logits.shape }, data.targets, rows, grad);
    expectRelativelyClose([sum / rows], [c.loss], 'loss');
    expectRelativelyClose(grad, c.gradLogits.data, 'gradLogits');
  });

  it('mean squared error', () => {
    const c = losses.mse;
    const [rows, width] = c.output.shape;
    const data = Dataset.regression(new Float32Array(rows), [1], f32(c.target), width);
    const grad = new Float32Array(c.output.data.length);
    const { sum } = meanSquaredError.evaluate({ data: f32(c.output), shape: c.output.shape }, data.targets, rows, grad);
    expectRelativelyClose([sum / rows], [c.loss], 'loss');
    expectRelativelyClose(grad, c.gradOutput.data, 'gradOutput');
  });
});

/** Linear -> ReLU -> explicit dropout mask -> Linear, as in the dropout and optimizer fixtures. */
class MaskedMlp {
  readonly first: Linear;
  readonly second: Linear;
  readonly relu = new ReLU();
  readonly model: Model;
  private masked = new Float32Array(0);

  constructor(inF: number, hidden: number, outF: number) {
    this.first = new Linear({ inFeatures: inF, outFeatures: hidden });
    this.second = new Linear({ inFeatures: hidden, outFeatures: outF });
    this.model = new Model(new Sequential(this.first, this.relu, this.second), [inF]);
  }

  load(w1: FixtureTensor, b1: FixtureTensor, w2: FixtureTensor, b2: FixtureTensor): void {
    let at = 0;
    for (const t of [w1, b1, w2, b2]) {
      this.model.params.set(f32(t), at);
      at += t.data.length;
    }
  }

  forward(input: FixtureTensor, mask: Uint8Array, scale: number): { data: Float32Array; shape: readonly number[] } {
    const context = { key: [0, 0] as const, step: 0, samples: [] };
    const hidden = this.relu.forward(this.first.forward({ data: f32(input), shape: input.shape }), context);
    this.masked = new Float32Array(hidden.data.length);
    applyMask(hidden.data, multipliers(mask, scale), this.masked);
    return this.second.forward({ data: this.masked, shape: hidden.shape });
  }

  backward(gradOutput: { data: Float32Array; shape: readonly number[] }, mask: Uint8Array, scale: number): void {
    const gradMasked = this.second.backward(gradOutput, true)!;
    const gradHidden = new Float32Array(gradMasked.data.length);
    applyMask(gradMasked.data, multipliers(mask, scale), gradHidden);
    this.first.backward(this.relu.backward({ data: gradHidden, shape: gradMasked.shape }, true)!, false);
  }
}

const toMask = (t: FixtureTensor): Uint8Array => Uint8Array.from(t.data);
const multipliers = (mask: Uint8Array, scale: number): Float32Array => Float32Array.from(mask, (keep) => keep * scale);

describe('PyTorch parity: dropout scalings with an explicit mask', () => {
  const d = readFixture<{
    p: number;
    w1: FixtureTensor;
    b1: FixtureTensor;
    w2: FixtureTensor;
    b2: FixtureTensor;
    input: FixtureTensor;
    mask: FixtureTensor;
    outputs: Record<'trainInverted' | 'trainClassic' | 'evalInverted' | 'evalClassic', FixtureTensor>;
  }>('dropout.json');
  const mlp = new MaskedMlp(d.w1.shape[1], d.w1.shape[0], d.w2.shape[0]);
  mlp.load(d.w1, d.b1, d.w2, d.b2);
  const keepAll = new Uint8Array(d.mask.data.length).fill(1);

  it.each([
    ['trainInverted', toMask(d.mask), 1 / (1 - d.p)],
    ['trainClassic', toMask(d.mask), 1],
    ['evalInverted', keepAll, 1],
    ['evalClassic', keepAll, 1 - d.p],
  ] as const)('%s', (name, mask, scale) => {
    expectRelativelyClose(mlp.forward(d.input, mask, scale).data, d.outputs[name].data, name);
  });
});

describe('PyTorch parity: 3 optimizer steps', () => {
  interface Step {
    step: number;
    loss: number;
    params: Record<'w1' | 'b1' | 'w2' | 'b2', FixtureTensor>;
    state: Record<string, Record<'w1' | 'b1' | 'w2' | 'b2', FixtureTensor>>;
  }
  const o = readFixture<{
    p: number;
    input: FixtureTensor;
    labels: number[];
    masks: FixtureTensor[];
    init: Record<'w1' | 'b1' | 'w2' | 'b2', FixtureTensor>;
    cases: Record<string, { config: Record<string, number | boolean | string>; steps: Step[] }>;
  }>('optimizers.json');

  function configOf(c: Record<string, number | boolean | string>): OptimizerConfig {
    const n = (key: string): number => c[key] as number;
    if (c.kind === 'sgd') return sgd({ lr: n('lr'), momentum: n('momentum'), nesterov: c.nesterov as boolean, weightDecay: n('weightDecay') });
    const options = { lr: n('lr'), beta1: n('beta1'), beta2: n('beta2'), eps: n('eps'), weightDecay: n('weightDecay') };
    return c.kind === 'adam' ? adam(options) : adamw(options);
  }

  const flat = (r: Record<'w1' | 'b1' | 'w2' | 'b2', FixtureTensor>): number[] => [...r.w1.data, ...r.b1.data, ...r.w2.data, ...r.b2.data];

  it('covers SGD with momentum, Nesterov with weight decay, Adam, Adam with L2 and AdamW', () => {
    expect(Object.keys(o.cases).sort()).toEqual(['adam', 'adam_wd', 'adamw', 'sgd_momentum', 'sgd_nesterov_wd']);
  });

  it.each(Object.entries(o.cases))('%s: loss, parameters and optimizer state after each step', (_name, c) => {
    const config = configOf(c.config);
    const mlp = new MaskedMlp(o.init.w1.shape[1], o.init.w1.shape[0], o.init.w2.shape[0]);
    mlp.load(o.init.w1, o.init.b1, o.init.w2, o.init.b2);
    const { model } = mlp;
    const rows = o.input.shape[0];
    const data = Dataset.classification(new Float32Array(rows), [1], Int32Array.from(o.labels), o.init.w2.shape[0]);
    const slots = config.kind === 'sgd' ? 1 : 2;
    const state = new Float32Array(slots * model.size);
    const scale = 1 / (1 - o.p);
    for (const step of c.steps) {
      const mask = toMask(o.masks[step.step - 1]);
      const output = mlp.forward(o.input, mask, scale);
      const grad = new Float32Array(output.data.length);
      const { sum } = crossEntropy.evaluate(output, data.targets, rows, grad);
      expectRelativelyClose([sum / rows], [step.loss], `step ${step.step} loss`);
      model.zeroGrad();
      mlp.backward({ data: grad, shape: output.shape }, mask, scale);
      applyUpdate(config, { params: model.params, grads: model.grads, state }, step.step, config.lr);
      expectRelativelyClose(model.params, flat(step.params), `step ${step.step} params`);
      // Two float32 trajectories with different summation orders drift apart by rounding; where a
      // momentum buffer cancels down to 1e-3 that is ~4e-8 absolute, so the floor here is 1e-7.
      const stateNames = config.kind === 'sgd' ? ['momentumBuffer'] : ['expAvg', 'expAvgSq'];
      stateNames.forEach((name, slot) => {
        expectRelativelyClose(state.subarray(slot * model.size, (slot + 1) * model.size), flat(step.state[name]), `step ${step.step} ${name}`, 1e-5, 1e-7);
      });
    }
  });
});
