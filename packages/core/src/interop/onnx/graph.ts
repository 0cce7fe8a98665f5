import { LockstepError } from '../../errors.js';
import { torchName } from '../state-dict.js';
import type { Model, TensorEntry } from '../../model.js';
import type { Module } from '../../modules/module.js';
import { sizeOf } from '../../tensor.js';
import { ATTRIBUTE_FLOAT, ATTRIBUTE_INT, ATTRIBUTE_INTS, TENSOR_FLOAT, type AttributeProto, type NodeProto, type TensorProto } from './proto.js';

/** An ONNX node attribute: a float, an int, or a list of ints. */
export type OnnxAttribute = { readonly float: number } | { readonly int: number } | { readonly ints: readonly number[] };

/** float32 values as ONNX raw_data: little-endian, whatever the machine's byte order. */
function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return bytes;
}

function attributeProto(name: string, value: OnnxAttribute): AttributeProto {
  if ('float' in value) return { name, type: ATTRIBUTE_FLOAT, f: value.float };
  if ('int' in value) return { name, type: ATTRIBUTE_INT, i: value.int };
  return { name, type: ATTRIBUTE_INTS, ints: [...value.ints] };
}

/**
 * The ONNX graph an export writes, layer by layer: an export rule adds nodes with `node` and the
 * layer's tensors with `parameter` (its parameters and buffers, from the model's flat arrays) or
 * `constant`. Every name a rule makes starts with the layer's path ("3.weight", "3/Gemm"), so names
 * are unique and point back at the layer.
 */
export class OnnxGraph {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly names = new Set<string>();
  private layer: Module | null = null;

  /** `reserved`: the graph's input and output names, which no node or initializer may take. */
  constructor(
    private readonly model: Model,
    reserved: readonly string[],
  ) {
    for (const name of reserved) this.names.add(name);
  }

  /** Runs `lower` with `layer` as the owner of the names it makes. */
  within<T>(layer: Module, lower: () => T): T {
    const outer = this.layer;
    this.layer = layer;
    try {
      return lower();
    } finally {
      this.layer = outer;
    }
  }

  /** Adds an `opType` node of the default domain; returns the name of its output. */
  node(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, OnnxAttribute>> = {}): string {
    const name = this.unique(`${this.prefix()}/${opType}`);
    const output = `${name}:0`;
    this.names.add(output);
    const attribute = Object.entries(attributes).map(([key, value]) => attributeProto(key, value));
    this.nodes.push({ name, opType, input: [...inputs], output: [output], attribute });
    return output;
  }

  /**
   * The current layer's parameter or buffer `name` ("weight", "runningMean") as a float32
   * initializer, with its own shape or `dims` of the same size (a [C] scale as [C,1,1] to broadcast).
   */
  parameter(name: string, dims?: readonly number[]): string {
    const path = this.layer === null || this.layer.path === '' ? name : `${this.layer.path}.${name}`;
    const found = this.find(this.model.entries, path, this.model.params) ?? this.find(this.model.bufferEntries, path, this.model.buffers);
    if (found === undefined) throw new LockstepError('E_SPEC', `exportOnnx: the model has no parameter or buffer "${path}"`);
    const shape = dims ?? found.entry.shape;
    if (sizeOf(shape) !== found.entry.length) {
      throw new LockstepError('E_SHAPE', `exportOnnx: "${path}" has ${found.entry.length} values, not ${sizeOf(shape)} for dims [${shape.join(',')}]`);
    }
    return this.initializer(torchName(path), found.values, shape);
  }

  /** A float32 initializer of the current layer: `values` with `dims` ([] for a scalar). */
  constant(name: string, values: ArrayLike<number>, dims: readonly number[]): string {
    if (sizeOf(dims) !== values.length) throw new LockstepError('E_SHAPE', `exportOnnx: constant "${name}" has ${values.length} values, not ${sizeOf(dims)}`);
    return this.initializer(`${this.prefix()}.${name}`, values, dims);
  }

  /** Gives the value `from` (a node's output, or the graph input) the name `to`, the graph's output. */
  nameOutput(from: string, to: string): void {
    const producer = this.nodes.find((node) => node.output.includes(from));
    if (producer === undefined) {
      this.nodes.push({ name: this.unique('output/Identity'), opType: 'Identity', input: [from], output: [to], attribute: [] });
      return;
    }
    for (const node of this.nodes) {
      node.input = node.input.map((name) => (name === from ? to : name));
      node.output = node.output.map((name) => (name === from ? to : name));
    }
  }

  private find(entries: readonly TensorEntry<unknown>[], path: string, values: Float32Array): { entry: TensorEntry<unknown>; values: Float32Array } | undefined {
    const entry = entries.find((candidate) => candidate.path === path);
    return entry === undefined ? undefined : { entry, values: values.subarray(entry.offset, entry.offset + entry.length) };
  }

  private initializer(name: string, values: ArrayLike<number>, dims: readonly number[]): string {
    const unique = this.unique(name);
    this.initializers.push({ name: unique, dims: [...dims], dataType: TENSOR_FLOAT, rawData: float32Bytes(values) });
    return unique;
  }

  private prefix(): string {
    return this.layer === null || this.layer.path === '' ? 'model' : this.layer.path;
  }

  private unique(name: string): string {
    let candidate = name;
    for (let n = 1; this.names.has(candidate); n++) candidate = `${name}_${n}`;
    this.names.add(candidate);
    return candidate;
  }
}
