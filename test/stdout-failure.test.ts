import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';
import { BIN, fingerprintOf, lockstep, type Finished } from './helpers/lockstep.js';

// A run whose output can no longer be written stops as Ctrl-C stops it: after the current step, with a
// checkpoint, one line on stderr saying how to go on, and exit 1; resuming ends on the uninterrupted bits.
const work = mkdtempSync(join(tmpdir(), 'lockstep-stdout-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const train = ['train', '--epochs', '3'];
let straight = '';
beforeAll(() => {
  straight = fingerprintOf(lockstep([...train, '--out', 'straight', '--quiet'], work).stdout);
});

/** Runs `lockstep args` through bash with `redirect` after it (a pipe or a `>`); the status is lockstep's. */
function lockstepInShell(args: string[], redirect: string): Finished {
  const script = `"$0" "$@" ${redirect}; exit \${PIPESTATUS[0]}`;
  const result = spawnSync('bash', ['-c', script, process.execPath, BIN, ...args], { cwd: work, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Checks the one stderr line of a run stopped by its output, and that the checkpoint it names resumes to the uninterrupted bits. */
function expectStoppedAndResumable(run: Finished, out: string, reason: string): number {
  const match = run.stderr.match(/^lockstep: (.+), so training stopped after step (\d+) \(epoch (\d+), batch (\d+)\); resume with: lockstep train --resume (\S+)\n$/);
  expect(match, run.stderr).not.toBeNull();
  const [, said, step, epoch, batch, path] = match!;
  expect(said).toBe(reason);
  expect(path).toBe(`${out}/checkpoint.lockstep`);
  expect(run.status).toBe(1);
  const saved = loadCheckpoint(join(work, path!)).state;
  expect(saved).toMatchObject({ step: Number(step), epoch: Number(epoch) - 1, batch: Number(batch) });
  expect(saved.epoch).toBeLessThan(3);
  const resumed = lockstep(['train', '--resume', path!, '--quiet'], work);
  expect(resumed.stderr).toBe('');
  expect(fingerprintOf(resumed.stdout)).toBe(straight);
  return saved.step;
}

describe('a run whose stdout fails', () => {
  it('train | head -1: the first line shows, then the run stops at the next line with a checkpoint, exit 1, and resumes to the same bits', () => {
    const run = lockstepInShell([...train, '--out', 'piped'], '| head -1');
    expect(run.stdout).toMatch(/^training 7 layers \(101386 parameters\) on 4500 samples \(500 for validation\) with \d+ workers?; run folder piped\n$/);
    // The epoch 1 line is the first write after head has gone: it fails at epoch 1's end, or later on a loaded machine.
    expect(expectStoppedAndResumable(run, 'piped', 'stdout was closed (EPIPE)')).toBeGreaterThan(71);
    expect(readFileSync(join(work, 'piped', 'metrics.jsonl'), 'utf8')).not.toBe('');
  });

  it.skipIf(!existsSync('/dev/full'))('train > /dev/full: stops at once with a checkpoint, exit 1, and resumes to the same bits', () => {
    const run = lockstepInShell([...train, '--out', 'full'], '> /dev/full');
    expect(expectStoppedAndResumable(run, 'full', 'cannot write to stdout (ENOSPC)')).toBeLessThan(71);
  });

  it('train --quiet | head -1 prints nothing until the result, so the run finishes', () => {
    const run = lockstepInShell([...train, '--out', 'quiet', '--quiet'], '| head -1');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(fingerprintOf(run.stdout)).toBe(straight);
  });

  it.skipIf(!existsSync('/dev/full'))('eval > /dev/full: one line, exit 1, no stack trace', () => {
    const run = lockstepInShell(['eval', '--checkpoint', 'straight/checkpoint.lockstep'], '> /dev/full');
    expect(run.stderr).toBe('lockstep: cannot write to stdout (ENOSPC); check where the output goes\n');
    expect(run.status).toBe(1);
  });

  it.skipIf(!existsSync('/dev/full'))('compare > /dev/full: stops with what it finished saved, one line, exit 1, the folder free', () => {
    const run = lockstepInShell(['compare', '--dropout', '0,0.5', '--epochs', '2', '--hidden', '32', '--out', 'compared'], '> /dev/full');
    expect(run.stderr).toMatch(
      /^lockstep: cannot write to stdout \(ENOSPC\), so compare stopped: interrupted before dropout 0 finished; compared\/compare\.json holds 0 finished rates( and [01] of 2 epochs of dropout 0)?\n$/,
    );
    expect(run.status).toBe(1);
    expect(JSON.parse(readFileSync(join(work, 'compared', 'compare.json'), 'utf8'))).toMatchObject({ interrupted: true });
    expect(existsSync(join(work, 'compared', 'lockstep.lock'))).toBe(false);
  });
});
