import { LockstepError } from '../../errors.js';
import { GELU, LeakyReLU, ReLU, SELU, Sigmoid, Tanh } from '../../modules/activations.js';
import { BatchNorm, BatchNorm1d, BatchNorm2d } from '../../modules/batch-norm.js';
import { Conv2d } from '../../modules/conv2d.js';
import { DropConnectLinear } from '../../modules/drop-connect.js';
import { Dropout } from '../../modules/dropout.js';
import { Dropout2d } from '../../modules/dropout2d.js';
import { Flatten } from '../../modules/flatten.js';
import { LayerNorm } from '../../modules/layer-norm.js';
import { Linear } from '../../modules/linear.js';
import type { MaskDropout } from '../../modules/mask-dropout.js';
import type { Module } from '../../modules/module.js';
import { AlphaDropout, GaussianDropout } from '../../modules/noise-dropout.js';
import { AvgPool2d, GlobalAvgPool2d, MaxPool2d } from '../../modules/pool.js';
import { Sequential } from '../../modules/sequential.js';
import { evalScale } from '../../ops/dropout.js';
import type { OnnxGraph } from './graph.js';

/**
 * How one layer class becomes ONNX: the nodes of its eval-mode forward pass, from the value `input`
 * (samples of `sampleShape`, batch axis first) to the value it returns.
 */
export type OnnxRule<M extends Module = Module> = (layer: M, input: string, graph: OnnxGraph, sampleShape: readonly number[]) => string;

type LayerClass<M extends Module> = abstract new (...args: never[]) => M;

// By exact class: a subclass may change the forward pass, so it needs a rule of its own.
const rules = new Map<Function, OnnxRule>();

/** Gives a layer class (a custom layer, say) its ONNX export rule; a class has one rule. */
export function registerOnnxRule<M extends Module>(layerClass: LayerClass<M>, rule: OnnxRule<M>): void {
  if (rules.has(layerClass)) throw new LockstepError('E_SPEC', `registerOnnxRule: ${layerClass.name} already has an ONNX export rule`);
  rules.set(layerClass, rule as OnnxRule);
}

/** Adds the nodes of `layer` (and its children) to `graph`; returns its output value. */
export function lowerLayer(layer: Module, input: string, graph: OnnxGraph, sampleShape: readonly number[]): string {
  const rule = rules.get(layer.constructor);
  if (rule === undefined) {
    const name = layer.constructor.name;
    throw new LockstepError(
      'E_SPEC',
      `exportOnnx: ${layer.describe()} has no ONNX export rule; give it one with registerOnnxRule(${name}, rule), or build the model from lockstep's built-in layers`,
    );
  }
  return graph.within(layer, () => rule(layer, input, graph, sampleShape));
}

const pairs = (a: readonly [number, number]): { ints: number[] } => ({ ints: [...a] });
/** ONNX pads are [top, left, bottom, right]; lockstep pads both sides alike. */
const pads = (padding: readonly [number, number]): { ints: number[] } => ({ ints: [padding[0], padding[1], padding[0], padding[1]] });

/** Linear and DropConnectLinear: DropConnect is a plain Linear in eval mode, and max-norm has already rescaled the stored weights. */
const linearRule: OnnxRule<Linear> = (layer, input, graph) => {
  const inputs = [input, graph.parameter('weight')];
  if (layer.hasBias) inputs.push(graph.parameter('bias'));
  return graph.node('Gemm', inputs, { transB: { int: 1 } });
};

const conv2dRule: OnnxRule<Conv2d> = (layer, input, graph) => {
  const inputs = [input, graph.parameter('weight')];
  if (layer.hasBias) inputs.push(graph.parameter('bias'));
  return graph.node('Conv', inputs, {
    kernel_shape: pairs(layer.kernelSize),
    strides: pairs(layer.stride),
    pads: pads(layer.padding),
    dilations: pairs(layer.dilation),
    group: { int: layer.groups },
  });
};

const SQRT_2_OVER_PI = 0.7978845608028654;
const GELU_CUBIC = 0.044715;

/** Opset 17 has no Gelu: x * 0.5 * (1 + erf(x / sqrt 2)), or the tanh form, from elementary nodes. */
const geluRule: OnnxRule<GELU> = (layer, x, graph) => {
  const one = graph.constant('one', [1], []);
  const half = graph.constant('half', [0.5], []);
  let phi2: string;
  if (layer.approximate === 'tanh') {
    const cube = graph.node('Mul', [graph.node('Mul', [x, x]), x]);
    const inner = graph.node('Add', [x, graph.node('Mul', [cube, graph.constant('cubic', [GELU_CUBIC], [])])]);
    phi2 = graph.node('Add', [graph.node('Tanh', [graph.node('Mul', [inner, graph.constant('sqrt2OverPi', [SQRT_2_OVER_PI], [])])]), one]);
  } else {
    phi2 = graph.node('Add', [graph.node('Erf', [graph.node('Mul', [x, graph.constant('sqrtHalf', [Math.SQRT1_2], [])])]), one]);
  }
  return graph.node('Mul', [graph.node('Mul', [x, phi2]), half]);
};

/** lockstep's SELU constants (Klambauer et al. 2017), written out rather than left to ONNX's defaults. */
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/**
 * With running statistics, ONNX's BatchNormalization in inference mode. Without them lockstep
 * normalizes by the batch's own mean and biased variance in eval mode too, so the graph computes them.
 */
const batchNormRule: OnnxRule<BatchNorm> = (layer, x, graph, sampleShape) => {
  const c = layer.numFeatures;
  if (layer.trackRunningStats) {
    const scale = layer.affine ? graph.parameter('weight') : graph.constant('scale', new Float32Array(c).fill(1), [c]);
    const shift = layer.affine ? graph.parameter('bias') : graph.constant('shift', new Float32Array(c), [c]);
    return graph.node('BatchNormalization', [x, scale, shift, graph.parameter('runningMean'), graph.parameter('runningVar')], { epsilon: { float: layer.eps } });
  }
  // Axes of the batch other than the channel axis: 0, then each axis after C.
  const axes = { ints: [0, ...sampleShape.slice(1).map((_, i) => i + 2)] };
  const mean = graph.node('ReduceMean', [x], { axes, keepdims: { int: 1 } });
  const centred = graph.node('Sub', [x, mean]);
  const variance = graph.node('ReduceMean', [graph.node('Mul', [centred, centred])], { axes, keepdims: { int: 1 } });
  const std = graph.node('Sqrt', [graph.node('Add', [variance, graph.constant('eps', [layer.eps], [])])]);
  const normalized = graph.node('Div', [centred, std]);
  if (!layer.affine) return normalized;
  const perChannel = [c, ...sampleShape.slice(1).map(() => 1)];
  return graph.node('Add', [graph.node('Mul', [normalized, graph.parameter('weight', perChannel)]), graph.parameter('bias', perChannel)]);
};

const layerNormRule: OnnxRule<LayerNorm> = (layer, x, graph) => {
  const shape = layer.normalizedShape;
  const width = shape.reduce((a, b) => a * b, 1);
  const inputs = layer.elementwiseAffine ? [x, graph.parameter('weight'), graph.parameter('bias')] : [x, graph.constant('scale', new Float32Array(width).fill(1), shape)];
  return graph.node('LayerNormalization', inputs, { axis: { int: -shape.length }, epsilon: { float: layer.eps } });
};

/** Keep-or-drop dropout in eval mode: the identity under inverted scaling, times the keep probability under classic scaling. */
const maskDropoutRule: OnnxRule<MaskDropout> = (layer, x, graph) => {
  const scale = evalScale(layer.p, layer.scaling);
  return scale === 1 ? x : graph.node('Mul', [x, graph.constant('keep', [scale], [])]);
};

/** Gaussian and alpha dropout are the identity in eval mode. */
const identityRule: OnnxRule = (_layer, x) => x;

const sequentialRule: OnnxRule<Sequential> = (layer, input, graph, sampleShape) => {
  let value = input;
  let shape = sampleShape;
  for (const child of layer.layers) {
    value = lowerLayer(child, value, graph, shape);
    shape = child.outputShape(shape);
  }
  return value;
};

registerOnnxRule(Sequential, sequentialRule);
registerOnnxRule(Linear, linearRule);
registerOnnxRule(DropConnectLinear, linearRule);
registerOnnxRule(Conv2d, conv2dRule);
registerOnnxRule(MaxPool2d, (layer, x, graph) => graph.node('MaxPool', [x], { kernel_shape: pairs(layer.kernelSize), strides: pairs(layer.stride), pads: pads(layer.padding) }));
registerOnnxRule(AvgPool2d, (layer, x, graph) =>
  graph.node('AveragePool', [x], {
    kernel_shape: pairs(layer.kernelSize),
    strides: pairs(layer.stride),
    pads: pads(layer.padding),
    count_include_pad: { int: layer.countIncludePad ? 1 : 0 },
  }),
);
registerOnnxRule(GlobalAvgPool2d, (_layer, x, graph) => graph.node('Flatten', [graph.node('GlobalAveragePool', [x])], { axis: { int: 1 } }));
registerOnnxRule(Flatten, (_layer, x, graph) => graph.node('Flatten', [x], { axis: { int: 1 } }));
registerOnnxRule(ReLU, (_layer, x, graph) => graph.node('Relu', [x]));
registerOnnxRule(LeakyReLU, (layer, x, graph) => graph.node('LeakyRelu', [x], { alpha: { float: layer.negativeSlope } }));
registerOnnxRule(Tanh, (_layer, x, graph) => graph.node('Tanh', [x]));
registerOnnxRule(Sigmoid, (_layer, x, graph) => graph.node('Sigmoid', [x]));
registerOnnxRule(SELU, (_layer, x, graph) => graph.node('Selu', [x], { alpha: { float: SELU_ALPHA }, gamma: { float: SELU_SCALE } }));
registerOnnxRule(GELU, geluRule);
registerOnnxRule(BatchNorm1d, batchNormRule);
registerOnnxRule(BatchNorm2d, batchNormRule);
registerOnnxRule(LayerNorm, layerNormRule);
registerOnnxRule(Dropout, maskDropoutRule);
registerOnnxRule(Dropout2d, maskDropoutRule);
registerOnnxRule(GaussianDropout, identityRule);
registerOnnxRule(AlphaDropout, identityRule);
