// Monte Carlo dropout notices what a model never saw: an MLP with dropout learns Fashion-MNIST's
// classes 0-7 only (T-shirt to sneaker), then is asked about test images of those classes and of
// classes 8 and 9 (bag, ankle boot). Unseen images get a higher predictive entropy and mutual
// information, and answering only the surest half of the seen images raises the accuracy.
// Usage: node examples/dist/unseen-classes.js [epochs, default 3] [MC passes, default 30] [test images, default all 10000]
import { accuracyAtCoverage, Dataset, sgd, type LayerSpec } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import { loadFashionMnist } from './fashion-mnist-data.js';

const SEEN_CLASSES = 8;
const epochs = Number(process.argv[2] ?? 3);
const passes = Number(process.argv[3] ?? 30);
const testImages = Number(process.argv[4] ?? 10_000);

function labelsOf(data: Dataset): Int32Array {
  if (data.targets.kind !== 'classes') throw new Error('expected class labels');
  return data.targets.labels;
}

/** A copy of the samples whose label passes `keep`, as a data set of `classes` classes. */
function samplesWhere(data: Dataset, keep: (label: number) => boolean, classes: number): Dataset {
  const labels = labelsOf(data);
  const indices = [...labels.keys()].filter((i) => keep(labels[i]));
  return Dataset.classification(data.select(indices).inputs, data.sampleShape, Int32Array.from(indices, (i) => labels[i]), classes);
}

const mean = (values: Float64Array): number => values.reduce((sum, v) => sum + v, 0) / values.length;

const fashion = loadFashionMnist();
const train = samplesWhere(fashion.train, (label) => label < SEEN_CLASSES, SEEN_CLASSES);
const test = fashion.test.slice(0, testImages);
const seen = samplesWhere(test, (label) => label < SEEN_CLASSES, SEEN_CLASSES);
const unseen = samplesWhere(test, (label) => label >= SEEN_CLASSES, 10);

const layers: LayerSpec[] = [{ type: 'flatten' }];
for (const width of [256, 256]) layers.push({ type: 'linear', out: width }, { type: 'relu' }, { type: 'dropout', p: 0.5 });
layers.push({ type: 'linear', out: SEEN_CLASSES });
const trainer = new Trainer({ model: { input: [1, 28, 28], layers }, seed: 0, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), chunkSize: 32 });
try {
  const started = performance.now();
  await trainer.fit(train, {
    epochs,
    batchSize: 128,
    onEpoch: (m) => console.log(`epoch ${m.epoch}: loss ${m.loss.toFixed(4)}, train accuracy ${m.accuracy?.toFixed(4)}`),
  });
  console.log(`784-256-256-8, dropout 0.5, trained on ${train.size} images of classes 0-7 in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const options = { samples: passes, seed: 0 };
  const onSeen = await trainer.predictWithUncertainty(seen.inputs, options);
  const onUnseen = await trainer.predictWithUncertainty(unseen.inputs, options);
  const entropy = [mean(onSeen.entropy), mean(onUnseen.entropy)];
  const information = [mean(onSeen.mutualInformation), mean(onUnseen.mutualInformation)];
  console.log(`MC dropout, ${passes} passes; mean predictive entropy and mutual information (nats):`);
  console.log(`seen classes 0-7 (${seen.size} test images): entropy ${entropy[0].toFixed(4)} MI ${information[0].toFixed(4)}`);
  console.log(`unseen classes 8-9 (${unseen.size} test images): entropy ${entropy[1].toFixed(4)} MI ${information[1].toFixed(4)}`);
  console.log(`unseen minus seen: entropy ${(entropy[1] - entropy[0]).toFixed(4)} MI ${(information[1] - information[0]).toFixed(4)}`);
  const predictions = { probabilities: onSeen.mean, classes: SEEN_CLASSES, labels: labelsOf(seen) };
  const coverages = [1, 0.9, 0.5];
  const accuracies = coverages.map((c) => accuracyAtCoverage(predictions, onSeen.entropy, c).toFixed(4));
  console.log(`seen classes, accuracy at coverage ${coverages.map((c) => `${c * 100}%`).join(' ')}: ${accuracies.join(' ')}`);
} finally {
  await trainer.close();
}
