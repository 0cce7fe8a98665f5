import { checkKnownFields, describeValue, LockstepError } from '../../errors.js';
import type { Model } from '../../model.js';
import { sizeOf } from '../../tensor.js';
import { OnnxGraph } from './graph.js';
import { encodeModel, ONNX_IR_VERSION, ONNX_OPSET_VERSION, TENSOR_FLOAT, type ValueInfoProto } from './proto.js';
import { lowerLayer } from './rules.js';

export interface OnnxExportOptions {
  /**
   * End the graph with a Softmax over the model's whole output per sample, so it outputs probabilities
   * [batch, classes] as `predict` prints them (default false: logits [batch, ...outputShape]).
   */
  softmax?: boolean;
  /**
   * Normalize the input in the graph, before the first layer, as lockstep's image reader does after
   * scaling: (x - mean[c]) / std[c] for each channel c of axis 1, one mean and one std per channel.
   * The file then takes the values before normalization (pixel / 255 for 8-bit images). Default:
   * none, the input goes to the first layer as it is.
   */
  inputNormalization?: InputNormalization;
  /** Text the file carries in its metadata_props, key by key: where the weights came from, what the input must be. */
  metadata?: Readonly<Record<string, string>>;
}

/** Per-channel normalization: each value x of channel c becomes (x - mean[c]) / std[c]. */
export interface InputNormalization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** The graph's input: a batch of the model's samples, float32, any number of rows. */
export const ONNX_INPUT_NAME = 'input';
/** The graph's output without, and with, the optional softmax. */
export const ONNX_LOGITS_NAME = 'logits';
export const ONNX_PROBABILITIES_NAME = 'probabilities';

function floatTensor(name: string, sampleShape: readonly number[]): ValueInfoProto {
  const dim = [{ dimParam: 'batch' }, ...sampleShape.map((size) => ({ dimValue: size }))];
  return { name, type: { tensorType: { elemType: TENSOR_FLOAT, shape: { dim } } } };
}

function checkNormalization(normalization: InputNormalization, inputShape: readonly number[]): void {
  const channels = inputShape[0];
  const fits = (values: unknown, positive: boolean): boolean =>
    Array.isArray(values) && values.length === channels && values.every((value) => Number.isFinite(value) && (!positive || value > 0));
  if (!fits(normalization?.mean, false) || !fits(normalization?.std, true)) {
    throw new LockstepError(
      'E_OPTION',
      `exportOnnx: options.inputNormalization needs ${channels} finite means and ${channels} stds above 0, one per channel of the input [${inputShape.join(',')}], got ${JSON.stringify(normalization)}`,
    );
  }
}

/** (x - mean) / std over axis 1, with the mean and std shaped [C, 1, ...] to broadcast over the other axes. */
function normalizeChannels(graph: OnnxGraph, input: string, { mean, std }: InputNormalization, inputShape: readonly number[]): string {
  const dims = [inputShape[0], ...inputShape.slice(1).map(() => 1)];
  return graph.node('Div', [graph.node('Sub', [input, graph.constant('mean', mean, dims)]), graph.constant('std', std, dims)]);
}

function metadataProps(metadata: Readonly<Record<string, string>>): { key: string; value: string }[] {
  return Object.entries(metadata).map(([key, value]) => {
    if (typeof value !== 'string') throw new LockstepError('E_OPTION', `exportOnnx: options.metadata[${JSON.stringify(key)}] must be a string, got ${describeValue(value)}`);
    return { key, value };
  });
}

/**
 * The softmax `predict` takes: over every value of a sample, its output flattened to [batch, classes]
 * first when it has more than one axis (a fully convolutional head's [classes, 1, 1]).
 */
function softmaxOverClasses(graph: OnnxGraph, logits: string, outputShape: readonly number[]): string {
  const rows = outputShape.length > 1 ? graph.node('Flatten', [logits], { axis: { int: 1 } }) : logits;
  return graph.node('Softmax', [rows], { axis: { int: 1 } });
}

function normalizedText(normalization: InputNormalization | undefined): string {
  return normalization === undefined ? '' : `, normalized per channel in the graph as (x - mean) / std with mean [${normalization.mean.join(',')}] and std [${normalization.std.join(',')}]`;
}

/**
 * The model's eval-mode forward pass as an ONNX file (IR version 8, opset 17), whatever mode the
 * model is in: its parameters and running statistics become initializers named by their paths
 * ("0.weight"). A layer without an export rule (a custom layer: see `registerOnnxRule`) is an E_SPEC
 * error that names it. Returns the file's bytes.
 */
export function exportOnnx(model: Model, options: OnnxExportOptions = {}): Uint8Array {
  checkKnownFields('exportOnnx options', options, ['softmax', 'inputNormalization', 'metadata']);
  const softmax = options.softmax ?? false;
  if (typeof softmax !== 'boolean') throw new LockstepError('E_OPTION', `exportOnnx: options.softmax must be true or false, got ${JSON.stringify(softmax)}`);
  const normalization = options.inputNormalization;
  if (normalization !== undefined) checkNormalization(normalization, model.inputShape);
  const metadata = metadataProps(options.metadata ?? {});
  const graph = new OnnxGraph(model, [ONNX_INPUT_NAME, ONNX_LOGITS_NAME, ONNX_PROBABILITIES_NAME]);
  const input = normalization === undefined ? ONNX_INPUT_NAME : graph.within(model.module, () => normalizeChannels(graph, ONNX_INPUT_NAME, normalization, model.inputShape));
  let output = lowerLayer(model.module, input, graph, model.inputShape);
  const outputShape = softmax ? [sizeOf(model.outputShape)] : model.outputShape;
  if (softmax) output = graph.within(model.module, () => softmaxOverClasses(graph, output, model.outputShape));
  const outputName = softmax ? ONNX_PROBABILITIES_NAME : ONNX_LOGITS_NAME;
  graph.nameOutput(output, outputName);
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    producerName: 'lockstep',
    producerVersion: '',
    docString: `lockstep model, eval mode: input [batch,${model.inputShape.join(',')}]${normalizedText(normalization)} -> ${outputName} [batch,${outputShape.join(',')}]`,
    opsetImport: [{ domain: '', version: ONNX_OPSET_VERSION }],
    graph: {
      name: 'lockstep',
      node: graph.nodes,
      initializer: graph.initializers,
      input: [floatTensor(ONNX_INPUT_NAME, model.inputShape)],
      output: [floatTensor(outputName, outputShape)],
    },
    metadataProps: metadata,
  });
}
