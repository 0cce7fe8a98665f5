import { encodeSafetensors, type Model } from '@lockstep/core';

/** Where the exported weights came from, for the formats that can record it. */
export interface ExportSource {
  readonly checkpoint: string;
  readonly step: number;
  readonly epoch: number;
}

/** One format `lockstep export` writes: its --format name, the file extension --out must have, and its encoder. */
export interface ExportFormat {
  readonly name: string;
  readonly extension: string;
  /** The file's bytes; null for a format this lockstep does not build yet. */
  readonly encode: ((model: Model, source: ExportSource) => Uint8Array) | null;
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
  // ONNX export is built in core's interop/onnx; it is wired in here when it lands.
  { name: 'onnx', extension: '.onnx', encode: null },
];

export function exportFormat(name: string): ExportFormat | undefined {
  return EXPORT_FORMATS.find((format) => format.name === name);
}
