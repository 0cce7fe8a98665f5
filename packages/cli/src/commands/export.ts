import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { flagValue } from '../config/flags.js';
import { OPTIONS } from '../config/options.js';
import { UserError } from '../errors.js';
import { EXPORT_FORMAT_NAMES } from '../export/format-names.js';
import { exportFormat } from '../export/formats.js';
import { inputPreprocessing } from '../export/input-preprocessing.js';
import { loadCheckpoint } from '../run/checkpoint.js';
import { checkNewFile, writeFileAtomic } from '../run/files.js';
import { importNamedModules } from '../run/modules.js';
import { checkpointModel } from '../run/trainer.js';

export interface ExportFlags {
  checkpoint: string;
  format?: string;
  out?: string;
  overwrite?: boolean;
  modules?: string;
  softmax?: boolean;
  /** false with --no-preprocessing. */
  preprocessing?: boolean;
  json?: boolean;
}

const FORMAT_NAMES = EXPORT_FORMAT_NAMES.join(', ');

/**
 * Writes a checkpoint's model (checkpoint.lockstep, or best.lockstep) in another format for use
 * elsewhere: its parameters and buffers with PyTorch's names, its spec, and what its run did to the
 * data before the first layer (an ONNX graph also does that normalization, unless --no-preprocessing).
 * Written to a temporary file and renamed, so --out is whole or absent; an existing --out is
 * replaced only with --overwrite.
 */
export async function exportCommand(flags: ExportFlags): Promise<number> {
  if (flags.format === undefined) throw new UserError(`--format is required: one of ${FORMAT_NAMES}`);
  const format = exportFormat(flags.format);
  if (format === undefined) throw new UserError(`--format must be one of ${FORMAT_NAMES}, got ${JSON.stringify(flags.format)}`);
  if (flags.softmax === true && format.name !== 'onnx') throw new UserError(`--softmax applies to --format onnx only; leave it out for --format ${format.name}`);
  if (flags.preprocessing === false && format.name !== 'onnx') throw new UserError(`--no-preprocessing applies to --format onnx only; leave it out for --format ${format.name}`);
  if (flags.out === undefined) throw new UserError(`--out is required: the ${format.extension} file to write`);
  if (!flags.out.endsWith(format.extension)) throw new UserError(`--out must end in ${format.extension} for --format ${format.name}, got ${JSON.stringify(flags.out)}`);
  if (existsSync(flags.out) && statSync(flags.out).isDirectory()) throw new UserError(`--out ${flags.out} is a folder; give a file name ending in ${format.extension}`);
  if (resolve(flags.out) === resolve(flags.checkpoint)) throw new UserError('--out is the checkpoint itself; give another file name');
  checkNewFile(flags.out, flags.overwrite === true);
  const modules = flagValue('--modules', OPTIONS.modules, flags.modules);
  const checkpoint = loadCheckpoint(flags.checkpoint);
  await importNamedModules(checkpoint, flags.checkpoint, modules);
  const model = checkpointModel(checkpoint, flags.checkpoint);
  model.params.set(checkpoint.params);
  model.buffers.set(checkpoint.buffers ?? new Float32Array(0));
  const { step, epoch } = checkpoint.state;
  const source = { checkpoint: flags.checkpoint, step, epoch, input: inputPreprocessing(checkpoint) };
  const bytes = format.encode(model, source, { softmax: flags.softmax === true, preprocessing: flags.preprocessing !== false });
  writeFileAtomic(flags.out, bytes);
  for (const warning of format.warnings?.(model) ?? []) process.stderr.write(`${warning}\n`);
  const tensors = model.stateDict().size;
  const line = `exported ${flags.checkpoint} (step ${step}, epoch ${epoch}; ${tensors} tensors, ${model.size + model.buffers.length} values) as ${format.name} to ${flags.out} (${bytes.length} bytes)`;
  console.log(flags.json === true ? JSON.stringify({ exported: flags.checkpoint, format: format.name, out: flags.out, bytes: bytes.length, tensors, step, epoch }) : line);
  return 0;
}
