/**
 * Soak: `lockstep train` on the built-in data set with 2 workers for 30 epochs (the real command:
 * checkpoints, metrics and learning curves written every epoch), sampling the process's resident
 * memory (VmRSS, all threads) when each epoch's line arrives. Prints the memory after epochs 1, 10
 * and the last, every epoch's figure (garbage collection makes it a sawtooth: growth that never
 * levels off over a long run would be a leak), and whether training speed drifts: the median
 * samples/s of epochs 2-6 against the last five.
 *
 * Usage: node tools/bench/soak.bench.mjs [--epochs N (default 30)] [--workers W (default 2)]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseFlags, positiveInteger } from './options.mjs';
import { median } from './median.mjs';

const values = parseFlags({ epochs: { type: 'string', default: '30' }, workers: { type: 'string', default: '2' } });
const epochs = positiveInteger('epochs', values.epochs);
const workers = positiveInteger('workers', values.workers);
const bin = fileURLToPath(new URL('../../packages/cli/bin/lockstep.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'lockstep-soak-'));

function residentMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) / 1024;
}

const child = spawn(process.execPath, [bin, 'train', '--epochs', String(epochs), '--workers', String(workers), '--json', '--out', join(out, 'run')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const samples = [];
for await (const line of createInterface({ input: child.stdout })) {
  const event = JSON.parse(line);
  if (event.event === 'epoch') samples.push({ epoch: event.epoch, rss: residentMiB(child.pid), speed: event.samplesPerSecond });
}
const status = await new Promise((resolve) => child.on('close', resolve));
rmSync(out, { recursive: true, force: true });
if (status !== 0 || samples.length !== epochs) {
  console.error(`lockstep train exited with ${status} after ${samples.length} of ${epochs} epochs`);
  process.exit(1);
}

console.log(`lockstep train, built-in data set, ${workers} workers, ${epochs} epochs`);
console.log('epoch | resident MiB | samples/s');
for (const epoch of [...new Set([1, Math.min(10, epochs), epochs])]) {
  const s = samples[epoch - 1];
  console.log(`${String(epoch).padStart(5)} | ${s.rss.toFixed(1).padStart(12)} | ${Math.round(s.speed).toString().padStart(9)}`);
}
const early = median(samples.slice(1, 6).map((s) => s.speed));
const late = median(samples.slice(-5).map((s) => s.speed));
const rss = samples.map((s) => s.rss);
console.log(`resident memory: epoch 1 ${rss[0].toFixed(1)} MiB, max ${Math.max(...rss).toFixed(1)}, last ${rss.at(-1).toFixed(1)} (last/epoch 10: ${(rss.at(-1) / rss[Math.min(10, epochs) - 1]).toFixed(3)})`);
console.log(`resident MiB per epoch: ${rss.map((r) => r.toFixed(0)).join(' ')}`);
console.log(`samples/s: median of epochs 2-6 ${Math.round(early)}, of the last five ${Math.round(late)} (ratio ${(late / early).toFixed(3)})`);
