import { registerLayer, type LayerFactory } from '../layer-registry.js';
import {
  geluLayer,
  leakyReluLayer,
  reluLayer,
  seluLayer,
  sigmoidLayer,
  tanhLayer,
  type GeluSpec,
  type LeakyReluSpec,
  type ReluSpec,
  type SeluSpec,
  type SigmoidSpec,
  type TanhSpec,
} from './activations.js';
import { batchNorm1dLayer, batchNorm2dLayer, type BatchNormSpec } from './batch-norm.js';
import { conv2dLayer, type Conv2dSpec } from './conv2d.js';
import { dropoutLayer, type DropoutSpec } from './dropout.js';
import { dropout2dLayer, type Dropout2dSpec } from './dropout2d.js';
import { flattenLayer, type FlattenSpec } from './flatten.js';
import { layerNormLayer, type LayerNormSpec } from './layer-norm.js';
import type { LinearSpec } from './linear.js';
import { linearLayer } from './linear-layer.js';
import { alphaDropoutLayer, gaussianDropoutLayer, type AlphaDropoutSpec, type GaussianDropoutSpec } from './noise-dropout.js';
import { avgPool2dLayer, globalAvgPool2dLayer, maxPool2dLayer } from './pool-layers.js';
import type { AvgPool2dSpec, GlobalAvgPool2dSpec, MaxPool2dSpec } from './pool.js';
import { sequentialLayer, type SequentialSpec } from './sequential.js';

/** One built-in layer of a model spec, plain JSON; a layer added with `registerLayer` has its own entry. */
export type LayerSpec =
  | LinearSpec
  | ReluSpec
  | LeakyReluSpec
  | TanhSpec
  | SigmoidSpec
  | GeluSpec
  | FlattenSpec
  | DropoutSpec
  | SequentialSpec
  | Conv2dSpec
  | MaxPool2dSpec
  | AvgPool2dSpec
  | GlobalAvgPool2dSpec
  | Dropout2dSpec
  | SeluSpec
  | GaussianDropoutSpec
  | AlphaDropoutSpec
  | BatchNormSpec
  | LayerNormSpec;

// In this order in the "type must be one of" message.
export const BUILTIN_LAYERS: ReadonlyArray<LayerFactory<never>> = [
  linearLayer,
  reluLayer,
  leakyReluLayer,
  tanhLayer,
  sigmoidLayer,
  geluLayer,
  flattenLayer,
  dropoutLayer,
  sequentialLayer,
  conv2dLayer,
  maxPool2dLayer,
  avgPool2dLayer,
  globalAvgPool2dLayer,
  dropout2dLayer,
  seluLayer,
  gaussianDropoutLayer,
  alphaDropoutLayer,
  batchNorm1dLayer,
  batchNorm2dLayer,
  layerNormLayer,
];

for (const declaration of BUILTIN_LAYERS) registerLayer(declaration);
