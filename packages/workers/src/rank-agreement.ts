import { createHash } from 'node:crypto';
import {
  fingerprint,
  LockstepError,
  specOf,
  type Dataset,
  type ErrorCode,
  type FitPlan,
  type LossName,
  type RankGroup,
  type TrainingState,
  type UncertaintyOutputs,
} from '@lockstep/core';
import { allgatherInPieces } from './rank-share.js';
import type { Trainer } from './trainer.js';

// Before a collective call's work across ranks (a fit's first step, an eval-mode pass's first block),
// every rank sends every other what the ranks must share: a rank given another chunkSize, seed, data,
// options or weights would take part in the exchange with other blocks or other numbers, and the ranks
// would end on a model or a result no run gives (or wait for the others until a timeout). One worker of
// each rank gathers every rank's record; each rank then finds the same first difference and throws the
// same line. A rank whose own checks failed sends its error instead, so that no rank waits for it.

/** What the ranks of a fit must share, with the way to make them agree; in the order a difference is reported. */
const FIT_FIXES = {
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

/** What an eval-mode pass's outputs depend on beside its arguments and the weights: the layers and the kernel's rounding. */
const PASS_FIXES = {
  model: FIT_FIXES.model,
  kernel: FIT_FIXES.kernel,
} as const;
/** The weights a pass reads are the trainer's now, however they got there. */
const SAME_WEIGHTS = 'give every rank the same parameters and buffers (the same model and seed, or the same fit, loadStateDict or load)';

/** Each collective call: what its messages call it, and what its ranks must share, with the way to make them agree, in the order a difference is reported. */
const CALLS = {
  fit: { what: 'the fit', fixes: FIT_FIXES },
  evaluate: {
    what: 'the evaluation',
    fixes: { ...PASS_FIXES, loss: "give every rank's evaluate the same loss", data: "give every rank's evaluate the same data", 'parameter fingerprint': SAME_WEIGHTS },
  },
  predict: {
    what: 'the prediction',
    fixes: { ...PASS_FIXES, inputs: "give every rank's predict the same inputs", 'parameter fingerprint': SAME_WEIGHTS },
  },
  predictWithUncertainty: {
    what: 'the prediction',
    fixes: {
      ...PASS_FIXES,
      samples: "give every rank's predictWithUncertainty the same samples",
      seed: "give every rank's predictWithUncertainty the same seed",
      outputs: "give every rank's predictWithUncertainty the same outputs",
      inputs: "give every rank's predictWithUncertainty the same inputs",
      'parameter fingerprint': SAME_WEIGHTS,
    },
  },
} as const;

/** A Trainer call that every rank makes together, and that compares the ranks' records first. */
export type CollectiveCall = keyof typeof CALLS;

type Settings<C extends CollectiveCall> = Record<keyof (typeof CALLS)[C]['fixes'], string>;

/** One rank's record of a call: its settings, or the error its own checks of the call threw. */
type RankRecord = { call: CollectiveCall } & ({ settings: Record<string, string> } | { refused: { code: ErrorCode; message: string } });

type Weights = Pick<Trainer, 'model' | 'kernel' | 'params' | 'buffers'>;

/** This rank's record of a call that passed its checks. */
function record<C extends CollectiveCall>(call: C, settings: Settings<C>): string {
  return JSON.stringify({ call, settings } satisfies RankRecord);
}

/** This rank's record of a fit that passed its checks. */
export function fitRecord(trainer: Weights & Pick<Trainer, 'state'>, plan: FitPlan): string {
  return record('fit', {
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
  });
}

/** This rank's record of an evaluate that passed its checks, with its loss resolved (a default and the same loss named agree). */
export function evaluateRecord(trainer: Weights, loss: LossName, data: Dataset): string {
  return record('evaluate', { ...passSettings(trainer), loss, data: describeData(data) });
}

/** This rank's record of a predict of `rows` rows that passed its checks. */
export function predictRecord(trainer: Weights, inputs: Float32Array | Dataset, rows: number): string {
  return record('predict', { ...passSettings(trainer), inputs: describeInputs(trainer, inputs, rows) });
}

/** This rank's record of a predictWithUncertainty of `rows` rows that passed its checks, with its options checked. */
export function uncertaintyRecord(
  trainer: Weights,
  inputs: Float32Array | Dataset,
  rows: number,
  options: { passes: number; seed: number; outputs: UncertaintyOutputs },
): string {
  const { passes, seed, outputs } = options;
  return record('predictWithUncertainty', { ...passSettings(trainer), samples: String(passes), seed: String(seed), outputs, inputs: describeInputs(trainer, inputs, rows) });
}

/** This rank's record of a call its own checks refused with `error`. */
export function refusalRecord(call: CollectiveCall, error: unknown): string {
  const code = error instanceof LockstepError ? error.code : 'E_OPTION';
  const message = error instanceof Error ? error.message : String(error);
  return JSON.stringify({ call, refused: { code, message } } satisfies RankRecord);
}

/** Where a failure of the exchange of records happened, for the worker pool's message. */
export function comparing(call: CollectiveCall): string {
  return `Trainer.${call} failed (comparing ${CALLS[call].what} with the other ranks)`;
}

/**
 * The error every rank of a call throws, the same on each, or null when the ranks agree: the first
 * rank (in rank order) making another call than rank 0, or that refused the call, or that differs
 * from rank 0 in a setting (the first in the call's order). A rank that refused the call itself
 * throws its own error instead.
 */
export function disagreement(records: readonly string[]): LockstepError | null {
  const ranks = records.map((text) => JSON.parse(text) as RankRecord);
  const { call } = ranks[0]!;
  const across = `Trainer.${call} across ${ranks.length} ranks`;
  // Ranks in different calls gathered each other's records: neither call can go on.
  const elsewhere = ranks.findIndex((record) => record.call !== call);
  if (elsewhere !== -1) {
    return new LockstepError('E_OPTION', `${across}: rank ${elsewhere} called ${ranks[elsewhere]!.call}, rank 0 ${call}; make the same Trainer calls on every rank, in the same order`);
  }
  for (const [rank, record] of ranks.entries()) {
    if ('refused' in record) return new LockstepError(record.refused.code, `${across}: rank ${rank} refused ${CALLS[call].what}: ${record.refused.message}`);
  }
  const fixes: Readonly<Record<string, string>> = CALLS[call].fixes;
  const first = (ranks[0] as { settings: Record<string, string> }).settings;
  for (const [rank, record] of ranks.entries()) {
    const { settings } = record as { settings: Record<string, string> };
    const name = Object.keys(fixes).find((setting) => settings[setting] !== first[setting]);
    if (name !== undefined) return new LockstepError('E_OPTION', `${across}: rank ${rank} has ${name} ${settings[name]}, rank 0 has ${first[name]}; ${fixes[name]}`);
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

/** What every eval-mode pass of this trainer shares: its layers, its kernel and a fingerprint of its parameters and buffers. */
function passSettings(trainer: Weights): Record<keyof typeof PASS_FIXES | 'parameter fingerprint', string> {
  return { model: JSON.stringify(specOf(trainer.model)), kernel: trainer.kernel, 'parameter fingerprint': fingerprint(trainer.params, trainer.buffers) };
}

/**
 * A pass's inputs: a data set as `describeData` describes it (its digest made once), or given rows,
 * whose digest is made at every call, since the caller may have changed them since the last: about
 * 21 ms for 10,000 rows of 784 values (30 MiB of SHA-256, the fastest of Node's hashes here), where one
 * worker evaluates them with a 784-256-10 MLP in 60-100 ms.
 */
function describeInputs(trainer: Weights, inputs: Float32Array | Dataset, rows: number): string {
  if (!(inputs instanceof Float32Array)) return `a Dataset of ${describeData(inputs)}`;
  const digest = createHash('sha256').update(bytesOf(inputs)).digest('hex').slice(0, 16);
  return `a Float32Array of ${rows} rows of [${trainer.model.inputShape.join(',')}] (digest ${digest})`;
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
