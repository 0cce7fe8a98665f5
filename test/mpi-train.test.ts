import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '@lockstep/cli';
import { mpiAvailable } from '@lockstep/mpi';
import { MPIRUN_OPTIONS, MPIRUN_ENV } from '../packages/mpi/test/mpirun.js';
import { writeIdxImages } from './helpers/images.js';
import { BIN, fingerprintOf, lockstep, type Finished } from './helpers/lockstep.js';
import { RANK_SHAPES } from './helpers/rank-shapes.js';

// 112 samples a batch in chunks of 16: 7 chunks a step, neither a power of two nor a multiple of 2,
// 3 or 4 ranks, so the ranks' aligned blocks are uneven and some ranks have none.
const shape = ['--batch-size', '112', '--chunk-size', '16', '--quiet'];
const common = ['--epochs', '2', ...shape];
const work = mkdtempSync(join(tmpdir(), 'lockstep-mpi-'));
const SHAPES_TOOL = fileURLToPath(new URL('../tools/data/colour-shapes.mjs', import.meta.url));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `mpirun -np ranks node lockstep ...args` in `work`; `:`-separated programs when `args` holds several, each with its own `env` if given. */
function mpirunLockstep(programs: Array<{ ranks: number; args: string[]; env?: Record<string, string> }>): Finished {
  const command = programs.flatMap(({ ranks, args, env = {} }, i) => [
    ...(i === 0 ? [] : [':']),
    '-np',
    String(ranks),
    ...(Object.keys(env).length === 0 ? [] : ['env', ...Object.entries(env).map(([name, value]) => `${name}=${value}`)]),
    process.execPath,
    BIN,
    ...args,
  ]);
  const result = spawnSync('mpirun', [...MPIRUN_OPTIONS, ...command], { cwd: work, env: { ...process.env, ...MPIRUN_ENV }, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!mpiAvailable())('mpirun -np N lockstep train: one run across ranks, the same bits', () => {
  let single = '';
  let singleCnn = '';
  const cnnLayers = JSON.parse(readFileSync(new URL('../examples/configs/cnn.json', import.meta.url), 'utf8')).layers;
  const cnn = ['--config', 'cnn.json', '--epochs', '1', '--batch-size', '112', '--chunk-size', '16', '--quiet'];

  beforeAll(() => {
    single = fingerprintOf(lockstep(['train', ...common, '--workers', '2', '--out', 'single'], work).stdout);
    writeIdxImages(join(work, 'images'), 400);
    writeFileSync(join(work, 'cnn.json'), JSON.stringify({ data: 'idx:images', layers: cnnLayers }));
    singleCnn = fingerprintOf(lockstep(['train', ...cnn, '--workers', '1', '--out', 'single-cnn'], work).stdout);
  });

  it.each(RANK_SHAPES)('%i rank(s) x %i worker(s), the default MLP: the fingerprint of one process, printed once, and only rank 0 writes the run folder', (ranks, workers) => {
    const out = `mlp-${ranks}x${workers}`;
    const run = mpirunLockstep([{ ranks, args: ['train', ...common, '--workers', String(workers), '--out', out] }]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`fingerprint ${single}\n`);
    expect(readdirSync(join(work, out)).sort()).toEqual(['checkpoint.lockstep', 'config.json', 'curves.html', 'curves.svg', 'metrics.jsonl']);
    expect(JSON.parse(readFileSync(join(work, out, 'config.json'), 'utf8'))).toMatchObject({ ranks, workers });
  });

  it.each([[2], [3]])('%i ranks, the CNN of examples/configs/cnn.json on images: the fingerprint of one process', (ranks) => {
    const run = mpirunLockstep([{ ranks, args: ['train', ...cnn, '--workers', '1', '--out', `cnn-${ranks}`] }]);
    expect(run.stderr).toBe('');
    expect(fingerprintOf(run.stdout)).toBe(singleCnn);
  });

  it('2 ranks on an images:DIR tree (PNG files, augmented, no cache: every image decoded on the workers each epoch): the fingerprint of one process', () => {
    execFileSync(process.execPath, [SHAPES_TOOL, '--out', join(work, 'png-tree'), '--count', '48', '--size', '16']);
    const args = ['train', '--data', 'images:png-tree', '--augment', 'cropPadding=2,flip', '--cache-mb', '0', ...common];
    const alone = lockstep([...args, '--workers', '2', '--out', 'png-alone'], work);
    expect(alone.stderr).toBe('');
    const run = mpirunLockstep([{ ranks: 2, args: [...args, '--workers', '1', '--out', 'png-2'] }]);
    expect(run.stderr).toBe('');
    expect(fingerprintOf(run.stdout)).toBe(fingerprintOf(alone.stdout));
  });

  it('a rank started with another config stops the job before anything is written, with one line on every rank', () => {
    const run = mpirunLockstep([
      { ranks: 1, args: ['train', ...common, '--out', 'mixed'] },
      { ranks: 1, args: ['train', ...common, '--out', 'mixed', '--lr', '0.1'] },
    ]);
    const line = 'lockstep: rank 1 runs another config, model, data or checkpoint than rank 0 (of 2 ranks); start every rank with the same command, files and data';
    expect(run.stderr.split('\n').filter((l) => l === line)).toHaveLength(2);
    expect(run.status).not.toBe(0);
    expect(existsSync(join(work, 'mixed'))).toBe(false);
  });

  it('a rank resuming a copy of the checkpoint with other weights (the same config and step) stops the job before anything is written, with one line on every rank', () => {
    expect(lockstep(['train', '--epochs', '1', ...shape, '--out', 'copy-a'], work).status).toBe(0);
    const checkpoint = loadCheckpoint(join(work, 'copy-a', 'checkpoint.lockstep'));
    const params = checkpoint.params.slice();
    params[0]! += 1;
    mkdirSync(join(work, 'copy-b'));
    saveCheckpoint(join(work, 'copy-b', 'checkpoint.lockstep'), { ...checkpoint, params });
    const resume = (folder: string) => ({ ranks: 1, args: ['train', ...common, '--resume', `${folder}/checkpoint.lockstep`, '--out', 'copies'] });
    const run = mpirunLockstep([resume('copy-a'), resume('copy-b')]);
    const line = 'lockstep: rank 1 runs another config, model, data or checkpoint than rank 0 (of 2 ranks); start every rank with the same command, files and data';
    expect(run.stderr.split('\n').filter((l) => l.startsWith('lockstep:'))).toEqual([line, line]);
    expect(run.status).not.toBe(0);
    expect(existsSync(join(work, 'copies'))).toBe(false);
  });

  it('--retries across ranks: one note from rank 0 that it is off and why, and the run trains to the bits of one process', () => {
    const run = mpirunLockstep([{ ranks: 2, args: ['train', '--epochs', '2', '--batch-size', '112', '--chunk-size', '16', '--retries', '2', '--out', 'retries'] }]);
    expect(run.stderr).toBe('');
    expect(run.stdout.split('\n').filter((line) => line.startsWith('note:'))).toEqual([
      'note: --retries is off across ranks: one rank cannot restart its workers while the others wait for it, so a worker failure ends the job; resume from the last checkpoint instead',
    ]);
    expect(fingerprintOf(run.stdout)).toBe(single);
  });

  it('a run stopped on 3 ranks resumes on 2 ranks and on one process to the same bits', () => {
    const first = mpirunLockstep([{ ranks: 3, args: ['train', '--epochs', '1', ...shape, '--out', 'grow'] }]);
    expect(first.status).toBe(0);
    const onTwo = mpirunLockstep([{ ranks: 2, args: ['train', ...common, '--resume', 'grow/checkpoint.lockstep', '--out', 'grow-2'] }]);
    expect(onTwo.stderr).toBe('');
    expect(fingerprintOf(onTwo.stdout)).toBe(single);
    const alone = lockstep(['train', ...common, '--resume', 'grow/checkpoint.lockstep', '--out', 'grow-1'], work);
    expect(fingerprintOf(alone.stdout)).toBe(single);
  });
});

describe.skipIf(!mpiAvailable())('a rank that dies ends the job', () => {
  // Long enough that every seeded moment falls inside the run, with room for faster kernels: 8 epochs
  // take about 1.4 s in one process; the last moment comes 630 ms after the first checkpoint.
  const longer = ['--epochs', '8', ...shape];
  let uninterrupted = '';
  beforeAll(() => {
    uninterrupted = fingerprintOf(lockstep(['train', ...longer, '--out', 'dies-straight'], work).stdout);
  });

  /** The pid of rank `rank` among mpirun's children: the one whose environment names that rank. */
  function rankPid(mpirun: number, rank: number): number | null {
    for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const parent = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1];
        if (Number(parent) !== mpirun) continue;
        if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(entry);
      } catch {
        // The process ended while we looked.
      }
    }
    return null;
  }

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  // Seeded moments: milliseconds after the first checkpoint, and which of ranks 1 and 2 dies.
  const moments = [0, 90, 260, 410, 630].map((delay, i) => ({ delay, rank: 1 + (i % 2), resumeOn: [1, 2, 3, 2, 1][i]! }));

  it.each(moments)('SIGKILL to rank $rank $delay ms after the first checkpoint: one line from rank 0 names the rank, the step and the whole checkpoint, the job ends within 10 s, and resuming on $resumeOn rank(s) ends on the uninterrupted bits', async ({ delay, rank, resumeOn }) => {
    const out = `dies-${delay}`;
    const args = ['train', ...longer, '--checkpoint-every', '5', '--out', out];
    const job = spawn('mpirun', [...MPIRUN_OPTIONS, '-np', '3', process.execPath, BIN, ...args], { cwd: work, env: { ...process.env, ...MPIRUN_ENV } });
    let stderr = '';
    job.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = new Promise<void>((resolve) => job.on('close', () => resolve()));
    const checkpoint = join(work, out, 'checkpoint.lockstep');
    while (!existsSync(checkpoint)) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, delay));
    const ranks = [0, 1, 2].map((r) => rankPid(job.pid!, r));
    expect(ranks.every((pid) => pid !== null), 'every rank was found').toBe(true);
    process.kill(ranks[rank]!, 'SIGKILL');
    const killed = performance.now();
    await ended;
    // The job has ended when mpirun and every rank have: no rank hangs in a collective.
    while (ranks.some((pid) => alive(pid!))) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(performance.now() - killed).toBeLessThan(10_000);

    // One line of lockstep's own (beside mpirun's), from rank 0: the rank, the step rank 0 was in, and
    // the checkpoint on disk, which is whole and at most 4 steps older (one is saved every 5).
    const said = stderr.split('\n').filter((line) => line.startsWith('lockstep:'));
    expect(said, stderr).toHaveLength(1);
    const line = said[0]!.match(
      new RegExp(
        `^lockstep: rank ${rank} of 3 ended during step (\\d+) without a word \\(killed by a signal or for lack of memory, or its host was lost\\); the job ends; ` +
          `the last checkpoint \\(step (\\d+)\\) is whole; resume it on any number of ranks \\(mpirun -np N\\) or in one process with: lockstep train --resume ${out}/checkpoint\\.lockstep$`,
      ),
    );
    expect(line, said[0]).not.toBeNull();
    const [during, saved] = [Number(line![1]), Number(line![2])];
    expect(loadCheckpoint(checkpoint).state.step).toBe(saved);
    expect(saved).toBeLessThanOrEqual(during);
    expect(during - saved).toBeLessThan(5);
    expect(existsSync(join(work, out, 'lockstep.lock'))).toBe(false);

    const resumeArgs = ['train', ...longer, '--resume', `${out}/checkpoint.lockstep`];
    const resumed = resumeOn === 1 ? lockstep(resumeArgs, work) : mpirunLockstep([{ ranks: resumeOn, args: resumeArgs }]);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(uninterrupted);
  });
});

describe.skipIf(!mpiAvailable())("a rank whose own training fails ends the job", () => {
  // The env-fault layer of the worker-death tests, armed on one rank only: its worker throws at step
  // 17, while the other ranks go on to that step's exchange and would wait there for it.
  const faulty = fileURLToPath(new URL('./fixtures/layers/faulty.mjs', import.meta.url));
  beforeAll(() => {
    const layers = [{ type: 'linear', out: 32 }, { type: 'env-fault' }, { type: 'relu' }, { type: 'linear', out: 10 }];
    writeFileSync(join(work, 'faulty.json'), JSON.stringify({ modules: [faulty], layers }));
  });

  // Rank 2 has no chunks in this shape (7 chunks in blocks of 4), so its workers never run the layer.
  it.each([1, 0])('a worker of rank %i throws during step 17: one line from rank 0 naming the rank, the step and the cause, exit 1, the checkpoint of step 15 whole, no lock left', (rank) => {
    const out = `fails-${rank}`;
    const args = ['train', '--config', 'faulty.json', '--epochs', '2', ...shape, '--workers', '1', '--checkpoint-every', '5', '--out', out];
    const run = mpirunLockstep([0, 1, 2].map((r) => ({ ranks: 1, args, ...(r === rank ? { env: { LOCKSTEP_TEST_FAULT: 'throw@17' } } : {}) })));
    expect(run.stderr.split('\n').filter((line) => line.startsWith('lockstep:'))).toEqual([
      `lockstep: rank ${rank} of 3 failed during step 17: fit failed at step 17 (epoch 1, batch 18 of 41): a worker failed: injected failure in layer 1 at step 17; ` +
        'the worker pool is closed; the job ends; the last checkpoint (step 15) is whole; resume it on any number of ranks (mpirun -np N) or in one process with: ' +
        `lockstep train --resume ${out}/checkpoint.lockstep --modules ${faulty}`,
    ]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(loadCheckpoint(join(work, out, 'checkpoint.lockstep')).state.step).toBe(15);
    expect(existsSync(join(work, out, 'lockstep.lock'))).toBe(false);
  });
});

describe.skipIf(!mpiAvailable())('rank 0 lost: rank 1 says how to go on', () => {
  // The env-fault layer armed on rank 0 only, to SIGKILL its whole process at a step: rank 1 waits in
  // that step's exchange (or, if its main thread lags, has not yet counted the step before).
  const faulty = fileURLToPath(new URL('./fixtures/layers/faulty.mjs', import.meta.url));
  beforeAll(() => {
    const layers = [{ type: 'linear', out: 32 }, { type: 'env-fault' }, { type: 'relu' }, { type: 'linear', out: 10 }];
    writeFileSync(join(work, 'lost.json'), JSON.stringify({ modules: [faulty], layers }));
  });
  const lost = (step: string): string => `^lockstep: rank 0 of 2 ended during step ${step} without a word \\(killed by a signal or for lack of memory, or its host was lost\\); the job ends; `;

  // 41 steps an epoch, and a checkpoint at each epoch's end (the default).
  it.each([
    [3, '(2|3)', 'no checkpoint was saved yet; start the run again$'],
    [45, '(44|45)', `rank 0 saved the checkpoints: resume from its last on any number of ranks \\(mpirun -np N\\) or in one process with: lockstep train --resume lost-45/checkpoint\\.lockstep --modules ${faulty}$`],
  ])('killed during step %i: one line from rank 1 naming the step and the way on, exit non-zero', (step, during, advice) => {
    const out = `lost-${step}`;
    const args = ['train', '--config', 'lost.json', '--epochs', '2', ...shape, '--workers', '1', '--out', out];
    const run = mpirunLockstep([{ ranks: 1, args, env: { LOCKSTEP_TEST_FAULT: `kill@${step}` } }, { ranks: 1, args }]);
    const said = run.stderr.split('\n').filter((line) => line.startsWith('lockstep:'));
    expect(said, run.stderr).toHaveLength(1);
    expect(said[0]).toMatch(new RegExp(lost(during) + advice));
    expect(run.status).not.toBe(0);
    expect(existsSync(join(work, out, 'checkpoint.lockstep'))).toBe(step > 41);
  });
});

describe.skipIf(!mpiAvailable())('SIGTERM to mpirun, as a cluster scheduler sends it', () => {
  it('every rank stops after the same step, rank 0 saves and says how to resume, and the resume on another count of ranks ends on the uninterrupted bits', async () => {
    // Long enough to be running when the ranks get mpirun's SIGTERM, which comes a grace period after
    // mpirun's own (odls_base_sigkill_timeout, 3 s here); SIGKILL follows after another. 12 epochs
    // (2.7 s in one process) once ended before the ranks heard of it; 30 take about 7 s.
    const longer = ['--epochs', '30', ...shape];
    const uninterrupted = fingerprintOf(lockstep(['train', ...longer, '--out', 'term-straight'], work).stdout);
    const job = spawn('mpirun', [...MPIRUN_OPTIONS, '--mca', 'odls_base_sigkill_timeout', '3', '-np', '3', process.execPath, BIN, 'train', ...longer, '--checkpoint-every', '5', '--out', 'term'], {
      cwd: work,
      env: { ...process.env, ...MPIRUN_ENV },
    });
    let stdout = '';
    job.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const ended = new Promise<number | null>((resolve) => job.on('exit', (code) => resolve(code)));
    while (!existsSync(join(work, 'term', 'checkpoint.lockstep'))) await new Promise((resolve) => setTimeout(resolve, 20));
    job.kill('SIGTERM');
    await ended;
    const line = stdout.match(/^interrupted after step (\d+) \(epoch (\d+), batch (\d+)\); resume with: lockstep train --resume term\/checkpoint\.lockstep$/m);
    expect(line, stdout).not.toBeNull();
    const saved = loadCheckpoint(join(work, 'term', 'checkpoint.lockstep')).state;
    expect(saved).toMatchObject({ step: Number(line![1]), epoch: Number(line![2]) - 1, batch: Number(line![3]) });
    expect(existsSync(join(work, 'term', 'lockstep.lock'))).toBe(false);
    const resumed = mpirunLockstep([{ ranks: 2, args: ['train', ...longer, '--resume', 'term/checkpoint.lockstep'] }]);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(uninterrupted);
  });
});
