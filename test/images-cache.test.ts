import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockstepError } from '@lockstep/core';
import { checkConfig, DEFAULT_CONFIG, loadCheckpoint, type RunConfig } from '@lockstep/cli';
import type { ImageReader } from '../packages/cli/src/data/images/reader.js';
import { loadRunData, runData } from '../packages/cli/src/data/run-data.js';
import { fingerprintOf, lockstep, startLockstep } from './helpers/lockstep.js';

// Image data that does not fit in memory: the samples a run trains on are the same bits whatever the
// cache holds (all of them, some, none) and whichever thread decodes them; training, resuming and eval
// end on the same numbers; a file that changes during a run stops it with one line naming the file.
const TOOL = fileURLToPath(new URL('../tools/data/fashion-mnist-png.mjs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lockstep-image-cache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (args: string[], env: Record<string, string> = {}) => lockstep(args, work, env);

// 500 training images of 784 float32 values (3,136 bytes): 1 MiB caches the first 334 of them and none of the test split.
const CONFIG = {
  data: 'images:fashion',
  imageChannels: 1,
  imageNormalize: 'train',
  layers: [{ type: 'conv2d', out: 4, kernelSize: 3, padding: 1 }, { type: 'relu' }, { type: 'max-pool2d', kernelSize: 2 }, { type: 'flatten' }, { type: 'dropout', p: 0.2 }, { type: 'linear', out: 10 }],
  augment: { cropPadding: 2, flip: true },
  batchSize: 50,
  chunkSize: 10,
  epochs: 2,
  validationSplit: 0.1,
};
const config = (cacheMb?: number): RunConfig => checkConfig({ ...DEFAULT_CONFIG, ...CONFIG, data: `images:${join(work, 'fashion')}`, ...(cacheMb === undefined ? {} : { cacheMb }) }, 'test');
/** A training file past the 334 a 1 MiB cache holds: the last class folder's first file. */
const uncachedFile = (): string => {
  const folder = join(work, 'fashion/train/9_Ankle_boot');
  return join(folder, readdirSync(folder).sort()[0]!);
};

beforeAll(() => {
  execFileSync(process.execPath, [TOOL, '--out', join(work, 'fashion'), '--count', '500']);
  writeFileSync(join(work, 'cnn.json'), JSON.stringify(CONFIG));
});

describe('streamed image samples', () => {
  it('equal the in-memory reader\'s bit for bit with the whole tree cached, 1 MiB and none; with the same split, normalization and fingerprint', async () => {
    const reference = runData(config());
    const bytesOf = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);
    for (const cacheMb of [1024, 1, 0]) {
      const streamed = await loadRunData(config(cacheMb), { threads: 2 });
      expect([streamed.fingerprint, streamed.imageData], `--cache-mb ${cacheMb}`).toEqual([reference.fingerprint, reference.imageData]);
      for (const [name, set, expected] of [['train', streamed.train, reference.train], ['validation', streamed.validation!, reference.validation!], ['test', streamed.test!, reference.test!]] as const) {
        expect(set.streamed, name).not.toBeNull();
        expect(bytesOf(set.gatherRows(0, set.size)).equals(bytesOf(expected.inputs)), `${name}, --cache-mb ${cacheMb}`).toBe(true);
        expect([...(set.targets as { labels: Int32Array }).labels]).toEqual([...(expected.targets as { labels: Int32Array }).labels]);
      }
      expect(streamed.cacheNote === undefined, `--cache-mb ${cacheMb}`).toBe(cacheMb === 1024);
    }
    expect((await loadRunData(config(1), { threads: 1 })).cacheNote).toBe(
      'note: the image cache (1 MiB, --cache-mb) holds 334 of the 500 training images; the others are read and decoded again each epoch, on the worker threads',
    );
  });

  it('stop with one line naming a file that changed, vanished or no longer decodes after the first pass', async () => {
    const file = uncachedFile();
    const original = readFileSync(file);
    // A whole second, so that a file rewritten with the same time keeps what the pass recorded to the bit.
    const time = new Date('2020-01-01T00:00:00Z');
    utimesSync(file, time, time);
    const data = await loadRunData(config(0), { threads: 2 });
    // The training samples are a selection (the validation split left out) of the reader's, which are the split's files.
    const { reader, rows } = data.train.streamed! as unknown as { reader: ImageReader; rows: Uint32Array };
    const index = [...rows].findIndex((row) => reader.pathOf(row) === file);
    expect(index).toBeGreaterThanOrEqual(0);
    const read = (): string => {
      try {
        data.train.readSample(index, new Float32Array(784));
        return 'read';
      } catch (error) {
        expect(error).toBeInstanceOf(LockstepError);
        expect((error as LockstepError).code).toBe('E_DATA');
        return (error as Error).message;
      }
    };
    expect(read()).toBe('read');
    const fix = "restore it and resume from the run's last checkpoint (--resume), or start the run again to train on the data as it is now";
    try {
      // The same size and time, other bytes: it no longer decodes (the data's CRC fails).
      const damaged = Buffer.from(original);
      damaged[damaged.length - 20] ^= 0xff;
      writeFileSync(file, damaged);
      utimesSync(file, time, time);
      expect(read()).toMatch(new RegExp(`^${file} is corrupt[^;]*, and it read well when the run started; ${fix.replace(/[()]/g, '\\$&')}$`));
      writeFileSync(file, original);
      appendFileSync(file, 'more');
      expect(read()).toMatch(new RegExp(`^${file} changed since the run read it when it started \\(${original.length} bytes, modified \\S+Z; now ${original.length + 4} bytes, modified \\S+Z\\); ${fix.replace(/[()]/g, '\\$&')}$`));
      renameSync(file, `${file}.gone`);
      expect(read()).toBe(`${file} is gone (ENOENT), and the run read it when it started; ${fix}`);
    } finally {
      rmSync(`${file}.gone`, { force: true });
      writeFileSync(file, original);
    }
  });
});

describe('training on a tree the cache does not hold', () => {
  let straight = '';

  it('ends on the fully cached run\'s bits with 1 MiB and with no cache, at 1 and 2 workers; eval on either prints the same', () => {
    const train = (out: string, args: string[]) => {
      const result = run(['train', '--config', 'cnn.json', '--out', out, '--quiet', ...args]);
      expect(result.stderr, args.join(' ')).toBe('');
      return fingerprintOf(result.stdout);
    };
    straight = train('full-1', ['--workers', '1']);
    expect(train('full-2', ['--workers', '2'])).toBe(straight);
    expect(train('small-1', ['--workers', '1', '--cache-mb', '1'])).toBe(straight);
    expect(train('small-2', ['--workers', '2', '--cache-mb', '1'])).toBe(straight);
    expect(train('none-2', ['--workers', '2', '--cache-mb', '0'])).toBe(straight);
    // The budget is recorded, and is no part of the data's identity.
    expect(JSON.parse(readFileSync(join(work, 'small-2/config.json'), 'utf8')).cacheMb).toBe(1);
    expect(JSON.parse(readFileSync(join(work, 'full-2/config.json'), 'utf8')).cacheMb).toBeUndefined();
    expect(loadCheckpoint(join(work, 'small-2/checkpoint.lockstep')).dataFingerprint).toBe(loadCheckpoint(join(work, 'full-2/checkpoint.lockstep')).dataFingerprint);
    // eval reads the test split with the run's budget: decoded one at a time, or cached.
    const evaluate = (folder: string) => run(['eval', '--checkpoint', `${folder}/checkpoint.lockstep`, '--workers', '2', '--json']);
    const cached = evaluate('full-2');
    expect(cached.stderr).toBe('');
    expect(evaluate('none-2').stdout).toBe(cached.stdout);
  });

  it('resumes on the same bits: after epoch 1 with another budget, and stopped mid-epoch by Ctrl-C', async () => {
    expect(run(['train', '--config', 'cnn.json', '--epochs', '1', '--cache-mb', '1', '--workers', '2', '--out', 'half', '--quiet']).status).toBe(0);
    const resumed = run(['train', '--resume', 'half/checkpoint.lockstep', '--epochs', '2', '--cache-mb', '0', '--workers', '1', '--quiet']);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(straight);

    // Every step saves, slowly: Ctrl-C once the first checkpoint is there stops a few steps into epoch 1.
    const args = ['train', '--config', 'cnn.json', '--cache-mb', '1', '--workers', '2', '--checkpoint-every', '1', '--out', 'stopped', '--quiet'];
    const stopped = startLockstep(args, work, { LOCKSTEP_TEST_SLOW_WRITES_MS: '150' });
    const checkpoint = join(work, 'stopped', 'checkpoint.lockstep');
    while (!existsSync(checkpoint)) await new Promise((resolve) => setTimeout(resolve, 20));
    stopped.child.kill('SIGINT');
    expect((await stopped.exited).code).toBe(130);
    expect(loadCheckpoint(checkpoint).state.batch).toBeGreaterThan(0);
    const again = run(['train', '--resume', 'stopped/checkpoint.lockstep', '--workers', '2']);
    expect(again.stderr).toBe('');
    expect(fingerprintOf(again.stdout)).toBe(straight);
  });

  it('stops with one line naming a training file that changed during the run', async () => {
    const file = uncachedFile();
    const original = readFileSync(file);
    const backup = join(work, 'original.png');
    copyFileSync(file, backup);
    const training = startLockstep(['train', '--config', 'cnn.json', '--cache-mb', '0', '--epochs', '1000', '--workers', '2', '--out', 'changed'], work);
    let stdout = '';
    let stderr = '';
    training.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    training.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      while (!/^epoch 1\//m.test(stdout)) await new Promise((resolve) => setTimeout(resolve, 20));
      appendFileSync(file, 'more');
      expect((await training.exited).code).toBe(1);
    } finally {
      if (training.child.exitCode === null) training.child.kill('SIGKILL');
      writeFileSync(file, original);
    }
    // The data is images:fashion, so the line names the file by that path.
    const named = file.slice(work.length + 1).replace(/\./g, '\\.');
    expect(stderr).toMatch(
      new RegExp(`^lockstep: fit failed at step \\d+ \\(epoch \\d+, batch \\d+ of 9\\): ${named} changed since the run read it when it started \\(${original.length} bytes, modified \\S+; now ${original.length + 4} bytes, modified \\S+\\); restore it and resume from the run's last checkpoint \\(--resume\\), or start the run again to train on the data as it is now\\n$`),
    );
    expect(readFileSync(backup).equals(readFileSync(file))).toBe(true);
  });
});

describe('--cache-mb', () => {
  it('takes a whole number of MiB from 0; a bad value, or one for data that are not images, is one line', () => {
    writeFileSync(join(work, 'text.json'), JSON.stringify({ ...CONFIG, cacheMb: '64' }));
    const cases: Array<[string[], string]> = [
      [['--config', 'cnn.json', '--cache-mb', '-1'], 'lockstep: --cache-mb must be a whole number of MiB from 0 to 1048576 (0: decode every image each epoch), got "-1"'],
      [['--config', 'cnn.json', '--cache-mb', '1.5'], 'lockstep: --cache-mb must be a whole number of MiB from 0 to 1048576 (0: decode every image each epoch), got "1.5"'],
      [['--config', 'cnn.json', '--cache-mb', 'lots'], 'lockstep: --cache-mb must be a whole number of MiB from 0 to 1048576 (0: decode every image each epoch), got "lots"'],
      [['--config', 'cnn.json', '--cache-mb', '2000000'], 'lockstep: --cache-mb must be a whole number of MiB from 0 to 1048576 (0: decode every image each epoch), got "2000000"'],
      [['--config', 'text.json'], 'lockstep: text.json: "cacheMb" must be a whole number of MiB from 0 to 1048576 (0: decode every image each epoch), got "64"; write it as 64'],
      [['--cache-mb', '64'], 'lockstep: --cache-mb 64 only applies to images:DIR data, and the data is default; leave it out'],
    ];
    for (const [args, line] of cases) {
      const result = run(['train', ...args, '--out', 'refused']);
      expect(result.stderr, args.join(' ')).toBe(`${line}\n`);
      expect(result.status).toBe(1);
      expect(existsSync(join(work, 'refused'))).toBe(false);
    }
  });
});
