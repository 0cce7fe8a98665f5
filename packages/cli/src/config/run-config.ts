import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { sequentialFromSpec, type LayerSpec, type ModelSpec } from '@lockstep/core';
import { UserError } from '../errors.js';

const positiveInt = z.number().int().min(1);

/** A run's settings: the config file's format, and what is saved as config.json in the run folder. */
export const runConfigSchema = z
  .object({
    data: z.string().min(1),
    epochs: positiveInt,
    batchSize: positiveInt,
    chunkSize: positiveInt,
    optimizer: z.enum(['sgd', 'adam', 'adamw']),
    lr: z.number().min(0).max(10),
    momentum: z.number().min(0).max(1),
    weightDecay: z.number().min(0),
    /** The matrix-product kernel: strict (the same bits on every CPU) or relaxed (fused multiply-add, faster). */
    kernel: z.enum(['strict', 'relaxed']).optional(),
    /** Clip the summed gradient to this global L2 norm before each update; absent: no clipping. */
    clipNorm: z.number().positive().optional(),
    /** Dropout rate of the default MLP's layers; with custom `layers`, it replaces every dropout entry's p. */
    dropout: z.number().min(0).max(1).optional(),
    /** Hidden layer widths of the default MLP; ignored when `layers` is given. */
    hidden: z.array(positiveInt).min(1),
    /** A custom model: layer entries as in a model spec (the input shape comes from the data). */
    layers: z.array(z.record(z.string(), z.unknown())).optional(),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    validationSplit: z.number().min(0).max(0.9),
    /** Also save a checkpoint every this many optimizer steps (by default only at each epoch end). */
    checkpointEvery: positiveInt.optional(),
    /** ES module files that call registerLayer, imported by the main thread and every worker. */
    modules: z.array(z.string().min(1)).optional(),
  })
  .strict();

export type RunConfig = z.infer<typeof runConfigSchema>;

const DEFAULT_DROPOUT = 0.5;

export const DEFAULT_CONFIG: RunConfig = {
  data: 'default',
  epochs: 10,
  batchSize: 64,
  chunkSize: 32,
  optimizer: 'sgd',
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 0,
  hidden: [256, 256],
  seed: 0,
  validationSplit: 0.1,
};

export function defaultWorkers(): number {
  return availableParallelism();
}

/** One line for the first problem zod found, naming the field. */
export function describeIssue(where: string, error: z.ZodError): string {
  const issue = error.issues[0]!;
  const field = issue.path.length === 0 ? '' : ` "${issue.path.join('.')}"`;
  return `${where}:${field} ${issue.message.replace(/\n/g, ' ')}`;
}

/** Reads and checks a config file: only the keys it sets, each checked. */
export function readConfigFile(path: string): Partial<RunConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read the config file ${path}: ${(error as NodeJS.ErrnoException).code}; check the path given to --config`);
  }
  return parseConfigText(text, path);
}

/** Checks the text of a config file named `path`: only the keys it sets, each checked. */
export function parseConfigText(text: string, path: string): Partial<RunConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around a bad token, newlines and all.
    throw new UserError(`${path} is not valid JSON: ${(error as Error).message.replace(/\s+/g, ' ')}`);
  }
  const result = runConfigSchema.partial().safeParse(parsed);
  if (!result.success) throw new UserError(describeIssue(path, result.error));
  return result.data;
}

export function checkConfig(config: unknown, where: string): RunConfig {
  const result = runConfigSchema.safeParse(config);
  if (!result.success) throw new UserError(describeIssue(where, result.error));
  return result.data;
}

/** The model a config describes for samples of `inputShape` and `classes` classes. */
export function modelSpecOf(config: RunConfig, inputShape: readonly number[], classes: number): ModelSpec {
  const layers: LayerSpec[] =
    config.layers === undefined
      ? [
          ...(inputShape.length > 1 ? [{ type: 'flatten' } as const] : []),
          ...config.hidden.flatMap((width): LayerSpec[] => [
            { type: 'linear', out: width },
            { type: 'relu' },
            { type: 'dropout', p: config.dropout ?? DEFAULT_DROPOUT },
          ]),
          { type: 'linear', out: classes },
        ]
      : (config.layers as LayerSpec[]).map((layer) =>
          layer.type === 'dropout' && config.dropout !== undefined ? { ...layer, p: config.dropout } : layer,
        );
  const spec = { input: [...inputShape], layers };
  sequentialFromSpec(spec);
  return spec;
}
