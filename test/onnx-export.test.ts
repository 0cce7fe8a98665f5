import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BatchNorm,
  decodeModel,
  exportOnnx,
  fillNormal,
  fillUniform,
  foldInString,
  LayerNorm,
  Linear,
  LockstepError,
  layerTypes,
  Model,
  Module,
  modelFromSpec,
  ONNX_IR_VERSION,
  ONNX_OPSET_VERSION,
  registerLayer,
  registerOnnxRule,
  rootKey,
  softmaxRows,
  type LayerSpec,
  type Tensor,
} from '@lockstep/core';
import { fashionMnistInstalled, loadFashionMnist } from '../examples/src/fashion-mnist-data.js';
import { argmaxDisagreements, evalOutput, maxAbsDifference, pythonOnnxAvailable, runOnnx } from './helpers/onnx.js';

// The registry's types before this file registers its custom layer.
const BUILTIN_TYPES = layerTypes();

/** lockstep's eval-mode output and onnxruntime's output of the exported file agree within this, everywhere. */
const ATOL = 1e-5;

// Every exported file, for the ONNX checker at the end.
const exported = new Map<string, Uint8Array>();

function randomValues(name: string, count: number, std = 1): Float32Array {
  const values = new Float32Array(count);
  fillNormal(foldInString(rootKey(7), name), values, 0, std);
  return values;
}

/** A model as after training: seeded weights, and normalization scales, shifts and running statistics away from 1, 0, 0, 1. */
function trainedLooking(spec: { input: number[]; layers: LayerSpec[] }, seed = 3): Model {
  const model = modelFromSpec(spec, seed);
  for (const entry of model.entries) {
    if (!(entry.owner instanceof BatchNorm || entry.owner instanceof LayerNorm)) continue;
    const values = model.params.subarray(entry.offset, entry.offset + entry.length);
    const noise = randomValues(entry.path, entry.length, 0.3);
    for (let i = 0; i < values.length; i++) values[i] = entry.path.endsWith('weight') ? 1 + noise[i] : noise[i];
  }
  for (const entry of model.bufferEntries) {
    const values = model.buffers.subarray(entry.offset, entry.offset + entry.length);
    if (entry.path.endsWith('runningMean')) values.set(randomValues(entry.path, entry.length, 0.5));
    else fillUniform(foldInString(rootKey(11), entry.path), values, 0.25, 1.75);
  }
  return model;
}

function opTypes(file: Uint8Array): string[] {
  return decodeModel(file).graph.node.map((node) => node.opType);
}

/** Exports `model`, runs the file in onnxruntime-node on `input`, and returns both outputs. */
async function bothOutputs(name: string, model: Model, input: Float32Array, softmax = false): Promise<{ lockstep: Float32Array; onnx: Float32Array; file: Uint8Array }> {
  const file = exportOnnx(model, { softmax });
  exported.set(name, file);
  const rows = input.length / model.inputShape.reduce((a, b) => a * b, 1);
  const result = await runOnnx(file, input, [rows, ...model.inputShape]);
  expect(result.dims).toEqual([rows, ...model.outputShape]);
  return { lockstep: evalOutput(model, input), onnx: result.data, file };
}

const REFERENCE_MLP: LayerSpec[] = [
  { type: 'flatten' },
  { type: 'linear', out: 512 },
  { type: 'relu' },
  { type: 'dropout', p: 0.5 },
  { type: 'linear', out: 512 },
  { type: 'relu' },
  { type: 'dropout', p: 0.5 },
  { type: 'linear', out: 10 },
];
const { layers: CNN } = (await import('../examples/configs/cnn.json', { with: { type: 'json' } })).default as { layers: LayerSpec[] };

/** 1,000 Fashion-MNIST test images where Debian's dataset-fashion-mnist is installed; otherwise 1,000 generated 28x28 images in [0, 1]. */
const IMAGES = 1000;
const imageSource = fashionMnistInstalled() ? '1,000 Fashion-MNIST test images' : '1,000 generated images (dataset-fashion-mnist is not installed)';
function images(): Float32Array {
  if (fashionMnistInstalled()) return loadFashionMnist().test.inputs.subarray(0, IMAGES * 784);
  const values = new Float32Array(IMAGES * 784);
  fillUniform(rootKey(5), values, 0, 1);
  return values;
}

describe(`the reference models in onnxruntime-node, on ${imageSource}`, () => {
  const x = images();
  it.each([
    ['reference MLP 784-512-512-10 with dropout 0.5', REFERENCE_MLP],
    ['CNN of examples/configs/cnn.json', CNN],
  ])(`%s: outputs within ${ATOL} of lockstep's eval mode, the same class on every row`, async (name, layers) => {
    const model = trainedLooking({ input: [1, 28, 28], layers });
    model.train(); // The export is the eval-mode graph whatever mode the model is in.
    const { lockstep, onnx } = await bothOutputs(name, model, x);
    expect(model.training).toBe(true);
    const worst = maxAbsDifference(lockstep, onnx);
    console.log(`${name}: max |lockstep - onnxruntime| = ${worst.toExponential(3)} over ${IMAGES} x 10 logits`);
    expect(worst).toBeLessThanOrEqual(ATOL);
    expect(argmaxDisagreements(lockstep, onnx, 10)).toBe(0);
  });
});

interface LayerCase {
  readonly name: string;
  readonly input: number[];
  readonly layers: LayerSpec[];
  /** The graph's nodes, in order. */
  readonly ops: string[];
}

const EXACT_GELU = ['Mul', 'Erf', 'Add', 'Mul', 'Mul'];
const TANH_GELU = ['Mul', 'Mul', 'Mul', 'Add', 'Mul', 'Tanh', 'Add', 'Mul', 'Mul'];
const BATCH_STATISTICS = ['ReduceMean', 'Sub', 'Mul', 'ReduceMean', 'Add', 'Sqrt', 'Div'];

const LAYER_CASES: LayerCase[] = [
  { name: 'linear', input: [12], layers: [{ type: 'linear', out: 7 }], ops: ['Gemm'] },
  { name: 'linear without bias', input: [12], layers: [{ type: 'linear', out: 5, bias: false }], ops: ['Gemm'] },
  { name: 'linear with dropConnect 0.5 (a plain linear in eval mode)', input: [12], layers: [{ type: 'linear', out: 6, dropConnect: 0.5 }], ops: ['Gemm'] },
  { name: 'linear with maxNorm 0.5 (its stored weights)', input: [12], layers: [{ type: 'linear', out: 6, maxNorm: 0.5 }], ops: ['Gemm'] },
  {
    name: 'conv2d kernel [3,2], stride [2,1], padding [1,1], dilation [1,2], groups 2',
    input: [4, 9, 9],
    layers: [{ type: 'conv2d', out: 6, kernelSize: [3, 2], stride: [2, 1], padding: [1, 1], dilation: [1, 2], groups: 2 }],
    ops: ['Conv'],
  },
  { name: 'conv2d without bias', input: [1, 6, 6], layers: [{ type: 'conv2d', out: 3, kernelSize: 3, bias: false }], ops: ['Conv'] },
  { name: 'max-pool2d kernel 3, stride 2, padding 1', input: [3, 7, 7], layers: [{ type: 'max-pool2d', kernelSize: 3, stride: 2, padding: 1 }], ops: ['MaxPool'] },
  { name: 'avg-pool2d kernel [3,2], stride [2,1], padding 1, countIncludePad', input: [3, 7, 6], layers: [{ type: 'avg-pool2d', kernelSize: [3, 2], stride: [2, 1], padding: 1 }], ops: ['AveragePool'] },
  {
    name: 'avg-pool2d kernel 3, stride 2, padding 1, countIncludePad false',
    input: [3, 7, 7],
    layers: [{ type: 'avg-pool2d', kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }],
    ops: ['AveragePool'],
  },
  { name: 'global-avg-pool2d', input: [3, 5, 4], layers: [{ type: 'global-avg-pool2d' }], ops: ['GlobalAveragePool', 'Flatten'] },
  { name: 'flatten', input: [2, 3, 4], layers: [{ type: 'flatten' }, { type: 'linear', out: 5 }], ops: ['Flatten', 'Gemm'] },
  { name: 'relu', input: [10], layers: [{ type: 'relu' }], ops: ['Relu'] },
  { name: 'leaky-relu 0.2', input: [10], layers: [{ type: 'leaky-relu', negativeSlope: 0.2 }], ops: ['LeakyRelu'] },
  { name: 'tanh', input: [10], layers: [{ type: 'tanh' }], ops: ['Tanh'] },
  { name: 'sigmoid', input: [10], layers: [{ type: 'sigmoid' }], ops: ['Sigmoid'] },
  { name: 'selu', input: [10], layers: [{ type: 'selu' }], ops: ['Selu'] },
  { name: 'gelu, exact (erf)', input: [10], layers: [{ type: 'gelu' }], ops: EXACT_GELU },
  { name: 'gelu, tanh approximation', input: [10], layers: [{ type: 'gelu', approximate: 'tanh' }], ops: TANH_GELU },
  { name: 'batch-norm1d on [C]', input: [12], layers: [{ type: 'linear', out: 6 }, { type: 'batch-norm1d' }], ops: ['Gemm', 'BatchNormalization'] },
  { name: 'batch-norm1d on [C,L]', input: [4, 5], layers: [{ type: 'batch-norm1d' }], ops: ['BatchNormalization'] },
  { name: 'batch-norm2d', input: [3, 4, 4], layers: [{ type: 'batch-norm2d', eps: 1e-3 }], ops: ['BatchNormalization'] },
  { name: 'batch-norm2d without affine', input: [3, 4, 4], layers: [{ type: 'batch-norm2d', affine: false }], ops: ['BatchNormalization'] },
  { name: 'batch-norm1d without running statistics (batch statistics in eval)', input: [4, 5], layers: [{ type: 'batch-norm1d', trackRunningStats: false }], ops: [...BATCH_STATISTICS, 'Mul', 'Add'] },
  {
    name: 'batch-norm2d without running statistics or affine',
    input: [3, 4, 4],
    layers: [{ type: 'batch-norm2d', trackRunningStats: false, affine: false }],
    ops: BATCH_STATISTICS,
  },
  { name: 'layer-norm over the trailing [H,W]', input: [3, 4, 5], layers: [{ type: 'layer-norm', normalizedShape: [4, 5] }], ops: ['LayerNormalization'] },
  { name: 'layer-norm without affine', input: [8], layers: [{ type: 'layer-norm', elementwiseAffine: false }], ops: ['LayerNormalization'] },
  { name: 'dropout 0.4, inverted (the identity)', input: [12], layers: [{ type: 'linear', out: 6 }, { type: 'dropout', p: 0.4 }], ops: ['Gemm'] },
  { name: 'dropout 0.3, classic (times 0.7)', input: [12], layers: [{ type: 'linear', out: 6 }, { type: 'dropout', p: 0.3, scaling: 'classic' }], ops: ['Gemm', 'Mul'] },
  { name: 'dropout 0.3 with noiseShape, classic', input: [3, 4], layers: [{ type: 'dropout', p: 0.3, scaling: 'classic', noiseShape: [3, 1] }], ops: ['Mul'] },
  { name: 'dropout2d 0.2, inverted (the identity)', input: [2, 3, 3], layers: [{ type: 'dropout2d', p: 0.2 }], ops: ['Identity'] },
  { name: 'dropout2d 0.2, classic', input: [2, 3, 3], layers: [{ type: 'dropout2d', p: 0.2, scaling: 'classic' }], ops: ['Mul'] },
  { name: 'gaussian-dropout 0.3 (the identity)', input: [12], layers: [{ type: 'linear', out: 6 }, { type: 'gaussian-dropout', p: 0.3 }], ops: ['Gemm'] },
  { name: 'alpha-dropout 0.2 (the identity)', input: [10], layers: [{ type: 'selu' }, { type: 'alpha-dropout', p: 0.2 }], ops: ['Selu'] },
  {
    name: 'sequential inside a sequential',
    input: [12],
    layers: [{ type: 'sequential', layers: [{ type: 'linear', out: 6 }, { type: 'relu' }] }, { type: 'linear', out: 3 }],
    ops: ['Gemm', 'Relu', 'Gemm'],
  },
];

const ROWS = 8;

function typesIn(layers: readonly LayerSpec[]): string[] {
  return layers.flatMap((layer) => [layer.type, ...(layer.type === 'sequential' ? typesIn(layer.layers as LayerSpec[]) : [])]);
}

describe('every built-in layer type, one small model each', () => {
  it('the table covers every layer type of the registry', () => {
    const covered = new Set(LAYER_CASES.flatMap((c) => typesIn(c.layers)));
    expect(BUILTIN_TYPES.filter((type) => !covered.has(type))).toEqual([]);
  });

  it.each(LAYER_CASES.map((c) => [c.name, c] as const))(`%s: the expected nodes, outputs within ${ATOL}`, async (name, c) => {
    const model = trainedLooking({ input: c.input, layers: c.layers });
    const input = randomValues(name, ROWS * c.input.reduce((a, b) => a * b, 1), 2);
    const { lockstep, onnx, file } = await bothOutputs(name, model, input);
    expect(opTypes(file)).toEqual(c.ops);
    expect(maxAbsDifference(lockstep, onnx)).toBeLessThanOrEqual(ATOL);
  });
});

describe('the file', () => {
  const model = trainedLooking({ input: [12], layers: [{ type: 'linear', out: 6 }, { type: 'relu' }, { type: 'linear', out: 4 }] });

  it(`declares IR version ${ONNX_IR_VERSION} and opset ${ONNX_OPSET_VERSION}, names the parameters by their paths, and has a batch axis of any size`, async () => {
    const file = exportOnnx(model);
    const proto = decodeModel(file);
    expect([proto.irVersion, proto.opsetImport]).toEqual([8, [{ domain: '', version: 17 }]]);
    expect(proto.graph.initializer.map((t) => [t.name, t.dims])).toEqual([
      ['0.weight', [6, 12]],
      ['0.bias', [6]],
      ['2.weight', [4, 6]],
      ['2.bias', [4]],
    ]);
    expect(proto.graph.input.map((v) => v.name)).toEqual(['input']);
    expect(proto.graph.output.map((v) => v.name)).toEqual(['logits']);
    for (const rows of [1, 3]) {
      const x = randomValues(`rows ${rows}`, rows * 12);
      expect(maxAbsDifference((await runOnnx(file, x, [rows, 12])).data, evalOutput(model, x))).toBeLessThanOrEqual(ATOL);
    }
  });

  it('with softmax: true, outputs "probabilities", the softmax of the logits within 1e-6', async () => {
    const x = randomValues('softmax', ROWS * 12, 3);
    const { onnx, lockstep, file } = await bothOutputs('softmax', model, x, true);
    expect(opTypes(file)).toEqual(['Gemm', 'Relu', 'Gemm', 'Softmax']);
    expect(decodeModel(file).graph.output.map((v) => v.name)).toEqual(['probabilities']);
    const expected = softmaxRows(lockstep, ROWS, 4, new Float64Array(ROWS * 4));
    expect(maxAbsDifference(onnx, expected)).toBeLessThanOrEqual(1e-6);
    for (let r = 0; r < ROWS; r++) expect(onnx.subarray(4 * r, 4 * r + 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('of a fully convolutional head, output [4,1,1]: softmax over the 4 classes as predict takes it, probabilities [rows,4]; logits keep the model\'s [rows,4,1,1]', async () => {
    const head = trainedLooking({ input: [2, 5, 5], layers: [{ type: 'conv2d', out: 4, kernelSize: 5 }] });
    const x = randomValues('convolutional head', ROWS * 50, 3);
    const logits = await bothOutputs('convolutional head, logits', head, x);
    expect(maxAbsDifference(logits.onnx, logits.lockstep)).toBeLessThanOrEqual(ATOL);
    const file = exportOnnx(head, { softmax: true });
    exported.set('convolutional head, softmax', file);
    expect(opTypes(file)).toEqual(['Conv', 'Flatten', 'Softmax']);
    expect(decodeModel(file).docString).toBe('lockstep model, eval mode: input [batch,2,5,5] -> probabilities [batch,4]');
    const probabilities = await runOnnx(file, x, [ROWS, 2, 5, 5]);
    expect(probabilities.dims).toEqual([ROWS, 4]);
    const expected = softmaxRows(logits.lockstep, ROWS, 4, new Float64Array(ROWS * 4));
    expect(maxAbsDifference(probabilities.data, expected)).toBeLessThanOrEqual(1e-6);
    expect(argmaxDisagreements(probabilities.data, expected, 4)).toBe(0);
  });

  it('classic dropout 0.3 multiplies by the keep probability 0.7 in the graph; inverted dropout adds no node', async () => {
    const layers = (scaling: 'classic' | 'inverted'): LayerSpec[] => [{ type: 'linear', out: 6 }, { type: 'dropout', p: 0.3, scaling }, { type: 'linear', out: 4 }];
    const classic = trainedLooking({ input: [12], layers: layers('classic') });
    const inverted = trainedLooking({ input: [12], layers: layers('inverted') });
    const x = randomValues('scaling', ROWS * 12);
    const classicRun = await bothOutputs('classic dropout', classic, x);
    const invertedRun = await bothOutputs('inverted dropout', inverted, x);
    expect(opTypes(classicRun.file)).toEqual(['Gemm', 'Mul', 'Gemm']);
    expect(opTypes(invertedRun.file)).toEqual(['Gemm', 'Gemm']);
    const keep = decodeModel(classicRun.file).graph.initializer.find((t) => t.name === '1.keep')!;
    expect(keep.dims).toEqual([]);
    expect(new DataView(keep.rawData.buffer, keep.rawData.byteOffset).getFloat32(0, true)).toBe(Math.fround(0.7));
    expect(maxAbsDifference(classicRun.onnx, classicRun.lockstep)).toBeLessThanOrEqual(ATOL);
    expect(maxAbsDifference(invertedRun.onnx, invertedRun.lockstep)).toBeLessThanOrEqual(ATOL);
    // Same weights: the classic model's hidden layer is 0.7 times the inverted one's, so the outputs differ.
    expect(maxAbsDifference(classicRun.onnx, invertedRun.onnx)).toBeGreaterThan(1e-3);
  });

  it('of a model that is one layer, not a sequential: parameters named "weight" and "bias"', async () => {
    const single = new Model(new Linear({ inFeatures: 5, outFeatures: 3 }), [5]).initialize(2);
    const x = randomValues('single layer', ROWS * 5);
    const { lockstep, onnx, file } = await bothOutputs('one linear layer', single, x);
    expect(decodeModel(file).graph.initializer.map((t) => t.name)).toEqual(['weight', 'bias']);
    expect(maxAbsDifference(lockstep, onnx)).toBeLessThanOrEqual(ATOL);
  });

  it('with inputNormalization, a Sub and a Div per channel before the first layer: its output for x is the model\'s for (x - mean) / std; metadata goes to metadata_props', async () => {
    const conv = trainedLooking({ input: [2, 4, 4], layers: [{ type: 'conv2d', out: 3, kernelSize: 3 }, { type: 'flatten' }, { type: 'linear', out: 4 }] });
    const normalization = { mean: [0.25, -0.5], std: [2, 0.5] };
    const file = exportOnnx(conv, { inputNormalization: normalization, metadata: { 'lockstep.classes': '["a","b","c","d"]' } });
    exported.set('input normalization', file);
    const proto = decodeModel(file);
    expect(opTypes(file)).toEqual(['Sub', 'Div', 'Conv', 'Flatten', 'Gemm']);
    expect(proto.graph.initializer.filter((t) => t.name.startsWith('model.')).map((t) => [t.name, t.dims])).toEqual([
      ['model.mean', [2, 1, 1]],
      ['model.std', [2, 1, 1]],
    ]);
    expect(proto.docString).toBe('lockstep model, eval mode: input [batch,2,4,4], normalized per channel in the graph as (x - mean) / std with mean [0.25,-0.5] and std [2,0.5] -> logits [batch,4]');
    expect(proto.metadataProps).toEqual([{ key: 'lockstep.classes', value: '["a","b","c","d"]' }]);
    const x = randomValues('normalization', ROWS * 32);
    const channel = (i: number): number => Math.floor(i / 16) % 2;
    const normalized = x.map((v, i) => (v - normalization.mean[channel(i)]) / normalization.std[channel(i)]);
    expect(maxAbsDifference((await runOnnx(file, x, [ROWS, 2, 4, 4])).data, evalOutput(conv, normalized))).toBeLessThanOrEqual(ATOL);
  });

  it('rejects an inputNormalization that does not fit the input\'s channels, and metadata that is not text', () => {
    const refusal = (got: string): LockstepError =>
      new LockstepError('E_OPTION', `exportOnnx: options.inputNormalization needs 12 finite means and 12 stds above 0, one per channel of the input [12], got ${got}`);
    expect(() => exportOnnx(model, { inputNormalization: { mean: [0], std: [1] } })).toThrow(refusal('{"mean":[0],"std":[1]}'));
    const twelve = (value: number): number[] => new Array<number>(12).fill(value);
    expect(() => exportOnnx(model, { inputNormalization: { mean: twelve(0), std: twelve(0) } })).toThrow(refusal(JSON.stringify({ mean: twelve(0), std: twelve(0) })));
    expect(() => exportOnnx(model, { metadata: { 'lockstep.step': 3 as unknown as string } })).toThrow(new LockstepError('E_OPTION', 'exportOnnx: options.metadata["lockstep.step"] must be a string, got 3'));
  });

  it('rejects a softmax option that is not a boolean', () => {
    expect(() => exportOnnx(model, { softmax: 'yes' as unknown as boolean })).toThrow(new LockstepError('E_OPTION', 'exportOnnx: options.softmax must be true or false, got "yes"'));
  });
});

/** A custom layer, y = 2x, registered as a spec type the way a config's `modules` do. */
class Doubler extends Module {
  readonly kind = 'Doubler';
  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
  override forward(input: Tensor): Tensor {
    return { data: input.data.map((v) => 2 * v), shape: input.shape };
  }
  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    return needInputGrad ? { data: gradOutput.data.map((g) => 2 * g), shape: gradOutput.shape } : null;
  }
}

describe('a custom layer', () => {
  registerLayer({ type: 'onnx-test-doubler', fields: {}, fromSpec: () => new Doubler() });
  const model = trainedLooking({ input: [12], layers: [{ type: 'linear', out: 6 }, { type: 'onnx-test-doubler' } as unknown as LayerSpec, { type: 'linear', out: 4 }] });

  it('without an export rule is one LockstepError that names it and the fix', () => {
    expect(() => exportOnnx(model)).toThrow(
      new LockstepError(
        'E_SPEC',
        "exportOnnx: layer 1 (Doubler) has no ONNX export rule; give it one with registerOnnxRule(Doubler, rule), or build the model from lockstep's built-in layers",
      ),
    );
    try {
      exportOnnx(model);
    } catch (error) {
      expect((error as LockstepError).code).toBe('E_SPEC');
    }
  });

  it('exports once registerOnnxRule gives its class a rule', async () => {
    registerOnnxRule(Doubler, (_layer, x, graph) => graph.node('Mul', [x, graph.constant('two', [2], [])]));
    const x = randomValues('doubler', ROWS * 12);
    const { lockstep, onnx, file } = await bothOutputs('custom layer with a rule', model, x);
    expect(opTypes(file)).toEqual(['Gemm', 'Mul', 'Gemm']);
    expect(maxAbsDifference(lockstep, onnx)).toBeLessThanOrEqual(ATOL);
  });
});

const checkerAvailable = pythonOnnxAvailable();
const work = mkdtempSync(join(tmpdir(), 'lockstep-onnx-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!checkerAvailable)(
  `Debian's ONNX checker${checkerAvailable ? '' : ' (skipped: /usr/bin/python3 cannot import onnx; apt-get install -y python3-onnx)'}`,
  () => {
    it('onnx.checker.check_model(model, full_check=True) passes every file exported above', () => {
      expect(exported.size).toBeGreaterThanOrEqual(LAYER_CASES.length + 2);
      const files = [...exported.values()].map((file, i) => {
        const path = join(work, `model-${i}.onnx`);
        writeFileSync(path, file);
        return path;
      });
      const script = 'import sys, onnx\nfor path in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(path), full_check=True)\nprint(len(sys.argv) - 1, "checked")\n';
      const out = execFileSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8' });
      expect(out.trim()).toBe(`${files.length} checked`);
    });
  },
);
