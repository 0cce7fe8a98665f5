import { createHash } from 'node:crypto';
import { fingerprint, LockstepError, specOf, type Dataset, type ErrorCode, type FitPlan, type RankGroup, type TrainingState } from '@lockstep/core';
import { allgatherInPieces } from './rank-share.js';
import type { Trainer } from './trainer.js';

// Before a fit's first step across ranks, every rank sends every other what the ranks must share: a
// rank given another chunkSize, seed, data or weights would take part in each step's exchange with
// other blocks or other numbers, and end on a model no run gives (or wait for the others until a
// timeout). One worker of each rank gathers every rank's record; each rank then finds the same first
// difference and throws the same line. A rank whose own checks failed sends its error instead, so that
// no rank waits for it.

/** What the ranks of a fit must share, with the way to make them agree; in the order a difference is reported. */
const FIXES = {
  model: "give every rank's new Trainer the same model",
  seed: "give every rank's new Trainer the same seed",
  optimizer: "give every rank's new Trainer the same optimizer",
  chunkSize: "give every rank's new Trainer the same chunkSize",
  kernel: "give every rank's new Trainer the same kernel",
  epochs: "give every rank's fit the same epochs",
  batchSize: "give every rank's fit the same batchSize",
  loss: "give every rank's fit the same loss",
  shuffle: "give every rank's fit the same shuffle",
  augment: "give every rank's fit the same augment",
  earlyStopping: "give every rank's fit the same earlyStopping",
  data: "give every rank's fit the same data",
  validation: "give every rank's fit the same validation data",
  'parameter fingerprint': 'start every rank from the same parameters (the same model and seed, or the same loadStateDict or load)',
  'training state': 'start every rank from the same training state (load the same checkpoint on every rank)',
} as const;

type Settings = Record<keyof typeof FIXES, string>;

/** One rank's record: its settings, or the error its own checks of the fit threw. */
type RankRecord = { settings: Settings } | { refused: { code: ErrorCode; message: string } };

/** This rank's record of a fit that passed its checks. */
export function settingsRecord(trainer: Pick<Trainer, 'model' | 'params' | 'buffers' | 'state'>, plan: FitPlan): string {
  const settings: Settings = {
    model: JSON.stringify(specOf(trainer.model)),
    seed: String(plan.seed),
    optimizer: JSON.stringify(plan.optimizer),
    chunkSize: String(plan.chunkSize),
    kernel: plan.kernel,
    epochs: String(plan.epochs),
    batchSize: String(plan.batchSize),
    loss: plan.loss.name,
    shuffle: String(plan.shuffle),
    augment: JSON.stringify(plan.augment),
    earlyStopping: JSON.stringify(plan.earlyStopping),
    data: describeData(plan.data),
    validation: plan.validation === undefined ? 'none' : describeData(plan.validation),
    'parameter fingerprint': fingerprint(trainer.params, trainer.buffers),
    'training state': describeState(trainer.state),
  };
  return JSON.stringify({ settings } satisfies RankRecord);
}

/** This rank's record of a fit its own checks refused with `error`. */
export function refusalRecord(error: unknown): string {
  const code = error instanceof LockstepError ? error.code : 'E_OPTION';
  const message = error instanceof Error ? error.message : String(error);
  return JSON.stringify({ refused: { code, message } } satisfies RankRecord);
}

/**
 * The error every rank of a fit throws, the same on each, or null when the ranks agree: the first
 * rank (in rank order) that refused the fit, or that differs from rank 0 in a setting (the first in
 * `FIXES`' order). A rank that refused the fit itself throws its own error instead.
 */
export function disagreement(records: readonly string[]): LockstepError | null {
  const ranks = records.map((record) => JSON.parse(record) as RankRecord);
  const across = `Trainer.fit across ${ranks.length} ranks`;
  for (const [rank, record] of ranks.entries()) {
    if ('refused' in record) return new LockstepError(record.refused.code, `${across}: rank ${rank} refused the fit: ${record.refused.message}`);
  }
  const first = (ranks[0] as { settings: Settings }).settings;
  for (const [rank, record] of ranks.entries()) {
    const { settings } = record as { settings: Settings };
    const name = (Object.keys(FIXES) as Array<keyof Settings>).find((setting) => settings[setting] !== first[setting]);
    if (name !== undefined) return new LockstepError('E_OPTION', `${across}: rank ${rank} has ${name} ${settings[name]}, rank 0 has ${first[name]}; ${FIXES[name]}`);
  }
  return null;
}

/** Runs on one worker of each rank: every rank's `text`, in rank order (lengths first, then the UTF-8 bytes padded to the longest, as allgather takes equal counts). */
export function gatherTexts(group: RankGroup, text: string, maxBytes: number): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const lengths = new Float32Array(group.size);
  group.allgather(Float32Array.of(bytes.length), lengths);
  const longest = Math.max(...lengths);
  // A byte a value: any byte is a float32 exactly.
  const send = new Float32Array(longest);
  send.set(bytes);
  const receive = new Float32Array(group.size * longest);
  allgatherInPieces(group, send, receive, Math.max(1, Math.floor(maxBytes / send.BYTES_PER_ELEMENT)));
  return Array.from(lengths, (length, rank) => Buffer.from(Uint8Array.from(receive.subarray(rank * longest, rank * longest + length))).toString('utf8'));
}

/** A data set's digests, made once: a fit's data must not change afterwards (see `Trainer.fit`). */
const dataDigests = new WeakMap<Dataset, string>();

/** Sample count, shape and a digest of the targets and, for data in memory, the samples (a streamed set's samples are read from files on demand; its count, shape and targets stand for it). */
function describeData(data: Dataset): string {
  let digest = dataDigests.get(data);
  if (digest === undefined) {
    const { targets } = data;
    const hash = createHash('sha256').update(JSON.stringify({ shape: data.sampleShape, kind: targets.kind, classes: targets.kind === 'classes' ? targets.classes : targets.width }));
    hash.update(bytesOf(targets.kind === 'classes' ? targets.labels : targets.values));
    if (data.streamed === null) hash.update(bytesOf(data.inputs));
    digest = hash.digest('hex').slice(0, 16);
    dataDigests.set(data, digest);
  }
  return `${data.size} samples of [${data.sampleShape.join(',')}] (digest ${digest})`;
}

/** The position, and a digest of all the state: loss sums, optimizer state, schedule, early stopping and the weights it keeps. */
function describeState(state: TrainingState): string {
  const { optimizerState, earlyStopping, ...scalars } = state;
  const { bestParams, bestBuffers, lastParams, lastBuffers, ...watch } = earlyStopping ?? {};
  const hash = createHash('sha256').update(JSON.stringify({ ...scalars, watch }));
  for (const array of [optimizerState, bestParams, bestBuffers, lastParams, lastBuffers]) if (array !== undefined) hash.update(bytesOf(array));
  return `step ${state.step} (epoch ${state.epoch}, batch ${state.batch}; digest ${hash.digest('hex').slice(0, 16)})`;
}

function bytesOf(array: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
