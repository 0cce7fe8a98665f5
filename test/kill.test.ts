import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldInString, rootKey, uniformAt } from '@lockstep/core';
import { loadCheckpoint } from '@lockstep/cli';
import { fingerprintOf, lockstep, numericMetrics, startLockstep } from './helpers/lockstep.js';

// kill -9 at seeded moments of a run that saves a checkpoint after every step, then resume. One kill
// comes as training starts; the others come a random time after the first checkpoint, in runs that
// pause inside each checkpoint write (between the temporary file and the rename): 40 ms, so most of
// those kills land mid-write, or 10 ms, so they land anywhere in a step.
const work = mkdtempSync(join(tmpdir(), 'lockstep-kill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [32], epochs: 2 }));
const train = ['train', '--config', 'small.json', '--workers', '1', '--checkpoint-every', '1'];
const STEPS = 142;

const key = foldInString(rootKey(8), 'kill-moments');
interface Moment {
  readonly after: 'start' | 'first checkpoint';
  readonly delayMs: number;
  readonly pauseMs: number;
}
const moments: Moment[] = [
  { after: 'start', delayMs: Math.round(100 * uniformAt(key, 0)), pauseMs: 10 },
  ...Array.from({ length: 6 }, (_, i): Moment => ({ after: 'first checkpoint', delayMs: Math.round(1200 * uniformAt(key, i + 1)), pauseMs: i % 2 === 0 ? 40 : 10 })),
];

let uninterrupted = '';
let uninterruptedMetrics: Array<Record<string, unknown>> = [];
beforeAll(() => {
  const run = lockstep([...train, '--out', 'straight', '--quiet'], work);
  uninterrupted = fingerprintOf(run.stdout);
  uninterruptedMetrics = numericMetrics(readFileSync(join(work, 'straight', 'metrics.jsonl'), 'utf8'));
});

/** Starts a run, kills it with SIGKILL at `moment`, and waits for it to die. */
async function killedRun(out: string, moment: Moment): Promise<NodeJS.Signals | null> {
  const run = startLockstep([...train, '--out', out, '--json'], work, { LOCKSTEP_TEST_SLOW_WRITES_MS: String(moment.pauseMs) });
  const kill = (): void => void setTimeout(() => run.child.kill('SIGKILL'), moment.delayMs);
  if (moment.after === 'start') {
    run.child.stdout!.once('data', kill);
  } else {
    const checkpoint = join(work, out, 'checkpoint.lockstep');
    const poll = setInterval(() => {
      if (!existsSync(checkpoint)) return;
      clearInterval(poll);
      kill();
    }, 5);
    void run.exited.then(() => clearInterval(poll));
  }
  return (await run.exited).signal;
}

const temporaries = (folder: string): string[] => readdirSync(folder).filter((name) => /\.tmp-\d+$/.test(name));

describe('kill -9 at any moment', () => {
  const outcomes: Array<Moment & { savedStep: number | null; leftTemporary: boolean }> = [];

  it.each(moments.map((moment, i) => [i, moment] as const))('moment %i %j: the checkpoint loads and the resumed run is bit-identical', async (i, moment) => {
    const out = `killed-${i}`;
    expect(await killedRun(out, moment)).toBe('SIGKILL');
    const folder = join(work, out);
    const checkpointPath = join(folder, 'checkpoint.lockstep');
    const saved = existsSync(checkpointPath) ? loadCheckpoint(checkpointPath).state : null;
    if (saved !== null) expect(saved.step).toBeLessThan(STEPS);
    outcomes.push({ ...moment, savedStep: saved?.step ?? null, leftTemporary: temporaries(folder).length > 0 });

    // Killed before its first checkpoint, the run leaves its config.json, which a new run replaces only with --overwrite.
    const resumed = lockstep(saved === null ? [...train, '--out', out, '--overwrite', '--quiet'] : ['train', '--resume', `${out}/checkpoint.lockstep`, '--quiet'], work);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(uninterrupted);
    expect(numericMetrics(readFileSync(join(folder, 'metrics.jsonl'), 'utf8'))).toEqual(uninterruptedMetrics);
    expect(temporaries(folder)).toEqual([]);
    expect(existsSync(join(folder, 'lockstep.lock'))).toBe(false);
  });

  it('some kills landed inside a checkpoint write', () => {
    console.log(`kill moments: ${JSON.stringify(outcomes)}`);
    expect(outcomes).toHaveLength(moments.length);
    expect(outcomes.some((o) => o.leftTemporary)).toBe(true);
  });
});
