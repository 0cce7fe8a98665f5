// The dropout note's second example (docs/dropout-note.md): Linear(10, 5) -> ReLU -> Dropout(0.5) -> Linear(5, 1), run on one
// random input in train mode (dropout on: the output varies) and in eval mode (dropout off: it does not).
import { Dropout, fillNormal, Linear, Model, ReLU, rootKey, Sequential } from '@lockstep/core';

const model = new Model(
  new Sequential(new Linear({ inFeatures: 10, outFeatures: 5 }), new ReLU(), new Dropout(0.5), new Linear({ inFeatures: 5, outFeatures: 1 })),
  [10],
).initialize(0);
const x = new Float32Array(10);
fillNormal(rootKey(1), x, 0, 1);

model.train();
const trainOutputs = [1, 2, 3, 4, 5].map(() => model.forward(x).data[0]);
console.log(`train mode outputs: ${trainOutputs.map((v) => v.toFixed(6)).join(' ')}`);

model.eval();
const evalOutputs = [1, 2, 3, 4, 5].map(() => model.forward(x).data[0]);
console.log(`eval mode outputs: ${evalOutputs.map((v) => v.toFixed(6)).join(' ')}`);
