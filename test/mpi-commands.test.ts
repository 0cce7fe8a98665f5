import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mpiAvailable } from '@lockstep/mpi';
import { MPIRUN_ENV, MPIRUN_OPTIONS } from '../packages/mpi/test/mpirun.js';
import { BIN, lockstep, type Finished } from './helpers/lockstep.js';

// eval, predict and compare across ranks print and write what one process does, byte for byte. Rank 0
// runs in its own folder and the other ranks in another, each holding the same checkpoint and rows,
// so the files that appear show which ranks wrote (rank 0 alone must).

const work = mkdtempSync(join(tmpdir(), 'lockstep-mpi-commands-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const ALONE = join(work, 'alone');
const RANK0 = join(work, 'rank0');
const OTHERS = join(work, 'others');
const INPUTS = ['checkpoint.lockstep', 'rows.csv'];

/** `mpirun`: rank 0 in RANK0, ranks 1 .. ranks - 1 in OTHERS; `otherArgs` for those if given. */
function mpirunLockstep(ranks: number, args: string[], otherArgs = args): Finished {
  const program = (dir: string, count: number, programArgs: string[]): string[] => ['-np', String(count), '-wdir', dir, process.execPath, BIN, ...programArgs];
  const command = [...MPIRUN_OPTIONS, ...program(RANK0, 1, args), ':', ...program(OTHERS, ranks - 1, otherArgs)];
  const result = spawnSync('mpirun', command, { env: { ...process.env, ...MPIRUN_ENV }, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every file under `dir`, with its bytes, by path. */
function filesOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const visit = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) visit(path);
      else files[relative(dir, path)] = readFileSync(path, 'latin1');
    }
  };
  visit(dir);
  return files;
}

/** 600 rows of the default data's 128 features: blocks of 256, 256 and 88, split 2 + 1 by 2 ranks and 1 + 1 + 1 by 3. */
function rowsCsv(): string {
  const header = Array.from({ length: 128 }, (_, i) => `x${i}`).join(',');
  const rows = Array.from({ length: 600 }, (_, r) => Array.from({ length: 128 }, (_, i) => (((r * 37 + i * 11) % 101) / 25 - 2).toFixed(2)).join(','));
  return `${header}\n${rows.join('\n')}\n`;
}

const mc = ['--mc-samples', '4', '--seed', '3'];
// The built-in data's test set has 1,000 rows (4 blocks: 2 + 2 on 2 ranks, 2 + 2 + 0 on 3).
const RUNS: Record<string, string[]> = {
  eval: ['eval', '--checkpoint', 'checkpoint.lockstep'],
  'eval --mc-samples': ['eval', '--checkpoint', 'checkpoint.lockstep', ...mc, '--out', 'calibration'],
  'eval --mc-samples --json': ['eval', '--checkpoint', 'checkpoint.lockstep', ...mc, '--out', 'calibration', '--json'],
  'predict --format json': ['predict', '--checkpoint', 'checkpoint.lockstep', '--input', 'rows.csv'],
  'predict --mc-samples --format csv': ['predict', '--checkpoint', 'checkpoint.lockstep', '--input', 'rows.csv', ...mc, '--format', 'csv'],
};
// Every run on 2 ranks; the others on 3 ranks and on 2 ranks of 2 workers, whose threads share each rank's blocks.
const SHAPES: Array<[name: string, ranks: number, workers: number]> = [
  ...Object.keys(RUNS).map((name): [string, number, number] => [name, 2, 1]),
  ['eval --mc-samples --json', 3, 1],
  ['predict --mc-samples --format csv', 3, 1],
  ['eval', 2, 2],
  ['predict --mc-samples --format csv', 2, 2],
];

describe.skipIf(!mpiAvailable())('mpirun -np N lockstep eval, predict and compare: what one process prints and writes', () => {
  const alone: Record<string, { stdout: string; files: Record<string, string> }> = {};

  beforeAll(() => {
    for (const dir of [ALONE, RANK0, OTHERS]) mkdirSync(dir);
    writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [32] }));
    const trained = lockstep(['train', '--config', 'small.json', '--epochs', '1', '--dropout', '0.2', '--quiet', '--out', 'run'], work);
    expect(trained.status, trained.stderr).toBe(0);
    writeFileSync(join(work, 'rows.csv'), rowsCsv());
    for (const dir of [ALONE, RANK0, OTHERS]) {
      copyFileSync(join(work, 'run', 'checkpoint.lockstep'), join(dir, 'checkpoint.lockstep'));
      copyFileSync(join(work, 'rows.csv'), join(dir, 'rows.csv'));
    }
    for (const [name, args] of Object.entries(RUNS)) {
      const run = lockstep([...args, '--workers', '1'], ALONE);
      expect(run.stderr).toBe('');
      alone[name] = { stdout: run.stdout, files: filesOf(ALONE) };
      rmSync(join(ALONE, 'calibration'), { recursive: true, force: true });
    }
  });

  it.each(SHAPES)('%s on %i ranks x %i worker(s): the stdout and files of one process; only rank 0 writes', (name, ranks, workers) => {
    const run = mpirunLockstep(ranks, [...RUNS[name]!, '--workers', String(workers)]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(alone[name]!.stdout);
    expect(filesOf(RANK0)).toEqual(alone[name]!.files);
    expect(readdirSync(OTHERS).sort()).toEqual(INPUTS);
    rmSync(join(RANK0, 'calibration'), { recursive: true, force: true });
  });

  it('a rank given another --seed is refused before any pass, with one line on every rank', () => {
    const args = RUNS['eval --mc-samples']!;
    const run = mpirunLockstep(3, args, [...args, '--seed', '4']);
    const line = 'lockstep: ranks 1, 2 run another checkpoint, data or flags than rank 0 (of 3 ranks); start every rank with the same command, files and data';
    expect(run.stderr.split('\n').filter((l) => l === line)).toHaveLength(3);
    expect(run.status).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(existsSync(join(RANK0, 'calibration'))).toBe(false);
  });

  describe('compare', () => {
    // 2 rates of 2 epochs on a small MLP; batches of 112 in chunks of 16 (7 chunks a step), which 2 and 3 ranks split unevenly.
    const args = ['compare', '--dropout', '0,0.5', '--epochs', '2', '--hidden', '16', '--batch-size', '112', '--chunk-size', '16', '--out', 'comparison'];
    // What depends on the clock, and each rate's config.json's count of the ranks that trained it.
    const TIMINGS = ['seconds', 'samplesPerSecond', 'ranks'];
    /** What depends on the clock: samples/s and seconds in the lines, the fields of TIMINGS in the files. */
    const untimed = (stdout: string): string => stdout.replace(/\d+ samples\/s \| \d+\.\d s$/gm, '- samples/s | - s').replace(/ in \d+ min \d+ s;/, ' in - min - s;');
    const untimedFiles = (files: Record<string, string>): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(files).map(([path, text]) => {
          const parse = (json: string): unknown => JSON.parse(json, (key, value) => (TIMINGS.includes(key) ? undefined : value));
          if (path.endsWith('.json')) return [path, parse(text)];
          if (path.endsWith('.jsonl')) return [path, text.trim().split('\n').map(parse)];
          return [path, text];
        }),
      );
    let single: { stdout: string; files: Record<string, string> };

    // The same --workers in one process: compare.json and the first line say how many workers a rank ran.
    beforeAll(() => {
      const run = lockstep([...args, '--workers', '2'], ALONE);
      expect(run.stderr).toBe('');
      single = { stdout: run.stdout, files: filesOf(join(ALONE, 'comparison')) };
    });

    it.each([
      [2, 2],
      [3, 2],
    ])('%i ranks x %i workers: the lines and files of one process but for timings; only rank 0 writes', (ranks, workers) => {
      const run = mpirunLockstep(ranks, [...args, '--workers', String(workers)]);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(untimed(run.stdout)).toBe(untimed(single.stdout));
      const files = filesOf(join(RANK0, 'comparison'));
      expect(Object.keys(files).sort()).toEqual(Object.keys(single.files).sort());
      const recordedRanks = (of: Record<string, string>): unknown[] => Object.keys(of).filter((path) => path.endsWith('config.json')).sort().map((path) => JSON.parse(of[path]!).ranks);
      expect([recordedRanks(files), recordedRanks(single.files)]).toEqual([[ranks, ranks], [1, 1]]);
      rmSync(join(RANK0, 'comparison'), { recursive: true });
      expect(untimedFiles(files)).toEqual(untimedFiles(single.files));
      expect(readdirSync(OTHERS).sort()).toEqual(INPUTS);
    });

    it('a rank given other rates is refused before anything is written, with one line on every rank', () => {
      const run = mpirunLockstep(2, args, [...args.slice(0, 2), '0,0.2', ...args.slice(3)]);
      const line = 'lockstep: rank 1 runs another config, rates, data or flags than rank 0 (of 2 ranks); start every rank with the same command, files and data';
      expect(run.stderr.split('\n').filter((l) => l === line)).toHaveLength(2);
      expect(run.status).not.toBe(0);
      expect(existsSync(join(RANK0, 'comparison'))).toBe(false);
    });
  });
});
