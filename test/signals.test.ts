import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldInString, rootKey, uniformAt } from '@lockstep/core';
import { fingerprintOf, lockstep, numericMetrics, startLockstep } from './helpers/lockstep.js';
import { printed } from './helpers/pid-namespace.js';

// SIGTERM (how orchestrators stop a job) and SIGHUP (a closed terminal) stop a run the way Ctrl-C
// does. Runs save after every step and pause 10 ms inside each checkpoint write, so a run of 71 steps
// lasts over 700 ms after its first checkpoint and the signals, sent at most 400 ms after it, often
// come while it saves.
const work = mkdtempSync(join(tmpdir(), 'lockstep-signals-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [32], epochs: 1 }));
const straightRun = ['train', '--config', 'small.json', '--workers', '1'];
const train = [...straightRun, '--checkpoint-every', '1'];
const SLOW_WRITES = { LOCKSTEP_TEST_SLOW_WRITES_MS: '10' };

/** What follows the SIGTERM: nothing, a second SIGTERM, or an impatient Ctrl-C, which exits at once. */
const AFTERWARDS = [null, 'SIGTERM', 'SIGINT'] as const;
const key = foldInString(rootKey(17), 'sigterm-moments');
const moments = Array.from({ length: 10 }, (_, i) => ({ delayMs: Math.round(400 * uniformAt(key, i)), then: AFTERWARDS[i % 3]! }));

let uninterrupted = '';
let uninterruptedMetrics: Array<Record<string, unknown>> = [];
beforeAll(() => {
  const run = lockstep([...straightRun, '--out', 'straight', '--quiet'], work);
  uninterrupted = fingerprintOf(run.stdout);
  uninterruptedMetrics = numericMetrics(readFileSync(join(work, 'straight', 'metrics.jsonl'), 'utf8'));
});

const leftovers = (folder: string): string[] => readdirSync(folder).filter((name) => name.includes('.tmp-') || name === 'lockstep.lock');

/** Resolves once `folder` holds a checkpoint. */
async function firstCheckpoint(folder: string): Promise<void> {
  while (!existsSync(join(folder, 'checkpoint.lockstep'))) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('SIGTERM and SIGHUP stop a run like Ctrl-C', () => {
  it.each(moments.map((moment, i) => [i, moment] as const))('SIGTERM at moment %i %j: exit 143, nothing left behind, and the resume ends on the uninterrupted fingerprint', async (i, moment) => {
    const out = `stopped-${i}`;
    const run = startLockstep([...train, '--out', out], work, SLOW_WRITES);
    let stdout = '';
    run.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await firstCheckpoint(join(work, out));
    await new Promise((resolve) => setTimeout(resolve, moment.delayMs));
    run.child.kill('SIGTERM');
    if (moment.then !== null) setTimeout(() => run.child.kill(moment.then!), 2);
    // A Ctrl-C pending together with the SIGTERM is delivered first (lower signal numbers go first), and then it is the stop.
    expect(await run.exited).toEqual({ code: moment.then === 'SIGINT' ? expect.toBeOneOf([143, 130]) : 143, signal: null });
    if (moment.then !== 'SIGINT') expect(stdout).toMatch(new RegExp(`^interrupted after step \\d+ \\(epoch \\d, batch \\d+\\); resume with: lockstep train --resume ${out}/checkpoint\\.lockstep$`, 'm'));
    expect(leftovers(join(work, out))).toEqual([]);

    // Checkpoints at every step would only slow the rest down; how often a run saves does not change its numbers.
    const resumed = lockstep(['train', '--resume', `${out}/checkpoint.lockstep`, '--checkpoint-every', '1000', '--quiet'], work);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(uninterrupted);
    expect(numericMetrics(readFileSync(join(work, out, 'metrics.jsonl'), 'utf8'))).toEqual(uninterruptedMetrics);
    expect(leftovers(join(work, out))).toEqual([]);
  });

  it('SIGHUP saves and exits 129', async () => {
    const run = startLockstep([...train, '--out', 'hangup'], work, SLOW_WRITES);
    let stdout = '';
    run.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await firstCheckpoint(join(work, 'hangup'));
    run.child.kill('SIGHUP');
    expect(await run.exited).toEqual({ code: 129, signal: null });
    expect(stdout).toMatch(/^interrupted after step \d+ \(epoch \d, batch \d+\); resume with: lockstep train --resume hangup\/checkpoint\.lockstep$/m);
    expect(leftovers(join(work, 'hangup'))).toEqual([]);
  });
});

describe('compare: the same stop and the same lock as train', () => {
  const compare = ['compare', '--dropout', '0,0.5', '--hidden', '32', '--workers', '1'];

  it('a second compare into the same --out is refused with one line; the first stops on SIGTERM with 143 and frees the folder', async () => {
    const first = startLockstep([...compare, '--epochs', '1000', '--out', 'both', '--json'], work);
    await printed(first.child, '"event":"info"');
    const second = lockstep([...compare, '--epochs', '1', '--out', 'both'], work);
    expect(second.stderr).toBe(
      `lockstep: both is in use by another lockstep compare (pid ${first.child.pid}, lock file both/lockstep.lock); wait for it to end or choose another --out\n`,
    );
    expect(second.status).toBe(1);
    expect(second.stdout).toBe('');

    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(143);
    expect(JSON.parse(readFileSync(join(work, 'both', 'compare.json'), 'utf8'))).toMatchObject({ interrupted: true });
    expect(leftovers(join(work, 'both'))).toEqual([]);
  });
});
