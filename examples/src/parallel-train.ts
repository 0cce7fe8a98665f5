// Train on every core: the same model and seed give the same parameters, bit for bit, at any worker count.
import { builtinDataset, sgd, type ModelSpec } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';

const { train, validation } = builtinDataset(0);
const model: ModelSpec = { input: [128], layers: [{ type: 'linear', out: 256 }, { type: 'relu' }, { type: 'dropout', p: 0.5 }, { type: 'linear', out: 10 }] };
const trainer = new Trainer({ model, seed: 0, optimizer: sgd({ lr: 0.05, momentum: 0.9 }) });
await trainer.fit(train, { epochs: 5, batchSize: 64, validation, onEpoch: (m) => console.log(`epoch ${m.epoch} loss ${m.loss.toFixed(4)} val_acc ${m.valAccuracy?.toFixed(4)}`) });
console.log(`${trainer.workers} workers, validation accuracy ${(await trainer.evaluate(validation)).accuracy?.toFixed(4)}`);
await trainer.close();
