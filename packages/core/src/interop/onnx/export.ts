import { checkKnownFields, LockstepError } from '../../errors.js';
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

/**
 * The softmax `predict` takes: over every value of a sample, its output flattened to [batch, classes]
 * first when it has more than one axis (a fully convolutional head's [classes, 1, 1]).
 */
function softmaxOverClasses(graph: OnnxGraph, logits: string, outputShape: readonly number[]): string {
  const rows = outputShape.length > 1 ? graph.node('Flatten', [logits], { axis: { int: 1 } }) : logits;
  return graph.node('Softmax', [rows], { axis: { int: 1 } });
}

/**
 * The model's eval-mode forward pass as an ONNX file (IR version 8, opset 17), whatever mode the
 * model is in: its parameters and running statistics become initializers named by their paths
 * ("0.weight"). A layer without an export rule (a custom layer: see `registerOnnxRule`) is an E_SPEC
 * error that names it. Returns the file's bytes.
 */
export function exportOnnx(model: Model, options: OnnxExportOptions = {}): Uint8Array {
  checkKnownFields('exportOnnx options', options, ['softmax']);
  const softmax = options.softmax ?? false;
  if (typeof softmax !== 'boolean') throw new LockstepError('E_OPTION', `exportOnnx: options.softmax must be true or false, got ${JSON.stringify(softmax)}`);
  const graph = new OnnxGraph(model, [ONNX_INPUT_NAME, ONNX_LOGITS_NAME, ONNX_PROBABILITIES_NAME]);
  let output = lowerLayer(model.module, ONNX_INPUT_NAME, graph, model.inputShape);
  const outputShape = softmax ? [sizeOf(model.outputShape)] : model.outputShape;
  if (softmax) output = graph.within(model.module, () => softmaxOverClasses(graph, output, model.outputShape));
  const outputName = softmax ? ONNX_PROBABILITIES_NAME : ONNX_LOGITS_NAME;
  graph.nameOutput(output, outputName);
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    producerName: 'lockstep',
    producerVersion: '',
    docString: `lockstep model, eval mode: input [batch,${model.inputShape.join(',')}] -> ${outputName} [batch,${outputShape.join(',')}]`,
    opsetImport: [{ domain: '', version: ONNX_OPSET_VERSION }],
    graph: {
      name: 'lockstep',
      node: graph.nodes,
      initializer: graph.initializers,
      input: [floatTensor(ONNX_INPUT_NAME, model.inputShape)],
      output: [floatTensor(outputName, outputShape)],
    },
  });
}
