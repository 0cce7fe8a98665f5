// lockstep's main job until the `lockstep` command lands: an MLP with dropout trained on the built-in
// data set with the single-threaded reference trainer, reporting every epoch and a parameter fingerprint.
import { createHash } from 'node:crypto';
import { builtinDataset, fit, modelFromSpec, sgd } from '@lockstep/core';

const seed = 0;
const { train, validation } = builtinDataset(seed);
const model = modelFromSpec(
  {
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
);
console.log(`built-in data set: ${train.size} training and ${validation.size} validation samples, ${model.size} parameters`);
fit(model, train, {
  epochs: 10,
  batchSize: 64,
  chunkSize: 32,
  seed,
  optimizer: sgd({ lr: 0.05, momentum: 0.9 }),
  validation,
  onEpoch: (m) =>
    console.log(
      `epoch ${String(m.epoch).padStart(2)}  loss ${m.loss.toFixed(4)}  acc ${m.accuracy?.toFixed(4)}  ` +
        `val_loss ${m.valLoss?.toFixed(4)}  val_acc ${m.valAccuracy?.toFixed(4)}  ${Math.round(m.samplesPerSecond)} samples/s`,
    ),
});
const fingerprint = createHash('sha256').update(new Uint8Array(model.params.buffer, model.params.byteOffset, model.params.byteLength)).digest('hex');
console.log(`fingerprint ${fingerprint.slice(0, 16)}`);
