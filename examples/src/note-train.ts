// The dropout note's first example (docs/dropout-note.md): Sequential(Linear(128, 64), ReLU(), Dropout(0.5), Linear(64, 10)),
// trained on lockstep's built-in synthetic task.
import { adam, builtinDataset, Dropout, evaluate, fit, Linear, Model, ReLU, Sequential } from '@lockstep/core';

const { train, validation } = builtinDataset(0);
const layers = new Sequential(new Linear({ inFeatures: 128, outFeatures: 64 }), new ReLU(), new Dropout(0.5), new Linear({ inFeatures: 64, outFeatures: 10 }));
const model = new Model(layers, [128]).initialize(42);
fit(model, train, { epochs: 5, batchSize: 64, seed: 42, optimizer: adam({ lr: 1e-3 }), onEpoch: (m) => console.log(`epoch ${m.epoch} loss ${m.loss.toFixed(4)} accuracy ${m.accuracy?.toFixed(4)}`) });
const { accuracy } = evaluate(model, validation);
console.log(`validation accuracy ${accuracy?.toFixed(4)}`);
