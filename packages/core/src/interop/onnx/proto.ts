import protobuf from 'protobufjs/light.js';
import { ONNX_PROTO_DESCRIPTOR } from './onnx-proto.generated.js';

/**
 * The ONNX versions lockstep writes: IR version 8 with the default operator set at version 17 (ONNX
 * 1.12). onnxruntime 1.13 and later run it (the tests use onnxruntime-node 1.30.0), and Debian's python3-onnx (1.12) checks it.
 */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET_VERSION = 17;

/** TensorProto.DataType values lockstep uses. */
export const TENSOR_FLOAT = 1;
export const TENSOR_INT64 = 7;

/** AttributeProto.AttributeType values lockstep uses. */
export const ATTRIBUTE_FLOAT = 1;
export const ATTRIBUTE_INT = 2;
export const ATTRIBUTE_INTS = 7;

// The messages below are the parts of onnx.proto that an export fills, field names in protobufjs' camelCase.

export interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  ints?: number[];
}

export interface NodeProto {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
}

/** One dimension: a fixed size, or a symbolic name (the batch). */
export type Dimension = { dimValue: number } | { dimParam: string };

export interface ValueInfoProto {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: Dimension[] } } };
}

export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
}

export interface ModelProto {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  opsetImport: { domain: string; version: number }[];
  graph: GraphProto;
  metadataProps?: { key: string; value: string }[];
}

let modelType: protobuf.Type | null = null;

/** The ModelProto message type of the official onnx.proto, loaded once from its descriptor. */
function modelProtoType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(ONNX_PROTO_DESCRIPTOR).lookupType('onnx.ModelProto');
  return modelType;
}

/** The ONNX file's bytes: a ModelProto in protobuf's binary encoding. */
export function encodeModel(model: ModelProto): Uint8Array {
  const type = modelProtoType();
  return type.encode(type.fromObject(model)).finish();
}

/** A ModelProto read back (for tests and tools), with 64-bit integers as numbers and bytes as Uint8Array. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = modelProtoType();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true }) as ModelProto;
}
