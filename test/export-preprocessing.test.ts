import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, decodeSafetensors } from '@lockstep/core';
import { loadCheckpoint } from '@lockstep/cli';
import { inputPreprocessing, preprocessingMetadata } from '../packages/cli/src/export/input-preprocessing.js';
import type { Checkpoint } from '../packages/cli/src/run/checkpoint.js';
import { pngTree } from './helpers/image-tree.js';
import { lockstep } from './helpers/lockstep.js';
import { argmaxDisagreements, maxAbsDifference, runOnnx } from './helpers/onnx.js';

// An images:DIR run normalized with "train": what `lockstep export` writes must take the pixels as
// the image reader gives them (pixel / 255, NCHW, RGB) and output what predict prints, and record
// the preprocessing and the class names.
const work = mkdtempSync(join(tmpdir(), 'lockstep-export-preprocessing-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const CLASSES = ['circle', 'square', 'triangle'];
const CONFIG = {
  imageNormalize: 'train',
  layers: [{ type: 'conv2d', out: 4, kernelSize: 3 }, { type: 'relu' }, { type: 'flatten' }, { type: 'linear', out: 3 }],
  epochs: 2,
};

function run(args: string[]): string {
  const result = lockstep(args, work);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

interface PredictedRow {
  path: string;
  class: string;
  probabilities: number[];
}

let predicted: PredictedRow[] = [];
/** The test images as the reader gives them before normalization: each 8-bit sample / 255, NCHW, RGB. */
let pixels = new Float32Array(0);
let mean: number[] = [];
let std: number[] = [];

beforeAll(() => {
  pngTree(join(work, 'tree'), CLASSES, 8, 'train');
  pngTree(join(work, 'tree'), CLASSES, 3, 'test');
  writeFileSync(join(work, 'config.json'), JSON.stringify(CONFIG));
  run(['train', '--config', 'config.json', '--data', 'images:tree', '--workers', '1', '--out', 'run', '--quiet']);
  ({ mean = [], std = [] } = loadCheckpoint(join(work, 'run', 'checkpoint.lockstep')).config.imageData ?? {});
  predicted = JSON.parse(run(['predict', '--checkpoint', 'run/checkpoint.lockstep', '--input', 'tree/test'])) as PredictedRow[];
  pixels = new Float32Array(predicted.length * 3 * 64);
  predicted.forEach((row, r) => {
    const png = PNG.sync.read(readFileSync(join(work, row.path)));
    for (let c = 0; c < 3; c++) for (let i = 0; i < 64; i++) pixels[(r * 3 + c) * 64 + i] = png.data[4 * i + c] / 255;
  });
});

const probabilitiesOf = (rows: PredictedRow[]): number[] => rows.flatMap((row) => row.probabilities);

describe('lockstep export of an images:DIR run with imageNormalize "train"', () => {
  it('the run normalizes: mean and std recorded, 9 test images predicted', () => {
    expect([mean.length, std.length, predicted.length]).toEqual([3, 3, 9]);
  });

  it('--format onnx --softmax: the graph normalizes (Sub, Div first), so pixel / 255 in gives predict\'s probabilities within 1e-6, the same class for every image', async () => {
    run(['export', '--checkpoint', 'run/checkpoint.lockstep', '--format', 'onnx', '--softmax', '--out', 'm.onnx']);
    const file = readFileSync(join(work, 'm.onnx'));
    const proto = decodeModel(file);
    expect(proto.graph.node.map((node) => node.opType)).toEqual(['Sub', 'Div', 'Conv', 'Relu', 'Flatten', 'Gemm', 'Softmax']);
    expect(proto.docString).toBe(
      `lockstep model, eval mode: input [batch,3,8,8], normalized per channel in the graph as (x - mean) / std with mean [${mean.join(',')}] and std [${std.join(',')}] -> probabilities [batch,3]`,
    );
    const onnx = await runOnnx(file, pixels, [predicted.length, 3, 8, 8]);
    expect(maxAbsDifference(onnx.data, probabilitiesOf(predicted))).toBeLessThanOrEqual(1e-6);
    expect(argmaxDisagreements(onnx.data, probabilitiesOf(predicted), 3)).toBe(0);
  });

  /** What both formats record of the run: where the weights came from and what its input was, before the normalization. */
  const recordedRun = (): Record<string, string> => ({
    'lockstep.checkpoint': 'run/checkpoint.lockstep',
    'lockstep.step': '2',
    'lockstep.epoch': '2',
    'lockstep.input.layout': 'NCHW [3,8,8], RGB, images of 8x8',
    'lockstep.input.scale': '1/255 for 8-bit samples (1/65535 for 16-bit): values in [0,1]',
    'lockstep.input.mean': JSON.stringify(mean),
    'lockstep.input.std': JSON.stringify(std),
  });

  it('--format onnx records the checkpoint, the preprocessing and the class names in metadata_props', () => {
    const proto = decodeModel(readFileSync(join(work, 'm.onnx')));
    expect(Object.fromEntries((proto.metadataProps ?? []).map(({ key, value }) => [key, value]))).toEqual({
      ...recordedRun(),
      'lockstep.input.normalization': '(x - mean) / std per channel, in the graph',
      'lockstep.classes': '["circle","square","triangle"]',
    });
  });

  it('--no-preprocessing: the bare network, which takes (pixel / 255 - mean) / std and gives predict\'s probabilities; its metadata says to normalize first', async () => {
    run(['export', '--checkpoint', 'run/checkpoint.lockstep', '--format', 'onnx', '--softmax', '--no-preprocessing', '--out', 'bare.onnx']);
    const file = readFileSync(join(work, 'bare.onnx'));
    const proto = decodeModel(file);
    expect(proto.graph.node.map((node) => node.opType)).toEqual(['Conv', 'Relu', 'Flatten', 'Gemm', 'Softmax']);
    const props = Object.fromEntries((proto.metadataProps ?? []).map(({ key, value }) => [key, value]));
    expect(props['lockstep.input.normalization']).toBe('(x - mean) / std per channel, not in this file: apply it before the first layer');
    const normalized = pixels.map((x, i) => (x - mean[Math.floor(i / 64) % 3]) / std[Math.floor(i / 64) % 3]);
    const onnx = await runOnnx(file, normalized, [predicted.length, 3, 8, 8]);
    expect(maxAbsDifference(onnx.data, probabilitiesOf(predicted))).toBeLessThanOrEqual(1e-6);
  });

  it('--format safetensors records the same preprocessing and class names in __metadata__, with the normalization left to the user', () => {
    run(['export', '--checkpoint', 'run/checkpoint.lockstep', '--format', 'safetensors', '--out', 'm.safetensors']);
    const { metadata } = decodeSafetensors(readFileSync(join(work, 'm.safetensors')));
    const { 'lockstep.spec': spec, ...rest } = metadata;
    expect(JSON.parse(spec).input).toEqual([3, 8, 8]);
    expect(rest).toEqual({
      format: 'pt',
      ...recordedRun(),
      'lockstep.input.normalization': '(x - mean) / std per channel, not in this file: apply it before the first layer',
      'lockstep.classes': '["circle","square","triangle"]',
    });
  });
});

describe('the preprocessing other data sources record', () => {
  const of = (config: Record<string, unknown>, input: number[], featureNames?: string[]): Record<string, string> =>
    preprocessingMetadata(inputPreprocessing({ config, spec: { input }, featureNames } as unknown as Checkpoint), false);

  it.each([
    ['fashion-mnist', { data: 'fashion-mnist' }, [1, 28, 28], { 'lockstep.input.layout': "NCHW [1,28,28], grey: the IDX images' bytes in file order", 'lockstep.input.scale': '1/255: values in [0,1]' }],
    ['idx:DIR', { data: 'idx:data' }, [1, 4, 4], { 'lockstep.input.layout': "NCHW [1,4,4], grey: the IDX images' bytes in file order", 'lockstep.input.scale': '1/255: values in [0,1]' }],
    ['the built-in data', { data: 'default' }, [128], { 'lockstep.input.layout': "[128]: the built-in data set's features" }],
    [
      'images:DIR, grey, resized, given mean and std, no classes recorded',
      { data: 'images:x', imageChannels: 1, imageSize: [6, 5], imageNormalize: { mean: [0.5], std: [0.25] } },
      [1, 6, 5],
      {
        'lockstep.input.layout': 'NCHW [1,6,5], grey (ITU-R 601 luma of RGB), images brought to 6x5 by resize',
        'lockstep.input.scale': '1/255 for 8-bit samples (1/65535 for 16-bit): values in [0,1]',
        'lockstep.input.mean': '[0.5]',
        'lockstep.input.std': '[0.25]',
        'lockstep.input.normalization': '(x - mean) / std per channel, not in this file: apply it before the first layer',
      },
    ],
  ])('%s', (_name, config, input, expected) => {
    expect(of(config, input)).toEqual(expected);
  });

  it('csv:FILE: the feature columns in order', () => {
    expect(of({ data: 'csv:rows.csv' }, [2], ['height', 'weight'])).toEqual({
      'lockstep.input.layout': "[2]: the CSV's feature columns in order, the label left out",
      'lockstep.input.columns': '["height","weight"]',
    });
  });
});
