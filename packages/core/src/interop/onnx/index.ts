export { exportOnnx, ONNX_INPUT_NAME, ONNX_LOGITS_NAME, ONNX_PROBABILITIES_NAME, type InputNormalization, type OnnxExportOptions } from './export.js';
export { OnnxGraph, type OnnxAttribute } from './graph.js';
export { decodeModel, ONNX_IR_VERSION, ONNX_OPSET_VERSION, type ModelProto } from './proto.js';
export { registerOnnxRule, type OnnxRule } from './rules.js';
