import { encodeSafetensors, evalScale, exportOnnx, MaskDropout, type Model, type Module } from '@lockstep/core';
import { EXPORT_FORMAT_NAMES, type ExportFormatName } from './format-names.js';
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

/**
 * One format `lockstep export` writes: its --format name, the file extension --out must have, its
 * encoder, and the one-line warnings export prints where the file's usual reader would not compute
 * what lockstep does.
 */
export interface ExportFormat {
  readonly name: ExportFormatName;
  readonly extension: string;
  readonly encode: (model: Model, source: ExportSource, options: ExportOptions) => Uint8Array;
  readonly warnings?: (model: Model) => string[];
}

function sourceMetadata(source: ExportSource, normalizedInFile: boolean): Record<string, string> {
  return {
    'lockstep.checkpoint': source.checkpoint,
    'lockstep.step': String(source.step),
    'lockstep.epoch': String(source.epoch),
    ...preprocessingMetadata(source.input, normalizedInFile),
  };
}

function classicDropouts(module: Module): MaskDropout[] {
  const own = module instanceof MaskDropout && evalScale(module.p, module.scaling) !== 1 ? [module] : [];
  return [...own, ...module.children().flatMap(classicDropouts)];
}

/**
 * Classic-scaling dropout multiplies by 1 - p in eval mode, which PyTorch's nn.Dropout and
 * nn.Dropout2d do not, so the safetensors weights in an nn.Sequential of the same layers give other
 * outputs unless the user scales; the ONNX graph has the multiplication.
 */
function classicDropoutWarnings(model: Model): string[] {
  const layers = classicDropouts(model.module);
  if (layers.length === 0) return [];
  const described = layers.map((layer) => `layer ${layer.path} (${layer.kind} p=${layer.p}, times ${Number(evalScale(layer.p, layer.scaling).toPrecision(7))})`);
  return [
    `warning: classic-scaling dropout multiplies its output by 1 - p in eval mode, which PyTorch's nn.Dropout and nn.Dropout2d do not: ${described.join(', ')}; ` +
      'in PyTorch multiply each one\'s output by that factor at eval (or the weights, not the bias, of the Linear or Conv2d right after it), or export --format onnx, whose graph does',
  ];
}

/**
 * The encoder of each format of `lockstep export`, by its name in EXPORT_FORMAT_NAMES. A new format is
 * a name there and an entry here: an encoder from a model (the checkpoint's parameters and buffers
 * loaded) to the file's bytes.
 */
const FORMATS_BY_NAME: Record<ExportFormatName, Omit<ExportFormat, 'name'>> = {
  safetensors: {
    extension: '.safetensors',
    encode: (model, source) => encodeSafetensors(model, { metadata: sourceMetadata(source, false) }),
    warnings: classicDropoutWarnings,
  },
  onnx: {
    extension: '.onnx',
    encode: (model, source, options) => {
      const normalization = options.preprocessing ? source.input.normalization : undefined;
      return exportOnnx(model, { softmax: options.softmax, inputNormalization: normalization, metadata: sourceMetadata(source, normalization !== undefined) });
    },
  },
};

/** The format --format names, or undefined for a name that is not one of EXPORT_FORMAT_NAMES. */
export function exportFormat(name: string): ExportFormat | undefined {
  const known = EXPORT_FORMAT_NAMES.find((formatName) => formatName === name);
  return known === undefined ? undefined : { name: known, ...FORMATS_BY_NAME[known] };
}
