import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';
import { fingerprintOf, lockstep, startLockstep } from './helpers/lockstep.js';

// A new best epoch changes two files, checkpoint.lockstep and best.lockstep, which no one rename can
// replace together. kill -9 inside that commit (every write paused between its temporary file and
// its rename), then resume: the run ends as an uninterrupted one, with the same best.lockstep.
const work = mkdtempSync(join(tmpdir(), 'lockstep-best-commit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
// Every epoch of this run is a new best, so the kills below land at epoch 2 or later, when best.lockstep exists.
const config = {
  hidden: [32],
  optimizer: 'adam',
  lr: 0.001,
  schedule: { kind: 'plateau', patience: 0, factor: 0.5 },
  earlyStopping: { patience: 2, restoreBestWeights: true },
  epochs: 4,
};
writeFileSync(join(work, 'best.json'), JSON.stringify(config));
const train = ['train', '--config', 'best.json', '--workers', '1'];

let straight = '';
let straightBest = Buffer.alloc(0);
beforeAll(() => {
  const run = lockstep([...train, '--out', 'straight', '--quiet'], work);
  expect(run.stderr).toBe('');
  straight = fingerprintOf(run.stdout);
  straightBest = readFileSync(join(work, 'straight', 'best.lockstep'));
});

const temporary = (names: string[], file: string): string | undefined => names.find((name) => name.startsWith(`${file}.tmp-`));

/**
 * Runs with every write paused 300 ms before its rename, and kills the run with SIGKILL 50 ms after
 * the folder's file names satisfy `ready` (so a temporary file seen is whole); returns those names.
 */
async function killedWhen(out: string, ready: (names: string[]) => boolean): Promise<string[]> {
  const folder = join(work, out);
  const run = startLockstep([...train, '--out', out, '--json'], work, { LOCKSTEP_TEST_SLOW_WRITES_MS: '300' });
  let seen: string[] = [];
  const poll = setInterval(() => {
    const names = existsSync(folder) ? readdirSync(folder) : [];
    if (!names.includes('checkpoint.lockstep') || !ready(names)) return;
    clearInterval(poll);
    seen = names;
    setTimeout(() => run.child.kill('SIGKILL'), 50);
  }, 5);
  const { signal } = await run.exited;
  clearInterval(poll);
  expect(signal).toBe('SIGKILL');
  return seen;
}

const epochs = (out: string): { named: number; best: number; staged: number | null } => {
  const folder = join(work, out);
  const staged = join(folder, 'best.next.lockstep');
  return {
    named: loadCheckpoint(join(folder, 'checkpoint.lockstep')).state.earlyStopping!.bestEpoch,
    best: loadCheckpoint(join(folder, 'best.lockstep')).state.epoch,
    staged: existsSync(staged) ? loadCheckpoint(staged).state.epoch : null,
  };
};

function resumesAsUninterrupted(out: string): void {
  const resumed = lockstep(['train', '--resume', `${out}/checkpoint.lockstep`, '--quiet'], work);
  expect(resumed.stderr).toBe('');
  expect(resumed.status).toBe(0);
  expect(fingerprintOf(resumed.stdout)).toBe(straight);
  expect(readFileSync(join(work, out, 'best.lockstep')).equals(straightBest)).toBe(true);
  expect(readdirSync(join(work, out)).filter((name) => name.startsWith('best.next') || /\.tmp-\d+$/.test(name))).toEqual([]);
}

describe('kill -9 while a new best epoch is committed, then --resume', () => {
  it('while the new best is staged: the checkpoint and best.lockstep still agree on the earlier best', async () => {
    const names = await killedWhen('staging', (n) => temporary(n, 'best.next.lockstep') !== undefined);
    expect(temporary(names, 'best.next.lockstep')).toBeDefined();
    const { named, best } = epochs('staging');
    expect(best).toBe(named);
    resumesAsUninterrupted('staging');
  });

  it('while the checkpoint naming it is written: the staged best is left over, and removed', async () => {
    const names = await killedWhen('checkpointing', (n) => n.includes('best.next.lockstep') && temporary(n, 'checkpoint.lockstep') !== undefined);
    expect(temporary(names, 'checkpoint.lockstep')).toBeDefined();
    const { named, best, staged } = epochs('checkpointing');
    expect(best).toBe(named);
    expect(staged).toBe(named + 1);
    resumesAsUninterrupted('checkpointing');
  });

  it('after the checkpoint naming it, before the rename: the commit is finished on resume', async () => {
    const names = await killedWhen('renaming', (n) => n.includes('best.next.lockstep') && temporary(n, 'checkpoint.lockstep') !== undefined);
    // The checkpoint's own rename, which the kill came just after.
    renameSync(join(work, 'renaming', temporary(names, 'checkpoint.lockstep')!), join(work, 'renaming', 'checkpoint.lockstep'));
    const { named, best, staged } = epochs('renaming');
    expect(staged).toBe(named);
    expect(best).toBe(named - 1);
    resumesAsUninterrupted('renaming');
  });
});
