import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';
import { fingerprintOf, lockstep, startLockstep } from './helpers/lockstep.js';

// Ctrl-C as a person presses it: the first is answered on stderr at once, though the step it waits
// for goes on; a second exits at once, saying what is on disk. The `hold` layer holds a step (or an
// eval pass) while a gate file exists, so every signal here comes while that step is held, however
// loaded the machine is: each test waits for the layer's `.held` file or a printed line, not a time.
const work = mkdtempSync(join(tmpdir(), 'lockstep-interrupts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const hold = fileURLToPath(new URL('./fixtures/layers/hold.mjs', import.meta.url));
const gate = join(work, 'gate');
const GATED = { LOCKSTEP_TEST_HOLD: gate };
/** A small model whose training step `step` is held while the gate is there. */
const heldAt = (step: number) => ({ modules: [hold], epochs: 1, layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'hold', step }, { type: 'linear', out: 10 }] });
writeFileSync(join(work, 'first-step.json'), JSON.stringify(heldAt(1)));
writeFileSync(join(work, 'third-step.json'), JSON.stringify(heldAt(3)));

const STOPPING = 'lockstep: stopping after this step and saving a checkpoint; Ctrl-C again stops now without saving\n';

/** The commands a test started; one still running when its test ends (a failed one) is killed. */
const started: Array<ReturnType<typeof startLockstep>> = [];
afterEach(() => {
  for (const run of started.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
});

/** Resolves once `path` exists. */
async function appears(path: string): Promise<void> {
  while (!existsSync(path)) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Starts `lockstep args` with the gate closed, and collects what it prints. */
function startHeld(args: string[]) {
  writeFileSync(gate, '');
  rmSync(`${gate}.held`, { force: true });
  const run = startLockstep(args, work, GATED);
  started.push(run);
  const printed = { stdout: '', stderr: '' };
  run.child.stdout!.on('data', (chunk: Buffer) => (printed.stdout += chunk.toString()));
  run.child.stderr!.on('data', (chunk: Buffer) => (printed.stderr += chunk.toString()));
  let exited = false;
  void run.exited.then(() => (exited = true));
  /** Resolves once stderr holds `text`; fails, with what was printed, if it has not within 20 s or the command ended without it. */
  const said = async (text: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!printed.stderr.includes(text)) {
      if (exited || Date.now() > deadline) throw new Error(`no ${JSON.stringify(text)} on stderr; it holds ${JSON.stringify(printed.stderr)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { ...run, printed, said, hasExited: () => exited };
}

describe('lockstep train and Ctrl-C', () => {
  it('the first Ctrl-C is answered at once, while the step it waits for goes on; then that step is saved and the run exits 130', async () => {
    const run = startHeld(['train', '--config', 'first-step.json', '--workers', '1', '--out', 'once']);
    await appears(`${gate}.held`);
    run.child.kill('SIGINT');
    await run.said(STOPPING);
    // The held step cannot end before the gate opens: the line came while it was going on.
    expect(run.hasExited()).toBe(false);
    rmSync(gate);
    expect(await run.exited).toEqual({ code: 130, signal: null });
    expect(run.printed.stderr).toBe(STOPPING);
    expect(run.printed.stdout.trim().split('\n').pop()).toBe(`interrupted after step 1 (epoch 1, batch 1); resume with: lockstep train --resume once/checkpoint.lockstep --modules ${hold}`);
    expect(loadCheckpoint(join(work, 'once', 'checkpoint.lockstep')).state.step).toBe(1);
  });

  it('a second Ctrl-C before the first checkpoint exits 130 at once, says none was saved, and leaves the folder free for the run to start again', async () => {
    const run = startHeld(['train', '--config', 'first-step.json', '--workers', '1', '--out', 'none-saved']);
    await appears(`${gate}.held`);
    run.child.kill('SIGINT');
    await run.said(STOPPING);
    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: 130, signal: null });
    expect(run.printed.stderr).toBe(`${STOPPING}lockstep: stopped at once; no checkpoint was saved yet; start the run again\n`);
    expect(readdirSync(join(work, 'none-saved'))).toEqual([]);
    rmSync(gate);
    const again = lockstep(['train', '--config', 'first-step.json', '--workers', '1', '--out', 'none-saved', '--quiet'], work);
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
  });

  it('a second Ctrl-C after a checkpoint names it and the resume command, which ends on the fingerprint of an uninterrupted run', async () => {
    const run = startHeld(['train', '--config', 'third-step.json', '--workers', '1', '--checkpoint-every', '1', '--out', 'saved']);
    await appears(`${gate}.held`);
    run.child.kill('SIGINT');
    await run.said(STOPPING);
    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: 130, signal: null });
    const resume = `lockstep train --resume saved/checkpoint.lockstep --modules ${hold}`;
    expect(run.printed.stderr).toBe(`${STOPPING}lockstep: stopped at once; resume from step 2 with: ${resume}\n`);
    expect(loadCheckpoint(join(work, 'saved', 'checkpoint.lockstep')).state.step).toBe(2);
    expect(readdirSync(join(work, 'saved')).filter((name) => name.includes('.tmp-') || name === 'lockstep.lock')).toEqual([]);

    rmSync(gate);
    const resumed = lockstep(['train', '--resume', 'saved/checkpoint.lockstep', '--modules', hold, '--quiet'], work);
    expect(resumed.stderr).toBe('');
    const straight = lockstep(['train', '--config', 'third-step.json', '--workers', '1', '--out', 'straight', '--quiet'], work);
    expect(fingerprintOf(resumed.stdout)).toBe(fingerprintOf(straight.stdout));
  });

  it('SIGTERM is named in the line that answers it, since in a job\'s log it is the only trace of who stopped the run', async () => {
    const run = startHeld(['train', '--config', 'first-step.json', '--workers', '1', '--out', 'terminated']);
    await appears(`${gate}.held`);
    run.child.kill('SIGTERM');
    await run.said('SIGTERM');
    rmSync(gate);
    expect(await run.exited).toEqual({ code: 143, signal: null });
    expect(run.printed.stderr).toBe(`lockstep: SIGTERM: ${STOPPING.slice('lockstep: '.length)}`);
  });
});

describe('lockstep compare and Ctrl-C', () => {
  it('the first Ctrl-C is answered at once; a second exits 130 saying what compare.json holds', async () => {
    const layers = [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'dropout', p: 0.5 }, { type: 'hold', step: 7 }, { type: 'linear', out: 10 }];
    // 5 steps an epoch: step 7 is in epoch 2 of the first rate.
    writeFileSync(join(work, 'compare.json'), JSON.stringify({ modules: [hold], epochs: 2, batchSize: 1024, chunkSize: 512, layers }));
    const run = startHeld(['compare', '--config', 'compare.json', '--dropout', '0,0.5', '--workers', '1', '--out', 'compared']);
    await appears(`${gate}.held`);
    run.child.kill('SIGINT');
    const stopping = 'lockstep: stopping after this step, keeping the results of the epochs that ended; Ctrl-C again stops now\n';
    await run.said(stopping);
    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: 130, signal: null });
    expect(run.printed.stderr).toBe(`${stopping}lockstep: stopped at once; compared/compare.json holds 0 finished rates and 1 of 2 epochs of dropout 0\n`);
    const results = JSON.parse(readFileSync(join(work, 'compared', 'compare.json'), 'utf8'));
    expect(results.interrupted).toBe(true);
    expect(results.runs.map((r: { name: string; finished: boolean; epochs: unknown[] }) => [r.name, r.finished, r.epochs.length])).toEqual([['dropout 0', false, 1]]);
    rmSync(gate);
  });
});

describe('lockstep eval and Ctrl-C', () => {
  it('eval --mc-samples makes --out only once it has results to write there, so an interrupted one leaves no folder', async () => {
    writeFileSync(join(work, 'eval-held.json'), JSON.stringify({ modules: [hold], epochs: 1, layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'dropout', p: 0.5 }, { type: 'hold' }, { type: 'linear', out: 10 }] }));
    rmSync(gate, { force: true });
    expect(lockstep(['train', '--config', 'eval-held.json', '--workers', '1', '--out', 'evaluated', '--quiet'], work).status).toBe(0);
    const run = startHeld(['eval', '--checkpoint', 'evaluated/checkpoint.lockstep', '--modules', hold, '--mc-samples', '2', '--workers', '1', '--out', 'calibration/new']);
    await appears(`${gate}.held`);
    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGINT' });
    expect(existsSync(join(work, 'calibration'))).toBe(false);
    rmSync(gate);
  });
});
