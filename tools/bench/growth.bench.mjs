/**
 * How cost grows: training samples/s and peak resident memory of lockstep (strict and relaxed
 * kernel, 2 workers) against PyTorch 1.13 (2 threads, tools/bench/torch_reference.py) as the model
 * or the batch grows:
 *   width     MLP 784-w-w-10 (ReLU, dropout 0.5), w = 256, 512, 1024, 2048, batch 128;
 *   batch     the reference MLP 784-512-512-10, batch 32 ... 1024 (lockstep's chunk size min(64, batch / 2): a chunk for each worker);
 *   channels  the CNN of examples/configs/cnn.json with 16/32, 32/64, 64/128 channels, batch 128;
 *   big       the 20-million-parameter MLP 784-4096-4096-10, batch 128, lockstep strict only.
 * Every measurement runs in a fresh process (tools/bench/growth-run.mjs, or the PyTorch script) that
 * loads the same data (the whole Fashion-MNIST training set, or 60,000 synthetic samples, kept in
 * memory as float32), trains on its first --samples samples after an untimed warm-up of two batches,
 * and reports samples/s and its peak RSS, worker threads included; the systems are interleaved
 * within each repetition, and the tables show medians. Peak RSS is shown whole and less the same
 * process's peak before the model was built (the runtime and the data set loaded), which is what
 * the model's training cost on top.
 *
 * Usage: node tools/bench/growth.bench.mjs [--only width|batch|channels|big] [--samples N (default 2048)]
 *   [--reps R (default 3)] [--out DIR (default bench-results/growth)]
 * Writes growth.md (the tables) and growth.svg (samples/s against size, one panel per sweep) to DIR.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fashionMnistInstalled } from '../../examples/dist/fashion-mnist-data.js';
import { growthSvg } from './growth-chart.mjs';
import { median } from './median.mjs';
import { oneOf, parseFlags, positiveInteger } from './options.mjs';
import { pytorch, pytorchAvailable } from './pytorch.mjs';

const SWEEPS = ['width', 'batch', 'channels', 'big'];
const values = parseFlags({
  only: { type: 'string' },
  samples: { type: 'string', default: '2048' },
  reps: { type: 'string', default: '3' },
  out: { type: 'string', default: fileURLToPath(new URL('../../bench-results/growth', import.meta.url)) },
});
const sweeps = values.only === undefined ? SWEEPS : [oneOf('only', values.only, SWEEPS)];
const samples = positiveInteger('samples', values.samples);
const reps = positiveInteger('reps', values.reps);
const out = resolve(values.out);

const STRICT = { name: 'lockstep strict, 2 workers', kernel: 'strict' };
const RELAXED = { name: 'lockstep relaxed, 2 workers', kernel: 'relaxed' };
const TORCH = { name: 'PyTorch 1.13, 2 threads', torch: true };
const withTorch = pytorchAvailable();
const systems = (list) => list.filter((system) => withTorch || system.torch !== true);

/** Each sweep: its points (a label and the model) and the systems it compares. */
const SWEEP_POINTS = {
  width: {
    short: 'MLP width',
    title: 'MLP 784-w-w-10, batch 128',
    axis: 'hidden width w',
    points: [256, 512, 1024, 2048].map((width) => ({ label: String(width), run: { model: 'mlp', width, batch: 128 } })),
    systems: systems([STRICT, RELAXED, TORCH]),
  },
  batch: {
    short: 'MLP 512 batch',
    title: 'MLP 784-512-512-10, chunk min(64, batch / 2)',
    axis: 'batch size',
    points: [32, 64, 128, 256, 512, 1024].map((batch) => ({ label: String(batch), run: { model: 'mlp', width: 512, batch } })),
    systems: systems([STRICT, RELAXED, TORCH]),
  },
  channels: {
    short: 'CNN channels',
    title: 'CNN of examples/configs/cnn.json, batch 128',
    axis: 'channels of the two conv layers',
    points: [[16, 32], [32, 64], [64, 128]].map((channels) => ({ label: channels.join('/'), run: { model: 'cnn', channels, batch: 128 } })),
    systems: systems([STRICT, RELAXED, TORCH]),
  },
  big: {
    short: '20M MLP width',
    title: '20M-parameter MLP 784-4096-4096-10, batch 128',
    axis: 'hidden width w',
    points: [{ label: '4096', run: { model: 'mlp', width: 4096, batch: 128 } }],
    systems: systems([STRICT, TORCH]),
  },
};

/** One measurement in a fresh process: { samplesPerSecond, dataRssMiB, maxRssMiB }. */
function measure(system, run) {
  if (system.torch) {
    const args = ['--what', 'train', '--threads', '2', '--samples', String(samples), '--reps', '1', '--model', run.model, '--batch', String(run.batch)];
    if (run.model === 'mlp') args.push('--width', String(run.width));
    else args.push('--channels', run.channels.join(','));
    return pytorch(args);
  }
  const script = fileURLToPath(new URL('./growth-run.mjs', import.meta.url));
  const child = spawnSync(process.execPath, [script, JSON.stringify({ ...run, kernel: system.kernel, workers: 2, samples })], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`growth-run.mjs ${system.kernel} ${JSON.stringify(run)} failed: ${child.stderr.trim().split('\n')[0]}`);
  return JSON.parse(child.stdout);
}

const started = performance.now();
console.log(
  `${samples} training samples a measurement after 2 untimed batches, ${reps} interleaved repetitions, medians; each measurement in its own process` +
    (withTorch ? '' : '\nPyTorch is missing (Debian python3-torch for /usr/bin/python3): lockstep only'),
);
const results = [];
for (const sweep of sweeps) {
  const { title, points, systems: compared } = SWEEP_POINTS[sweep];
  console.log(`\n${title}`);
  const runs = new Map(points.flatMap((point) => compared.map((system) => [`${point.label} ${system.name}`, []])));
  for (let rep = 1; rep <= reps; rep++) {
    for (const point of points) {
      for (const system of compared) {
        const result = measure(system, point.run);
        runs.get(`${point.label} ${system.name}`).push(result);
        console.log(`  rep ${rep} ${point.label.padStart(6)} ${system.name.padEnd(28)} ${result.samplesPerSecond.toFixed(0).padStart(7)} samples/s, peak RSS ${result.maxRssMiB.toFixed(0)} MiB`);
      }
    }
  }
  for (const point of points) {
    const row = (system) => {
      const list = runs.get(`${point.label} ${system.name}`);
      return {
        sweep,
        label: point.label,
        system: system.name,
        samplesPerSecond: median(list.map((r) => r.samplesPerSecond)),
        maxRssMiB: median(list.map((r) => r.maxRssMiB)),
        modelRssMiB: median(list.map((r) => r.maxRssMiB - r.dataRssMiB)),
      };
    };
    const rows = compared.map(row);
    const torch = rows.find((r) => r.system === TORCH.name);
    for (const r of rows) results.push({ ...r, ratio: torch === undefined ? null : r.samplesPerSecond / torch.samplesPerSecond });
  }
}

const header = ['sweep', 'point', 'system', 'samples/s', 'vs PyTorch', 'peak RSS MiB', 'of it the model'];
const cells = results.map((r) => [
  SWEEP_POINTS[r.sweep].short,
  r.label,
  r.system,
  r.samplesPerSecond.toFixed(0),
  r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
  r.maxRssMiB.toFixed(0),
  r.modelRssMiB.toFixed(0),
]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
console.log(`\n${header.map((h, i) => h.padEnd(widths[i])).join('  ')}`);
for (const row of cells) console.log(row.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '));
const rssNote =
  'Peak RSS: the whole process (lockstep: its worker threads included) at its peak, with the data set loaded ' +
  '(the 60,000-image training set as float32 on both sides; lockstep also holds the 10,000 test images); ' +
  '"of it the model": that peak less the same process\'s peak before the model was built.';
console.log(rssNote);

/** Writes `text` to `name` in the output folder by way of a temporary file, so a reader never sees half of it. */
function writeAtomic(name, text) {
  const path = join(out, name);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
  return path;
}

mkdirSync(out, { recursive: true });
const markdown = [
  `# How cost grows`,
  '',
  `Training samples/s (${samples} samples after 2 untimed batches, median of ${reps}) and peak resident memory; SGD with momentum, 2 workers or 2 threads.`,
  '',
  `| ${header.join(' | ')} |`,
  `|${header.map((_, i) => (i >= 3 ? '---:' : '---')).join('|')}|`,
  ...cells.map((row) => `| ${row.join(' | ')} |`),
  '',
  rssNote,
  '',
].join('\n');
const charted = sweeps.filter((s) => s !== 'big');
const svg = growthSvg(
  charted.map((sweep) => {
    const { title, axis, points, systems: compared } = SWEEP_POINTS[sweep];
    return {
      title,
      axis,
      labels: points.map((p) => p.label),
      series: compared.map((system) => ({
        name: system.name,
        values: points.map((p) => results.find((r) => r.sweep === sweep && r.label === p.label && r.system === system.name).samplesPerSecond),
      })),
    };
  }),
  'How training speed grows with the model and the batch',
  `samples/s, median of ${reps}, ${samples} samples a measurement, ${fashionMnistInstalled() ? 'Fashion-MNIST' : 'synthetic data'}; higher is better`,
);
console.log(`\nwrote ${writeAtomic('growth.md', markdown)}`);
if (charted.length > 0) console.log(`wrote ${writeAtomic('growth.svg', svg)}`);
console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
