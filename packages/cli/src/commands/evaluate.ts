import { loadCheckpoint } from '../checkpoint.js';
import { defaultWorkers } from '../config.js';
import { UserError } from '../errors.js';
import { integerFlag } from '../flags.js';
import { runData, trainerFor } from '../run-setup.js';

export interface EvalFlags {
  checkpoint: string;
  data?: string;
  workers?: string;
  json?: boolean;
}

/** Loss, accuracy and confusion matrix on the data's test set (or the run's validation split). */
export async function evalCommand(flags: EvalFlags): Promise<number> {
  const workers = integerFlag('--workers', flags.workers, 1, 1024) ?? defaultWorkers();
  const checkpoint = loadCheckpoint(flags.checkpoint);
  const data = runData(checkpoint.config, flags.data);
  const [name, set] = data.test !== null ? ['test set', data.test] : ['validation split', data.validation];
  if (set === null) throw new UserError(`${flags.data ?? checkpoint.config.data} has no test set and the run used no validation split; pass --data with a test set`);
  if (JSON.stringify(set.sampleShape) !== JSON.stringify(checkpoint.spec.input)) {
    throw new UserError(`the data has samples of shape [${set.sampleShape.join(',')}] but ${flags.checkpoint} takes [${checkpoint.spec.input.join(',')}]`);
  }
  const trainer = await trainerFor(checkpoint, workers);
  try {
    const { loss, accuracy } = await trainer.evaluate(set);
    const logits = await trainer.predict(set.inputs);
    const classes = logits.length / set.size;
    const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
    const labels = set.targets.kind === 'classes' ? set.targets.labels : new Int32Array(set.size);
    for (let r = 0; r < set.size; r++) {
      const row = logits.subarray(r * classes, (r + 1) * classes);
      let best = 0;
      for (let c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
      confusion[labels[r]][best]++;
    }
    if (flags.json) {
      console.log(JSON.stringify({ set: name, samples: set.size, loss, accuracy, confusion }));
      return 0;
    }
    console.log(`${name}: ${set.size} samples, loss ${loss.toFixed(4)}, accuracy ${accuracy?.toFixed(4)}`);
    console.log('confusion matrix (rows: true class, columns: predicted class)');
    const width = Math.max(5, String(set.size).length + 1);
    console.log(' '.repeat(6) + confusion.map((_, c) => String(c).padStart(width)).join(''));
    confusion.forEach((row, c) => console.log(String(c).padStart(5) + ' ' + row.map((v) => String(v).padStart(width)).join('')));
    return 0;
  } finally {
    await trainer.close();
  }
}
