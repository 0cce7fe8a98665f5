import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';
import { fingerprintOf, lockstep, startLockstep } from './helpers/lockstep.js';

// A finished 3-epoch run in keep/, and what a new run may do to it.
const work = mkdtempSync(join(tmpdir(), 'lockstep-overwrite-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [32] }));
const train = ['train', '--config', 'small.json', '--workers', '1', '--quiet'];
const refusal = (folder: string): string =>
  `lockstep: ${folder} already holds a run's checkpoint; continue that run with --resume ${folder}/checkpoint.lockstep, replace it with --overwrite, or choose another --out\n`;

const filesRefusal = (folder: string, file: string): string =>
  `lockstep: ${folder} already holds ${file}, which a run writes; replace it with --overwrite, or choose another --out\n`;

/** Every file of a folder with its bytes. */
const contents = (folder: string): Record<string, string> =>
  Object.fromEntries(readdirSync(join(work, folder)).sort().map((name) => [name, readFileSync(join(work, folder, name), 'base64')]));

let threeEpochs = '';
beforeAll(() => {
  threeEpochs = fingerprintOf(lockstep([...train, '--epochs', '3', '--out', 'keep'], work).stdout);
});

describe('a run folder that holds a checkpoint', () => {
  it('refuses a new run with one line naming both ways out, exit 1, before anything is written', () => {
    const before = contents('keep');
    const run = lockstep([...train, '--epochs', '1', '--out', 'keep'], work);
    expect(run.stderr).toBe(refusal('keep'));
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(contents('keep')).toEqual(before);
    expect(loadCheckpoint(join(work, 'keep', 'checkpoint.lockstep')).state.epoch).toBe(3);
  });

  it('refuses a run resumed from another folder\'s checkpoint too, since it would replace this one', () => {
    expect(lockstep([...train, '--epochs', '1', '--out', 'other'], work).status).toBe(0);
    const before = contents('keep');
    const run = lockstep(['train', '--resume', 'other/checkpoint.lockstep', '--epochs', '2', '--out', 'keep', '--quiet'], work);
    expect(run.stderr).toBe(refusal('keep'));
    expect(run.status).toBe(1);
    expect(contents('keep')).toEqual(before);
  });

  it('takes the run that --resume continues from it', () => {
    const resumed = lockstep(['train', '--resume', 'other/checkpoint.lockstep', '--epochs', '2', '--quiet'], work);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect(loadCheckpoint(join(work, 'other', 'checkpoint.lockstep')).state.epoch).toBe(2);
  });

  it('--overwrite: the new run is the one a fresh folder gets, and none of the old run\'s files are left', () => {
    const fresh = fingerprintOf(lockstep([...train, '--epochs', '1', '--out', 'fresh'], work).stdout);
    expect(fresh).not.toBe(threeEpochs);
    writeFileSync(join(work, 'keep', 'calibration.json'), '{}');
    writeFileSync(join(work, 'keep', 'notes.txt'), 'mine');
    const run = lockstep([...train, '--epochs', '1', '--out', 'keep', '--overwrite'], work);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(fingerprintOf(run.stdout)).toBe(fresh);
    expect(readdirSync(join(work, 'keep')).sort()).toEqual(['checkpoint.lockstep', 'config.json', 'curves.html', 'curves.svg', 'metrics.jsonl', 'notes.txt']);
    expect(readFileSync(join(work, 'keep', 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(join(work, 'keep', 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('--overwrite killed before its first checkpoint leaves no checkpoint of the old run beside the new run\'s config', async () => {
    expect(lockstep([...train, '--epochs', '3', '--out', 'crashed'], work).status).toBe(0);
    const run = startLockstep(['train', '--config', 'small.json', '--workers', '1', '--epochs', '5', '--out', 'crashed', '--overwrite', '--json'], work);
    // The first line is printed once the folder is ready, before the first step.
    run.child.stdout!.once('data', () => run.child.kill('SIGKILL'));
    expect((await run.exited).signal).toBe('SIGKILL');
    expect(existsSync(join(work, 'crashed', 'checkpoint.lockstep'))).toBe(false);
    expect(existsSync(join(work, 'crashed', 'metrics.jsonl'))).toBe(false);
    expect(JSON.parse(readFileSync(join(work, 'crashed', 'config.json'), 'utf8')).epochs).toBe(5);
    // Its config.json may as well be a file of the user's: a new run takes the folder only with --overwrite.
    expect(lockstep([...train, '--epochs', '1', '--out', 'crashed'], work).stderr).toBe(filesRefusal('crashed', 'config.json'));
    expect(lockstep([...train, '--epochs', '1', '--out', 'crashed', '--overwrite'], work).status).toBe(0);
  });
});

describe('a folder without a checkpoint', () => {
  /** A folder holding `files` (name -> text), made afresh. */
  const folder = (name: string, files: Record<string, string>): string => {
    rmSync(join(work, name), { recursive: true, force: true });
    mkdirSync(join(work, name));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(work, name, file), text);
    return name;
  };

  it.each(['config.json', 'metrics.jsonl', 'curves.svg', 'curves.html', 'skipped-images.txt', 'calibration.json', 'best.lockstep'])(
    'holding %s: one line naming it, exit 1, and not a byte of the folder changes',
    (name) => {
      const out = folder(`held-${name}`, { [name]: 'mine\n', 'notes.txt': 'mine too\n' });
      const before = contents(out);
      const run = lockstep([...train, '--epochs', '1', '--out', out], work);
      expect(run.stderr).toBe(filesRefusal(out, name));
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('');
      expect(contents(out)).toEqual(before);
    },
  );

  it('names the first file a run writes, in the order --overwrite deletes them', () => {
    const out = folder('held-several', { 'curves.svg': '<svg/>', 'metrics.jsonl': '{}\n', 'config.json': '{}' });
    expect(lockstep([...train, '--epochs', '1', '--out', out], work).stderr).toBe(filesRefusal(out, 'config.json'));
  });

  it('refuses a run resumed from another folder\'s checkpoint into it too', () => {
    const out = folder('held-resumed', { 'metrics.jsonl': 'mine\n' });
    const before = contents(out);
    const run = lockstep(['train', '--resume', 'keep/checkpoint.lockstep', '--epochs', '4', '--out', out, '--quiet'], work);
    expect(run.stderr).toBe(filesRefusal(out, 'metrics.jsonl'));
    expect(run.status).toBe(1);
    expect(contents(out)).toEqual(before);
  });

  it('holding only files a run never writes: the run goes on as in an empty folder, and they stay; a killed write\'s temporary file goes', () => {
    const out = folder('others', { 'notes.txt': 'mine\n', 'config.yaml': 'mine: 1\n', 'notes.txt.tmp-123': 'mine too\n', 'metrics.jsonl.tmp-123': '{}\n' });
    const run = lockstep([...train, '--epochs', '1', '--out', out], work);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(readdirSync(join(work, out)).sort()).toEqual(['checkpoint.lockstep', 'config.json', 'config.yaml', 'curves.html', 'curves.svg', 'metrics.jsonl', 'notes.txt', 'notes.txt.tmp-123']);
    expect(readFileSync(join(work, out, 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(readFileSync(join(work, out, 'notes.txt.tmp-123'), 'utf8')).toBe('mine too\n');
  });

  it('--overwrite: the run\'s files are replaced and the others stay', () => {
    const out = folder('held-overwritten', { 'config.json': 'mine\n', 'reliability.svg': '<svg/>', 'notes.txt': 'mine\n' });
    const run = lockstep([...train, '--epochs', '1', '--out', out, '--overwrite'], work);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(readdirSync(join(work, out)).sort()).toEqual(['checkpoint.lockstep', 'config.json', 'curves.html', 'curves.svg', 'metrics.jsonl', 'notes.txt']);
    expect(JSON.parse(readFileSync(join(work, out, 'config.json'), 'utf8')).epochs).toBe(1);
  });
});

describe('settings that cannot train are refused before the folder changes', () => {
  writeFileSync(join(work, 'out3.json'), JSON.stringify({ layers: [{ type: 'linear', out: 3 }] }));
  writeFileSync(join(work, 'huge.json'), JSON.stringify({ hidden: [16000, 16000] }));
  const cases: Array<[string, string]> = [
    ['out3.json', 'data: 10 classes but the model has 3 outputs'],
    [
      'huge.json',
      'the model has 258240010 parameters (985 MiB of float32), too many to train with batch 64, chunkSize 32 and 1 worker: ' +
        "its parameters, optimizer state, 2 chunk gradients and the workers' kernel buffers must fit in one 4 GiB WebAssembly memory; " +
        'use smaller layers or chunkSize 64 (one chunk gradient instead of 2)',
    ],
  ];

  it.each(cases)('--overwrite with %s: one line, exit 1, and the old run is left whole', (config, message) => {
    const out = `guarded-${config}`;
    expect(lockstep([...train, '--epochs', '1', '--out', out], work).status).toBe(0);
    const before = contents(out);
    const run = lockstep(['train', '--config', config, '--epochs', '1', '--workers', '1', '--out', out, '--overwrite', '--quiet'], work);
    expect(run.stderr).toBe(`lockstep: ${message}\n`);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(contents(out)).toEqual(before);
  });

  it.each(cases)('a new run with %s: one line, exit 1, and no folder', (config, message) => {
    const run = lockstep(['train', '--config', config, '--epochs', '1', '--workers', '1', '--out', `new-${config}`], work);
    expect(run.stderr).toBe(`lockstep: ${message}\n`);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(existsSync(join(work, `new-${config}`))).toBe(false);
  });
});
