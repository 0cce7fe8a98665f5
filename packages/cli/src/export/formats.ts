import { encodeSafetensors, exportOnnx, type Model } from '@lockstep/core';

/** Where the exported weights came from, for the formats that can record it. */
export interface ExportSource {
  readonly checkpoint: string;
  readonly step: number;
  readonly epoch: number;
}

/** What a user may ask of a format: --softmax (ONNX) ends the graph with a softmax over the classes. */
export interface ExportOptions {
  readonly softmax: boolean;
}

/** One format `lockstep export` writes: its --format name, the file extension --out must have, and its encoder. */
export interface ExportFormat {
  readonly name: string;
  readonly extension: string;
  readonly encode: (model: Model, source: ExportSource, options: ExportOptions) => Uint8Array;
}

/**
 * The formats of `lockstep export`, in the order `--help` lists them. A new format is one entry here:
 * an encoder from a model (the checkpoint's parameters and buffers loaded) to the file's bytes.
 */
export const EXPORT_FORMATS: readonly ExportFormat[] = [
  {
    name: 'safetensors',
    extension: '.safetensors',
    encode: (model, source) =>
      encodeSafetensors(model, { metadata: { 'lockstep.checkpoint': source.checkpoint, 'lockstep.step': String(source.step), 'lockstep.epoch': String(source.epoch) } }),
  },
  { name: 'onnx', extension: '.onnx', encode: (model, _source, options) => exportOnnx(model, { softmax: options.softmax }) },
];

export function exportFormat(name: string): ExportFormat | undefined {
  return EXPORT_FORMATS.find((format) => format.name === name);
}
