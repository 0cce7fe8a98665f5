// The library version of a `lockstep train` run: an MLP with two dropout layers trained on the built-in
// data set on every core, reporting each epoch and a fingerprint of the final parameters.
// LOCKSTEP_WORKERS sets the worker count; every count prints the same fingerprint.
import { createHash } from 'node:crypto';
import { builtinDataset, sgd } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';

const seed = 0;
const { train, validation } = builtinDataset(seed);
const workersSetting = process.env.LOCKSTEP_WORKERS;
const workers = workersSetting === undefined ? undefined : Number(workersSetting);
if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) {
  console.error(`LOCKSTEP_WORKERS must be a positive integer, got "${workersSetting}"; unset it to use every core`);
  process.exit(1);
}
const trainer = new Trainer({
  model: {
    input: [128],
    layers: [
      { type: 'linear', out: 256 },
      { type: 'relu' },
      { type: 'dropout', p: 0.5 },
      { type: 'linear', out: 256 },
      { type: 'relu' },
      { type: 'dropout', p: 0.5 },
      { type: 'linear', out: 10 },
    ],
  },
  seed,
  optimizer: sgd({ lr: 0.05, momentum: 0.9 }),
  chunkSize: 32,
  workers,
});
console.log(`built-in data set: ${train.size} training and ${validation.size} validation samples; ${trainer.params.length} parameters; ${trainer.workers} workers`);
try {
  await trainer.fit(train, {
    epochs: 10,
    batchSize: 64,
    validation,
    onEpoch: (m) =>
      console.log(
        `epoch ${String(m.epoch).padStart(2)}  loss ${m.loss.toFixed(4)}  acc ${m.accuracy?.toFixed(4)}  ` +
          `val_loss ${m.valLoss?.toFixed(4)}  val_acc ${m.valAccuracy?.toFixed(4)}  ${Math.round(m.samplesPerSecond)} samples/s`,
      ),
  });
  const params = trainer.params;
  const fingerprint = createHash('sha256').update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength)).digest('hex');
  console.log(`fingerprint ${fingerprint.slice(0, 16)}`);
} finally {
  await trainer.close();
}
