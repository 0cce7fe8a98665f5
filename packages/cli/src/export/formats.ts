import { encodeSafetensors, exportOnnx, type Model } from '@lockstep/core';
import { preprocessingMetadata, type InputPreprocessing } from './input-preprocessing.js';

/** Where the exported weights came from, and what their run did to its data, for the formats to record. */
export interface ExportSource {
  readonly checkpoint: string;
  readonly step: number;
  readonly epoch: number;
  readonly input: InputPreprocessing;
}

/**
 * What a user may ask of a format (ONNX): --softmax ends the graph with a softmax over the classes;
 * --no-preprocessing leaves the run's input normalization out of the graph.
 */
export interface ExportOptions {
  readonly softmax: boolean;
  readonly preprocessing: boolean;
}

/** One format `lockstep export` writes: its --format name, the file extension --out must have, and its encoder. */
export interface ExportFormat {
  readonly name: string;
  readonly extension: string;
  readonly encode: (model: Model, source: ExportSource, options: ExportOptions) => Uint8Array;
}

function sourceMetadata(source: ExportSource, normalizedInFile: boolean): Record<string, string> {
  return {
    'lockstep.checkpoint': source.checkpoint,
    'lockstep.step': String(source.step),
    'lockstep.epoch': String(source.epoch),
    ...preprocessingMetadata(source.input, normalizedInFile),
  };
}

/**
 * The formats of `lockstep export`, in the order `--help` lists them. A new format is one entry here:
 * an encoder from a model (the checkpoint's parameters and buffers loaded) to the file's bytes.
 */
export const EXPORT_FORMATS: readonly ExportFormat[] = [
  {
    name: 'safetensors',
    extension: '.safetensors',
    encode: (model, source) => encodeSafetensors(model, { metadata: sourceMetadata(source, false) }),
  },
  {
    name: 'onnx',
    extension: '.onnx',
    encode: (model, source, options) => {
      const normalization = options.preprocessing ? source.input.normalization : undefined;
      return exportOnnx(model, { softmax: options.softmax, inputNormalization: normalization, metadata: sourceMetadata(source, normalization !== undefined) });
    },
  },
];

export function exportFormat(name: string): ExportFormat | undefined {
  return EXPORT_FORMATS.find((format) => format.name === name);
}
