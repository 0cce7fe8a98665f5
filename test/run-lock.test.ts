import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprintOf, lockstep, startLockstep } from './helpers/lockstep.js';
import { lockText } from './helpers/pid-namespace.js';

const work = mkdtempSync(join(tmpdir(), 'lockstep-lock-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [32], epochs: 2 }));
const train = ['train', '--config', 'small.json', '--workers', '1'];

/** The pid of a process that has ended (and been reaped), so no process has it for now. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

describe('one run per folder', () => {
  it('a second run into a busy folder is refused with one line; once the first ends, the folder is free', async () => {
    const first = startLockstep([...train, '--epochs', '1000', '--out', 'busy', '--json'], work);
    let output = '';
    const training = new Promise<void>((resolve) => first.child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"event":"info"')) resolve();
    }));
    await training;
    const second = lockstep([...train, '--out', 'busy'], work);
    expect(second.stderr).toBe(
      `lockstep: busy is in use by another lockstep train (pid ${first.child.pid}, lock file busy/lockstep.lock); wait for it to end or choose another --out\n`,
    );
    expect(second.status).toBe(1);
    expect(second.stdout).toBe('');

    first.child.kill('SIGINT');
    expect((await first.exited).code).toBe(130);
    expect(existsSync(join(work, 'busy', 'lockstep.lock'))).toBe(false);
    // The interrupted run left its checkpoint, so a new run replaces it on purpose.
    const third = lockstep([...train, '--out', 'busy', '--overwrite', '--quiet'], work);
    expect(third.stderr).toBe('');
    expect(third.status).toBe(0);
    expect(existsSync(join(work, 'busy', 'lockstep.lock'))).toBe(false);
  });

  it('a lock left by a dead process is taken over with a note, and the run is the same as in a fresh folder', () => {
    const fresh = fingerprintOf(lockstep([...train, '--out', 'fresh', '--quiet'], work).stdout);
    mkdirSync(join(work, 'stale'));
    const pid = deadPid();
    writeFileSync(join(work, 'stale', 'lockstep.lock'), lockText('train', pid));
    const run = lockstep([...train, '--out', 'stale'], work);
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(`note: took over the lock of stale from a run that is no longer running (pid ${pid})`);
    expect(fingerprintOf(run.stdout)).toBe(fresh);
    expect(existsSync(join(work, 'stale', 'lockstep.lock'))).toBe(false);
  });

  it('an empty lock (locks appear whole, so a crash or a full disk cut it short) is taken over too', () => {
    mkdirSync(join(work, 'empty'));
    writeFileSync(join(work, 'empty', 'lockstep.lock'), '');
    const run = lockstep([...train, '--epochs', '1', '--out', 'empty'], work);
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('note: took over the lock of empty from a run that is no longer running');
  });

  it('a run that fails still frees the folder', () => {
    // Features near float32's largest value: the loss overflows at step 1, with the folder locked.
    writeFileSync(join(work, 'huge.csv'), ['a,b,label', ...Array.from({ length: 200 }, (_, i) => `${((i * 7919) % 200) / 100 - 1}e38,${(i % 13) / 13},${i % 2}`)].join('\n'));
    const failed = lockstep([...train, '--out', 'failed', '--data', 'csv:huge.csv'], work);
    expect(failed.stderr).toBe(
      'lockstep: fit failed at step 1 (epoch 1, batch 2 of 3): the loss is NaN, first from the output of layer 0 (Linear) (Infinity); ' +
        'no checkpoint was saved yet: check the scale of the input data, or start the run again with a lower learning rate or gradient clipping, e.g. --lr 0.005 --clip-norm 1\n',
    );
    expect(failed.status).toBe(1);
    // Its config.json goes with it too, having no checkpoint to go with.
    expect(readdirSync(join(work, 'failed'))).toEqual([]);
  });
});
