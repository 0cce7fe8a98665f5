/**
 * Image data that does not fit in memory (docs/design.md, "Data that does not fit in memory"):
 *
 * 1. Decoding throughput: images/s of the first pass (read, check, decode, bring to the settings'
 *    channels and size, moments), the code the loader threads and the training workers decode with,
 *    on 1 and 2 threads: Fashion-MNIST as PNG (28 x 28 grey), and the same colour shapes (32 x 32 RGB)
 *    as PNG and as JPEG. Cache off, so every image is decoded; the thread counts alternate.
 * 2. Training samples/s of one epoch of the CNN of examples/configs/fashion-mnist-png-cnn.json
 *    (augmentation on, no validation) on the Fashion-MNIST PNG tree, with the cache holding every
 *    image, and with a cache too small (1 MiB: 334 images) so the rest are decoded each epoch on the
 *    training workers: with their lookahead (the next step's samples decoded while a worker waits at
 *    a meeting or the doorbell) and without it. The three alternate; each ends on the same bits.
 * 3. Images decoded per second during the too-small-cache epochs against samples trained per second,
 *    and against the decoding throughput of (1): whether decoding starves training.
 *
 * Medians of --reps repetitions; ratios are of medians measured in this one run.
 *
 * Usage: node tools/bench/images.bench.mjs [--count N (default 4000 a split)] [--reps R (default 3)] [--workers W (default 2)]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Dataset, fingerprint } from '../../packages/core/dist/index.js';
import { Trainer } from '../../packages/workers/dist/index.js';
import { checkConfig } from '../../packages/cli/dist/modules/config/config-file.js';
import { DEFAULT_CONFIG } from '../../packages/cli/dist/modules/config/settings.js';
import { runModel } from '../../packages/cli/dist/modules/config/model-spec.js';
import { optimizerOf } from '../../packages/cli/dist/modules/config/optimizer.js';
import { loadRunData } from '../../packages/cli/dist/modules/data/run-data.js';
import { firstPass } from '../../packages/cli/dist/modules/data/images/pass.js';
import { scanImageTree } from '../../packages/cli/dist/modules/data/images/scan.js';
import { buildModel } from '../../packages/cli/dist/modules/run/trainer.js';
import { median } from './median.mjs';
import { parseFlags, positiveInteger } from './options.mjs';

const values = parseFlags({ count: { type: 'string', default: '4000' }, reps: { type: 'string', default: '3' }, workers: { type: 'string', default: '2' } });
const count = positiveInteger('count', values.count);
const reps = positiveInteger('reps', values.reps);
const workers = positiveInteger('workers', values.workers);
const SMALL_CACHE_MB = 1;

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lockstep-images-bench-'));
const tool = (name, args) => execFileSync(process.execPath, [join(root, 'tools/data', name), ...args], { stdio: 'ignore' });

try {
  tool('fashion-mnist-png.mjs', ['--out', join(work, 'fashion'), '--count', String(count)]);
  // colour-shapes writes N a class (4 classes) and N / 4 a class for the test split.
  const perClass = String(Math.max(1, Math.round(count / 5)));
  tool('colour-shapes.mjs', ['--out', join(work, 'shapes-png'), '--count', perClass, '--format', 'png']);
  tool('colour-shapes.mjs', ['--out', join(work, 'shapes-jpeg'), '--count', perClass, '--format', 'jpeg']);

  console.log(`decoding: the first pass, cache off (read, check, decode, channels and size, moments), timed on the loader threads (their start left out); medians of ${reps}, 1 and 2 threads alternating`);
  const decodeRates = {};
  for (const [name, dir, channels] of [
    ['Fashion-MNIST PNG, 28 x 28 grey', 'fashion', 1],
    ['colour shapes PNG, 32 x 32 RGB', 'shapes-png', 3],
    ['colour shapes JPEG, 32 x 32 RGB', 'shapes-jpeg', 3],
  ]) {
    const tree = scanImageTree(join(work, dir));
    const images = tree.train.files.length + (tree.test?.files.length ?? 0);
    const rates = { 1: [], 2: [] };
    for (let r = 0; r < reps; r++) {
      for (const threads of [1, 2]) {
        const pass = await firstPass(tree, { pixels: { channels, size: undefined, fit: 'resize' }, skip: false, threads, cacheBytes: 0 });
        await pass.close();
        rates[threads].push(images / pass.readSeconds);
      }
    }
    const [one, two] = [median(rates[1]), median(rates[2])];
    decodeRates[dir] = { 1: one, 2: two };
    console.log(`  ${name}: ${images} images; 1 thread ${one.toFixed(0)} images/s, 2 threads ${two.toFixed(0)} images/s (${(two / one).toFixed(2)}x)`);
  }

  const example = JSON.parse(readFileSync(join(root, 'examples/configs/fashion-mnist-png-cnn.json'), 'utf8'));
  const base = { ...DEFAULT_CONFIG, ...example, data: `images:${join(work, 'fashion')}`, epochs: 1, validationSplit: 0 };
  const load = async (cacheMb) => (await loadRunData(checkConfig({ ...base, cacheMb }, 'bench'), { threads: workers })).train;
  const full = await load(1024);
  const small = await load(SMALL_CACHE_MB);
  const inner = small.streamed.reader;
  const noLookahead = new Dataset(
    { reader: { read: (i, into) => inner.read(i, into), recipe: { module: new URL('./no-lookahead-reader.mjs', import.meta.url).href, options: { inner: inner.recipe.options, token: 'no-lookahead' } } }, rows: null },
    small.sampleShape,
    small.targets,
  );
  const sampleBytes = 4 * full.sampleSize;
  const cached = Math.min(full.size, Math.floor((SMALL_CACHE_MB * 2 ** 20) / sampleBytes));
  const config = checkConfig(base, 'bench');
  const spec = runModel(config, full, null);

  async function epoch(data) {
    const trainer = new Trainer({ model: buildModel(spec), seed: config.seed, optimizer: optimizerOf(config), chunkSize: config.chunkSize, kernel: 'strict', workers });
    try {
      const started = performance.now();
      await trainer.fit(data, { epochs: 1, batchSize: config.batchSize, augment: config.augment });
      const seconds = (performance.now() - started) / 1000;
      return { seconds, print: fingerprint(trainer.params) };
    } finally {
      await trainer.close();
    }
  }

  console.log(`\ntraining: the CNN of examples/configs/fashion-mnist-png-cnn.json (augmentation on), one epoch of ${full.size} samples, batch ${config.batchSize}, ${workers} workers; medians of ${reps}, the three alternating`);
  const runs = { full: [], small: [], plain: [] };
  const prints = new Set();
  for (let r = 0; r < reps; r++) {
    for (const [key, data] of [['full', full], ['small', small], ['plain', noLookahead]]) {
      const { seconds, print } = await epoch(data);
      runs[key].push(seconds);
      prints.add(print);
    }
  }
  const rate = (key) => full.size / median(runs[key]);
  const uncached = full.size - cached;
  console.log(`  cache holds every image (${((full.size * sampleBytes) / 2 ** 20).toFixed(1)} MiB): ${rate('full').toFixed(0)} samples/s`);
  console.log(`  cache too small (${SMALL_CACHE_MB} MiB, ${cached} of ${full.size} images), lookahead on: ${rate('small').toFixed(0)} samples/s (${(rate('small') / rate('full')).toFixed(3)} of fully cached)`);
  console.log(`  cache too small, lookahead off (decoded when gathered): ${rate('plain').toFixed(0)} samples/s (${(rate('plain') / rate('full')).toFixed(3)} of fully cached)`);
  console.log(`  every run ended on the same parameters: ${prints.size === 1 ? `yes (fingerprint ${[...prints][0]})` : `NO (${[...prints].join(', ')})`}`);

  const decodedPerSecond = uncached / median(runs.small);
  const capacity = decodeRates.fashion[Math.min(2, workers)];
  console.log(`\ndecoding against training, cache too small: ${uncached} images decoded each epoch`);
  console.log(`  ${decodedPerSecond.toFixed(0)} images decoded/s while ${rate('small').toFixed(0)} samples/s train; decoding alone runs at ${capacity.toFixed(0)} images/s on ${Math.min(2, workers)} threads,`);
  console.log(`  so the epoch needs ${((100 * decodedPerSecond) / capacity).toFixed(1)}% of the decoding throughput: decoding does not starve training; it costs ${((1 - rate('small') / rate('full')) * 100).toFixed(1)}% of the samples/s`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
