import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Packr } from 'msgpackr';
import { z } from 'zod';
import { checkOptimizer, LockstepError, SCHEDULE_KINDS, type EarlyStoppingState, type ModelSpec, type OptimizerConfig, type PlateauState } from '@lockstep/core';
import { checkConfig } from '../config/config-file.js';
import type { RunConfig } from '../config/settings.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './files.js';
import type { ModuleFile } from './modules.js';

/**
 * A checkpoint file: an 8-byte magic, the format version (uint32), the payload length (uint32), the
 * SHA-256 of the payload (32 bytes), then the payload in msgpack with typed arrays kept as typed arrays.
 */
const MAGIC = 'LOCKSTEP';
export const CHECKPOINT_FORMAT = 1;
const HEADER_BYTES = 8 + 4 + 4 + 32;

export interface Checkpoint {
  readonly config: RunConfig;
  readonly spec: ModelSpec;
  readonly optimizer: OptimizerConfig;
  readonly kernel: string;
  readonly params: Float32Array;
  readonly optimizerState: Float32Array;
  /** The model's buffers (BatchNorm's running statistics); absent for a model without any. */
  readonly buffers?: Float32Array;
  readonly state: {
    step: number;
    epoch: number;
    batch: number;
    epochLossSum: number;
    epochCorrect: number;
    /** Reduce-on-plateau's state; absent for the other schedules. */
    schedule?: PlateauState;
    /** Early stopping's state, without the best parameters (those are best.lockstep's); absent without early stopping. */
    earlyStopping?: Omit<EarlyStoppingState, 'bestParams' | 'bestBuffers'>;
  };
  /** The fingerprint of the data trained on (dataFingerprint); absent in checkpoints of older lockstep versions. */
  readonly dataFingerprint?: string;
  /** The weights the run started from (train --init-from); absent for a run from its seed's weights. */
  readonly initFrom?: InitialWeights;
  /**
   * A csv:FILE run's feature columns (every column but the label), in order: a CSV given to the
   * checkpoint must have them. Absent for other data and in checkpoints of older lockstep versions.
   */
  readonly featureNames?: readonly string[];
  /**
   * Where the run found each of `config.modules`, in order, so that the same files are known by any
   * path, from any folder. Absent in checkpoints of older lockstep versions, whose paths are from the
   * folder they were trained in.
   */
  readonly moduleFiles?: readonly ModuleFile[];
  /**
   * The fields of `config.schedule` that the run filled in when it started (`T_max`, `total_steps`
   * from its length, `max_lr` from its lr), rather than the user: a resume may not go past a cosine's
   * T_max filled in so.
   * Absent where there were none, and in checkpoints of older lockstep versions, which resume unchecked.
   */
  readonly scheduleFromRun?: readonly string[];
}

/** Where a fine-tuning run's initial weights came from: the file as given to --init-from, and the SHA-256 of its bytes (hex). */
export interface InitialWeights {
  readonly file: string;
  readonly sha256: string;
}

const packr = new Packr({ moreTypes: true });

const count = z.number().int().min(0);
const finite = z.number().finite();
// Loose objects: the types of the fields the optimizers read; their ranges are core's to check.
const scheduleSchema = z.looseObject({ kind: z.enum(SCHEDULE_KINDS) });
const optimizerSchema = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('sgd'), lr: finite, momentum: finite, dampening: finite, nesterov: z.boolean(), weightDecay: finite, schedule: scheduleSchema }),
  z.looseObject({ kind: z.enum(['adam', 'adamw']), lr: finite, beta1: finite, beta2: finite, eps: finite, weightDecay: finite, schedule: scheduleSchema }),
]);
const payloadSchema = z.object({
  // The settings' own rules check it, after the shape of the rest.
  config: z.unknown(),
  spec: z.object({ input: z.array(z.number().int().min(1)), layers: z.array(z.record(z.string(), z.unknown())) }),
  optimizer: optimizerSchema,
  kernel: z.string(),
  params: z.instanceof(Float32Array),
  optimizerState: z.instanceof(Float32Array),
  buffers: z.instanceof(Float32Array).optional(),
  state: z.object({
    step: count,
    epoch: count,
    batch: count,
    epochLossSum: z.number(),
    epochCorrect: z.number(),
    schedule: z.object({ lr: finite, best: finite.nullable(), badEpochs: count, cooldownCounter: count }).optional(),
    earlyStopping: z.object({ best: finite.nullable(), bestEpoch: count, wait: count, stoppedEpoch: count }).optional(),
  }),
  dataFingerprint: z.string().optional(),
  initFrom: z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  featureNames: z.array(z.string()).optional(),
  moduleFiles: z.array(z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })).optional(),
  scheduleFromRun: z.array(z.string()).optional(),
});

/** One line for the first problem zod found, naming the field. */
function describeIssue(where: string, error: z.ZodError): string {
  const issue = error.issues[0]!;
  const field = issue.path.length === 0 ? '' : ` "${issue.path.join('.')}"`;
  return `${where}:${field} ${issue.message.replace(/\n/g, ' ')}`;
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

export function saveCheckpoint(path: string, checkpoint: Checkpoint): void {
  writeFileAtomic(path, encodeCheckpoint(checkpoint));
}

/** The bytes of a checkpoint file. */
export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const payload = packr.pack(checkpoint);
  const file = Buffer.alloc(HEADER_BYTES + payload.length);
  file.write(MAGIC, 0, 'latin1');
  file.writeUInt32LE(CHECKPOINT_FORMAT, 8);
  file.writeUInt32LE(payload.length, 12);
  sha256(payload).copy(file, 16);
  payload.copy(file, HEADER_BYTES);
  return file;
}

export function loadCheckpoint(path: string): Checkpoint {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (error) {
    throw new UserError(`cannot read the checkpoint ${path}: ${(error as NodeJS.ErrnoException).code}; check the path`);
  }
  return decodeCheckpoint(file, path);
}

/** Checks and decodes the bytes of a checkpoint file named `path`. */
export function decodeCheckpoint(file: Buffer, path: string): Checkpoint {
  // A file cut inside the header still starts with (part of) the magic: it is a checkpoint, truncated.
  const start = file.toString('latin1', 0, MAGIC.length);
  if (file.length > 0 && file.length < HEADER_BYTES && MAGIC.startsWith(start)) {
    throw new UserError(`${path} is truncated: it has ${file.length} byte${file.length === 1 ? '' : 's'}, fewer than the ${HEADER_BYTES} of a checkpoint's header; copy the whole file again, or use an earlier checkpoint`);
  }
  if (file.length < HEADER_BYTES || start !== MAGIC) {
    throw new UserError(`${path} is not a lockstep checkpoint (no "${MAGIC}" header)`);
  }
  const format = file.readUInt32LE(8);
  if (format !== CHECKPOINT_FORMAT) {
    throw new UserError(`${path} has checkpoint format ${format}; this lockstep reads format ${CHECKPOINT_FORMAT}${format > CHECKPOINT_FORMAT ? ', upgrade lockstep' : ''}`);
  }
  const length = file.readUInt32LE(12);
  if (file.length !== HEADER_BYTES + length) {
    throw new UserError(`${path} is truncated or has extra bytes: the header promises ${HEADER_BYTES + length} bytes, the file has ${file.length}`);
  }
  const payload = file.subarray(HEADER_BYTES);
  if (!sha256(payload).equals(file.subarray(16, HEADER_BYTES))) {
    throw new UserError(`${path} is corrupted: its checksum does not match; use an earlier checkpoint`);
  }
  let unpacked: unknown;
  try {
    unpacked = packr.unpack(payload);
  } catch (error) {
    throw new UserError(`${path} is corrupted: ${(error as Error).message}`);
  }
  const result = payloadSchema.safeParse(unpacked);
  if (!result.success) throw new UserError(describeIssue(`${path} does not hold a valid checkpoint`, result.error));
  const config = checkConfig(result.data.config, `${path} does not hold a valid checkpoint: "config"`);
  const modules = config.modules?.length ?? 0;
  if (result.data.moduleFiles !== undefined && result.data.moduleFiles.length !== modules) {
    throw new UserError(`${path} does not hold a valid checkpoint: "moduleFiles" has ${result.data.moduleFiles.length} entries for the ${modules} of "config.modules"`);
  }
  const optimizer = result.data.optimizer as OptimizerConfig;
  try {
    checkOptimizer(optimizer, optimizer.kind);
  } catch (error) {
    if (!(error instanceof LockstepError)) throw error;
    throw new UserError(`${path} does not hold a valid checkpoint: "optimizer" ${error.message}`);
  }
  return { ...result.data, config } as unknown as Checkpoint;
}
