import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';

const BIN = fileURLToPath(new URL('../packages/cli/bin/lockstep.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lockstep-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function lockstep(args: string[], cwd = work): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function fingerprintOf(output: string): string {
  const match = output.match(/^fingerprint ([0-9a-f]{16})$/m);
  if (match === null) throw new Error(`no fingerprint line in:\n${output}`);
  return match[1]!;
}

describe('lockstep train', () => {
  it('with no arguments trains the default model on the built-in data and leaves a complete run folder', () => {
    const cwd = mkdtempSync(join(work, 'default-'));
    const { status, stdout, stderr } = lockstep(['train'], cwd);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const [run] = readdirSync(join(cwd, 'runs'));
    const folder = join(cwd, 'runs', run!);
    expect(readdirSync(folder).sort()).toEqual(['checkpoint.lockstep', 'config.json', 'curves.html', 'curves.svg', 'metrics.jsonl']);
    const metrics = readFileSync(join(folder, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const key of ['loss', 'accuracy', 'valLoss', 'valAccuracy', 'samplesPerSecond', 'seconds']) expect(typeof metrics[9][key]).toBe('number');
    expect(metrics[9].valAccuracy).toBeGreaterThan(0.85);
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ data: 'default', epochs: 10, batchSize: 64, chunkSize: 32, seed: 0 });
    expect(readFileSync(join(folder, 'curves.svg'), 'utf8')).toMatch(/^<svg[^>]*width="960"/);
    expect(readFileSync(join(folder, 'curves.html'), 'utf8')).toContain('<svg');
    const checkpoint = loadCheckpoint(join(folder, 'checkpoint.lockstep'));
    expect(checkpoint.state).toMatchObject({ epoch: 10, batch: 0, step: 710 });
    expect(stdout.split('\n').filter((l) => l.startsWith('epoch '))).toHaveLength(10);
    expect(fingerprintOf(stdout)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('prints the same fingerprint with --workers 1 and --workers 2', () => {
    const one = lockstep(['train', '--epochs', '2', '--workers', '1', '--out', 'w1', '--quiet']);
    const two = lockstep(['train', '--epochs', '2', '--workers', '2', '--out', 'w2', '--quiet']);
    expect(one.stdout).toMatch(/^fingerprint [0-9a-f]{16}\n$/);
    expect(two.stdout).toBe(one.stdout);
    const other = lockstep(['train', '--epochs', '2', '--seed', '1', '--out', 'w3', '--quiet']);
    expect(other.stdout).not.toBe(one.stdout);
    const clipped = ['train', '--epochs', '2', '--clip-norm', '0.5', '--quiet'];
    const clippedOne = lockstep([...clipped, '--workers', '1', '--out', 'c1']);
    expect(clippedOne.stdout).toMatch(/^fingerprint [0-9a-f]{16}\n$/);
    expect(lockstep([...clipped, '--workers', '2', '--out', 'c2']).stdout).toBe(clippedOne.stdout);
    expect(clippedOne.stdout).not.toBe(one.stdout);
    const relaxed = ['train', '--epochs', '2', '--kernel', 'relaxed', '--quiet'];
    const relaxedOne = lockstep([...relaxed, '--workers', '1', '--out', 'r1']);
    expect(lockstep([...relaxed, '--workers', '2', '--out', 'r2']).stdout).toBe(relaxedOne.stdout);
    expect(relaxedOne.stdout).not.toBe(one.stdout);
    expect(loadCheckpoint(join(work, 'r1', 'checkpoint.lockstep')).kernel).toBe('wasm-simd128-f32-relaxed-madd');
    expect(loadCheckpoint(join(work, 'w1', 'checkpoint.lockstep')).kernel).toBe('wasm-simd128-f32-mul-add');
  });

  it('3 epochs in one go equal 1 epoch and a --resume to 3, and a resume after Ctrl-C in mid-epoch', async () => {
    const straight = fingerprintOf(lockstep(['train', '--epochs', '3', '--out', 'straight', '--quiet']).stdout);
    expect(lockstep(['train', '--epochs', '1', '--out', 'split', '--quiet']).status).toBe(0);
    const resumed = lockstep(['train', '--resume', 'split/checkpoint.lockstep', '--epochs', '3', '--quiet']);
    expect(fingerprintOf(resumed.stdout)).toBe(straight);
    expect(readFileSync(join(work, 'split', 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);

    const child = spawn(process.execPath, [BIN, 'train', '--epochs', '3', '--workers', '1', '--out', 'interrupted', '--json'], { cwd: work });
    let output = '';
    let interruptScheduled = false;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const epoch = output.split('\n').find((line) => line.includes('"event":"epoch"'));
      if (epoch === undefined || interruptScheduled) return;
      interruptScheduled = true;
      // Early in epoch 2 however fast this machine is: epoch 1 (warm-up included) takes over twice as long as epoch 2.
      setTimeout(() => child.kill('SIGINT'), 150 * (JSON.parse(epoch) as { seconds: number }).seconds);
    });
    expect(await exited).toBe(130);
    expect(output).toContain('"interrupted":true');
    const saved = loadCheckpoint(join(work, 'interrupted', 'checkpoint.lockstep'));
    expect(saved.state.epoch).toBe(1);
    expect(saved.state.batch).toBeGreaterThan(0);
    const finished = lockstep(['train', '--resume', 'interrupted/checkpoint.lockstep', '--quiet']);
    expect(fingerprintOf(finished.stdout)).toBe(straight);
  });
});

describe('a diverging run', () => {
  it('stops at the bad step keeping its last checkpoint, and resumes from it with a lower learning rate and clipping', () => {
    const diverged = lockstep(['train', '--lr', '10', '--epochs', '2', '--checkpoint-every', '5', '--out', 'diverged', '--quiet']);
    expect(diverged.status).toBe(1);
    expect(diverged.stderr).toBe(
      'lockstep: fit failed at step 6 (epoch 1, batch 7 of 71): the loss is NaN, first from the output of layer 3 (Linear) (-Infinity); ' +
        'check the scale of the input data, or resume from step 5 with a lower learning rate or gradient clipping: ' +
        'lockstep train --resume diverged/checkpoint.lockstep --lr 1 --clip-norm 1\n',
    );
    expect(loadCheckpoint(join(work, 'diverged', 'checkpoint.lockstep')).state.step).toBe(5);
    const resumed = lockstep(['train', '--resume', 'diverged/checkpoint.lockstep', '--lr', '0.05', '--clip-norm', '1', '--json']);
    expect(resumed.status).toBe(0);
    const events = resumed.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(events.filter((e) => e.event === 'info').map((e) => e.message)).toContain('note: lr changes from 10 to 0.05 at step 5; the run will not match an uninterrupted one');
    expect(events.filter((e) => e.event === 'info').map((e) => e.message)).toContain('note: clipNorm changes from none to 1 at step 5; the run will not match an uninterrupted one');
    expect(events.at(-1)).toMatchObject({ event: 'result', epochs: 2 });
  });
});

describe('lockstep predict and eval', () => {
  const rows = Array.from({ length: 4 }, (_, r) => Array.from({ length: 128 }, (_, i) => Math.sin(r * 128 + i).toFixed(4)).join(','));
  const header = Array.from({ length: 128 }, (_, i) => `x${i + 1}`).join(',');
  writeFileSync(join(work, 'rows.csv'), `${[header, ...rows].join('\n')}\n`);

  it('predict --mc-samples 20: means sum to 1, the spread is not zero, and the same seed repeats exactly', () => {
    expect(lockstep(['train', '--epochs', '1', '--out', 'mc', '--quiet']).status).toBe(0);
    const args = ['predict', '--checkpoint', 'mc/checkpoint.lockstep', '--input', 'rows.csv', '--mc-samples', '20'];
    const first = lockstep(args);
    expect(first.status).toBe(0);
    const predictions = JSON.parse(first.stdout) as Array<{ probabilities: number[]; std: number[]; entropy: number; mutualInformation: number }>;
    expect(predictions).toHaveLength(4);
    for (const row of predictions) {
      expect(Math.abs(row.probabilities.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
      expect(Math.max(...row.std)).toBeGreaterThan(0.001);
      expect(row.entropy).toBeGreaterThan(0);
      expect(row.mutualInformation).toBeGreaterThan(0);
      expect(row.mutualInformation).toBeLessThan(row.entropy);
    }
    expect(lockstep([...args, '--workers', '1']).stdout).toBe(first.stdout);
    expect(lockstep([...args, '--seed', '5']).stdout).not.toBe(first.stdout);
    const csv = lockstep([...args, '--format', 'csv']).stdout.trim().split('\n');
    expect(csv[0]).toBe([...Array.from({ length: 10 }, (_, c) => `p${c}`), ...Array.from({ length: 10 }, (_, c) => `std${c}`), 'entropy', 'mutualInformation'].join(','));
    expect(csv).toHaveLength(5);
  });

  it('predict of one row with a batch-norm1d of trackRunningStats false: one line naming the layer, exit 1, with --mc-samples too', () => {
    const layers = [{ type: 'linear', out: 16 }, { type: 'batch-norm1d', trackRunningStats: false }, { type: 'relu' }, { type: 'dropout', p: 0.2 }, { type: 'linear', out: 10 }];
    writeFileSync(join(work, 'batch-statistics.json'), JSON.stringify({ epochs: 1, layers }));
    writeFileSync(join(work, 'one-row.csv'), `${header}\n${rows[0]}\n`);
    expect(lockstep(['train', '--config', 'batch-statistics.json', '--out', 'batch-statistics', '--quiet']).status).toBe(0);
    const args = ['predict', '--checkpoint', 'batch-statistics/checkpoint.lockstep', '--input', 'one-row.csv'];
    const layer = "layer 1 (BatchNorm1d) normalizes by the batch's own statistics in eval mode (trackRunningStats: false) and needs 2 rows or more; pass 2 rows or more, or use trackRunningStats: true";
    expect(lockstep(args)).toEqual({ status: 1, stdout: '', stderr: `lockstep: predict: 1 row, but ${layer}\n` });
    expect(lockstep([...args, '--mc-samples', '3'])).toEqual({ status: 1, stdout: '', stderr: `lockstep: predictWithUncertainty: 1 row, but ${layer}\n` });
    expect(lockstep(['predict', '--checkpoint', 'batch-statistics/checkpoint.lockstep', '--input', 'rows.csv']).status).toBe(0);
  });

  it('eval prints loss, accuracy and a 10x10 confusion matrix over the 1,000 test samples', () => {
    const { status, stdout } = lockstep(['eval', '--checkpoint', 'mc/checkpoint.lockstep', '--json']);
    expect(status).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.samples).toBe(1000);
    expect(result.confusion).toHaveLength(10);
    const total = result.confusion.flat().reduce((a: number, b: number) => a + b, 0);
    const diagonal = result.confusion.reduce((sum: number, row: number[], c: number) => sum + row[c], 0);
    expect(total).toBe(1000);
    expect(result.accuracy).toBe(diagonal / 1000);
  });
});

describe('lockstep eval --mc-samples: calibration of eval mode against Monte Carlo dropout', () => {
  const round = (value: number): string => value.toFixed(4);

  it('prints ECE and accuracy at 100/90/50% coverage as calibration.json has them, and writes both plots to --out', () => {
    const { status, stdout, stderr } = lockstep(['eval', '--checkpoint', 'mc/checkpoint.lockstep', '--mc-samples', '10', '--out', 'mc-eval']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(readdirSync(join(work, 'mc-eval')).sort()).toEqual(['calibration.json', 'coverage.svg', 'reliability.svg']);
    for (const plot of ['coverage.svg', 'reliability.svg']) expect(readFileSync(join(work, 'mc-eval', plot), 'utf8')).toMatch(/^<svg[^>]*width="800"[\s\S]*<\/svg>$/);
    const report = JSON.parse(readFileSync(join(work, 'mc-eval', 'calibration.json'), 'utf8'));
    expect(report).toMatchObject({ set: 'test set', samples: 1000, bins: 15, mcSamples: 10, seed: 0 });
    for (const method of [report.eval, report.mc]) {
      expect(method.reliability).toHaveLength(15);
      expect(method.reliability.reduce((sum: number, b: { count: number }) => sum + b.count, 0)).toBe(1000);
      expect(method.curve).toHaveLength(100);
      expect(method.coverage.map((p: { coverage: number }) => p.coverage)).toEqual([1, 0.9, 0.5]);
      expect(method.curve[99].accuracy).toBe(method.coverage[0].accuracy);
      expect(method.curve[49].accuracy).toBe(method.coverage[2].accuracy);
    }
    expect(report.mc.meanMutualInformation).toBeGreaterThan(0);
    expect(report.mc.meanMutualInformation).toBeLessThan(report.mc.meanEntropy);
    expect(stdout).toContain(`calibration over 15 confidence bins: ECE eval mode ${round(report.eval.ece)}, MC dropout ${round(report.mc.ece)} (10 passes, seed 0)\n`);
    expect(stdout).toContain(`\neval mode   ${report.eval.coverage.map((p: { accuracy: number }) => round(p.accuracy).padStart(8)).join('')}\n`);
    expect(stdout).toContain(`\nMC dropout  ${report.mc.coverage.map((p: { accuracy: number }) => round(p.accuracy).padStart(8)).join('')}\n`);
    expect(stdout).toContain(`mean predictive entropy ${round(report.mc.meanEntropy)} (eval mode ${round(report.eval.meanEntropy)}), mean mutual information ${round(report.mc.meanMutualInformation)}\n`);
    expect(stdout).toContain('wrote reliability.svg, coverage.svg, calibration.json to mc-eval\n');
    const accuracy = Number(stdout.match(/accuracy (\S+)\n/)?.[1]);
    expect(round(report.eval.coverage[0].accuracy)).toBe(round(accuracy));
  });

  it('--json carries the same report, written next to the checkpoint by default; 1 worker gives the same bytes; another seed moves only MC', () => {
    const args = ['eval', '--checkpoint', 'mc/checkpoint.lockstep', '--mc-samples', '10', '--json'];
    const result = JSON.parse(lockstep(args).stdout);
    const written = readFileSync(join(work, 'mc', 'calibration.json'), 'utf8');
    expect(result.out).toBe('mc');
    expect(result.calibration).toEqual(JSON.parse(written));
    expect(written).toBe(readFileSync(join(work, 'mc-eval', 'calibration.json'), 'utf8'));
    expect(lockstep([...args, '--workers', '1']).status).toBe(0);
    expect(readFileSync(join(work, 'mc', 'calibration.json'), 'utf8')).toBe(written);
    const other = JSON.parse(lockstep([...args, '--seed', '5']).stdout).calibration;
    expect(other.eval).toEqual(result.calibration.eval);
    expect(other.mc.ece).not.toBe(result.calibration.mc.ece);
  });

  it('refuses another --out that holds a calibration file: one line, exit 1, the folder unchanged; --overwrite replaces the files', () => {
    mkdirSync(join(work, 'mine'));
    writeFileSync(join(work, 'mine', 'coverage.svg'), '<svg>mine</svg>\n');
    const args = ['eval', '--checkpoint', 'mc/checkpoint.lockstep', '--mc-samples', '10', '--out', 'mine'];
    const refused = lockstep(args);
    expect(refused.stderr).toBe('lockstep: mine already holds coverage.svg; replace it with --overwrite, or choose another --out\n');
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(readdirSync(join(work, 'mine'))).toEqual(['coverage.svg']);
    expect(readFileSync(join(work, 'mine', 'coverage.svg'), 'utf8')).toBe('<svg>mine</svg>\n');
    const replaced = lockstep([...args, '--overwrite']);
    expect(replaced.stderr).toBe('');
    expect(replaced.status).toBe(0);
    for (const name of ['calibration.json', 'coverage.svg', 'reliability.svg']) expect(readFileSync(join(work, 'mine', name)), name).toEqual(readFileSync(join(work, 'mc-eval', name)));
  });
});

describe('bad input: one line, a non-zero exit, no stack trace, nothing half-written', () => {
  const idxDir = join(work, 'idx-truncated');
  mkdirSync(idxDir, { recursive: true });
  const header = Buffer.from([0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]);
  writeFileSync(join(idxDir, 'train-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([header, Buffer.alloc(100)])));
  writeFileSync(join(idxDir, 'train-labels-idx1-ubyte'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 10, ...new Array(10).fill(1)]));
  writeFileSync(join(work, 'ragged.csv'), 'a,b,label\n1,2,0\n3,4\n');
  writeFileSync(join(work, 'bad-config.json'), '{"epochs": 3');
  writeFileSync(join(work, 'wide-config.json'), '{"hidden": [32]}');
  writeFileSync(join(work, 'unknown-config.json'), '{"epochz": 3}');
  // Features near float32's largest value: the first update blows the weights up, and the first layer overflows at step 1.
  writeFileSync(join(work, 'huge.csv'), ['a,b,label', ...Array.from({ length: 200 }, (_, i) => `${((i * 7919) % 200) / 100 - 1}e38,${(i % 13) / 13},${i % 2}`)].join('\n'));
  writeFileSync(join(work, 'no-dropout-config.json'), '{"epochs": 1, "layers": [{"type": "linear", "out": 16}, {"type": "relu"}, {"type": "linear", "out": 10}]}');

  function damaged(name: string, change: (bytes: Buffer) => Buffer): string {
    const source = join(work, 'w1', 'checkpoint.lockstep');
    const target = join(work, name);
    writeFileSync(target, change(readFileSync(source)));
    return name;
  }

  it.each([
    [['train', '--epochz', '3'], "lockstep: unknown option '--epochz'; (Did you mean --epochs?)"],
    [['train', '--workers', 'abc'], 'lockstep: --workers must be an integer from 1 to 1024, got "abc"'],
    [['train', '--epochs', '0'], 'lockstep: --epochs must be an integer >= 1, got "0"'],
    [['train', '--dropout', '1.5'], 'lockstep: --dropout: p=1.5 is out of range [0, 1]'],
    [['train', '--clip-norm', '0'], 'lockstep: --clip-norm must be a number > 0, got "0"'],
    [['train', '--kernel', 'fast'], 'lockstep: --kernel must be one of strict, relaxed, got "fast"'],
    [
      ['train', '--data', 'csv:huge.csv', '--out', 'huge', '--quiet'],
      'lockstep: fit failed at step 1 (epoch 1, batch 2 of 3): the loss is NaN, first from the output of layer 0 (Linear) (-Infinity); ' +
        'no checkpoint was saved yet: check the scale of the input data, or start the run again with a lower learning rate or gradient clipping, e.g. --lr 0.005 --clip-norm 1',
    ],
    [['train', '--config', 'missing.json'], 'lockstep: cannot read the config file missing.json: ENOENT; check the path given to --config'],
    [['train', '--config', 'bad-config.json'], "lockstep: bad-config.json is not valid JSON: Expected ',' or '}' after property value in JSON at position 12"],
    [['train', '--config', 'unknown-config.json'], 'lockstep: unknown-config.json: "epochz" is not a setting; remove it or correct its name (lockstep train --help lists the settings)'],
    [['train', '--data', 'mnist'], 'lockstep: --data must be default, fashion-mnist, idx:DIR, csv:FILE or images:DIR, got "mnist"'],
    [['train', '--data', `idx:${idxDir}`], 'lockstep: train-images-idx3-ubyte.gz: truncated IDX file: header promises 7840 bytes of uint8 data, found 100; re-download or re-install the data set'],
    [['train', '--data', 'csv:ragged.csv'], 'lockstep: ragged.csv: Invalid Record Length: expect 3, got 2 on line 3'],
    [['eval', '--checkpoint', 'missing.lockstep'], 'lockstep: cannot read the checkpoint missing.lockstep: ENOENT; check the path'],
    [['train', '--out', '/proc/lockstep-cannot-write'], 'lockstep: cannot create the output folder /proc/lockstep-cannot-write: ENOENT; choose another --out'],
    [['train', '--out', 'rows.csv/run'], 'lockstep: cannot create the output folder rows.csv/run: ENOTDIR; choose another --out'],
    ...['0', '-1', '1.5', 'abc'].map((k) => [
      ['eval', '--checkpoint', 'mc/checkpoint.lockstep', '--mc-samples', k],
      `lockstep: --mc-samples must be an integer from 1 to 100000, got "${k}"`,
    ]),
    [['eval', '--checkpoint', 'mc/checkpoint.lockstep', '--seed', '3'], 'lockstep: --seed only applies with --mc-samples; add --mc-samples K'],
    [['eval', '--checkpoint', 'mc/checkpoint.lockstep', '--out', 'x'], 'lockstep: --out only applies with --mc-samples; add --mc-samples K'],
    [['eval', '--checkpoint', 'mc/checkpoint.lockstep', '--overwrite'], 'lockstep: --overwrite only applies with --mc-samples; add --mc-samples K'],
    [['eval', '--checkpoint', 'mc/checkpoint.lockstep', '--mc-samples', '3', '--out', '/proc/lockstep-cannot-write'], 'lockstep: cannot create the output folder /proc/lockstep-cannot-write: ENOENT; choose another --out'],
  ])('%j', (args, message) => {
    const { status, stdout, stderr } = lockstep(args);
    expect(stderr).toBe(`${message}\n`);
    expect(status).not.toBe(0);
    expect(stdout).toBe('');
  });

  it('a truncated, a bit-flipped, a foreign and a future checkpoint, and one from a different model', () => {
    const truncated = damaged('truncated.lockstep', (b) => b.subarray(0, b.length - 100));
    const flipped = damaged('flipped.lockstep', (b) => {
      const copy = Buffer.from(b);
      copy[copy.length - 1000] ^= 0x10;
      return copy;
    });
    const future = damaged('future.lockstep', (b) => {
      const copy = Buffer.from(b);
      copy.writeUInt32LE(9, 8);
      return copy;
    });
    copyFileSync(join(work, 'rows.csv'), join(work, 'foreign.lockstep'));
    expect(lockstep(['train', '--config', 'no-dropout-config.json', '--out', 'plain', '--quiet']).status).toBe(0);
    const size = readFileSync(join(work, 'w1', 'checkpoint.lockstep')).length;
    const cases: Array<[string[], string]> = [
      [['eval', '--checkpoint', truncated], `lockstep: truncated.lockstep is truncated or has extra bytes: the header promises ${size} bytes, the file has ${size - 100}`],
      [['eval', '--checkpoint', flipped], 'lockstep: flipped.lockstep is corrupted: its checksum does not match; use an earlier checkpoint'],
      [['eval', '--checkpoint', 'foreign.lockstep'], 'lockstep: foreign.lockstep is not a lockstep checkpoint (no "LOCKSTEP" header)'],
      [['eval', '--checkpoint', future], 'lockstep: future.lockstep has checkpoint format 9; this lockstep reads format 1, upgrade lockstep'],
      [['train', '--resume', 'w1/checkpoint.lockstep', '--config', 'wide-config.json'], 'lockstep: hidden cannot change when resuming: w1/checkpoint.lockstep was trained with hidden [256,256]'],
      [['eval', '--checkpoint', 'plain/checkpoint.lockstep', '--mc-samples', '5'], 'lockstep: plain/checkpoint.lockstep has no dropout layers with p > 0, so --mc-samples has nothing to sample; leave out --mc-samples'],
      [['predict', '--checkpoint', 'plain/checkpoint.lockstep', '--input', 'rows.csv', '--mc-samples', '5'], 'lockstep: plain/checkpoint.lockstep has no dropout layers with p > 0, so --mc-samples has nothing to sample; leave out --mc-samples'],
    ];
    for (const [args, message] of cases) {
      const { status, stderr } = lockstep(args);
      expect(stderr).toBe(`${message}\n`);
      expect(status).toBe(1);
    }
    expect(existsSync(join(work, 'w1', 'checkpoint.lockstep.tmp-'))).toBe(false);
    expect(loadCheckpoint(join(work, 'w1', 'checkpoint.lockstep')).state.epoch).toBe(2);
  });

  it('--help and --version', () => {
    const help = lockstep(['train', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('lockstep train --resume runs/a/checkpoint.lockstep --epochs 6');
    expect(lockstep(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
