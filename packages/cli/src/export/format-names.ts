/**
 * The --format names of `lockstep export`, in the order --help lists them. Apart from the encoders
 * (formats.ts, which must have one for each name), so that the help loads none of them.
 */
export const EXPORT_FORMAT_NAMES = ['safetensors', 'onnx'] as const;

export type ExportFormatName = (typeof EXPORT_FORMAT_NAMES)[number];
