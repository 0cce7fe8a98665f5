import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchedByMpirun, mpiAvailable, mpiWorld, MPI_THREAD_MULTIPLE } from '@lockstep/mpi';
import { mpirun, MPIRUN_ENV, MPIRUN_OPTIONS } from './mpirun.js';
import { hex, pattern } from './scripts/pattern.mjs';

const script = (name: string) => new URL(`./scripts/${name}`, import.meta.url);
const INSTALL = 'apt-get install openmpi-bin libopenmpi-dev';

describe('@lockstep/mpi without mpirun', () => {
  it('launchedByMpirun() is false in a process mpirun did not start', () => {
    expect(launchedByMpirun()).toBe(false);
  });

  it.skipIf(mpiAvailable())('mpiWorld() on a machine without the addon is one E_WORKER line that says how to install Open MPI', () => {
    expect(() => mpiWorld()).toThrow(expect.objectContaining({ code: 'E_WORKER', message: expect.stringMatching(/^@lockstep\/mpi: the Open MPI addon does not load \(.*\); apt-get install openmpi-bin libopenmpi-dev, then pnpm build$/) }));
  });

  // Says in the report why the tests below did not run.
  if (!mpiAvailable()) it.skip(`skipped: Open MPI is not installed (${INSTALL})`);
});

describe.skipIf(!mpiAvailable())('@lockstep/mpi under mpirun (Open MPI)', () => {
  it('a worker thread that asks for the world before the main thread initialized MPI gets one line saying to', () => {
    const run = spawnSync(process.execPath, [fileURLToPath(script('worker-first.mjs'))], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      name: 'LockstepError',
      code: 'E_WORKER',
      message: '@lockstep/mpi: MPI is not initialized in this process; call mpiWorld() in the main thread before any worker does',
    });
  });

  it('world.abort(3) on one rank ends every rank, and mpirun exits 3', () => {
    const run = mpirun(2, script('ends.mjs'), ['abort']);
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(3);
  });

  it('a rank that dies (uncaught error, no MPI_Finalize) ends the job instead of leaving the others waiting', () => {
    const run = mpirun(2, script('ends.mjs'), ['throw']);
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('rank 1 fails');
  });

  it("world.exitNow(3) ends a rank whose worker thread waits in a collective that never completes, after its 'exit' listeners, and mpirun ends the job", () => {
    const folder = mkdtempSync(join(tmpdir(), 'lockstep-mpi-'));
    try {
      const started = performance.now();
      const run = mpirun(2, script('exit-now.mjs'), [folder]);
      expect(run.error).toBeUndefined();
      expect(run.status).toBe(3);
      // Rank 1 would sleep for a minute: mpirun ended it when rank 0 left.
      expect(performance.now() - started).toBeLessThan(20_000);
      expect(readFileSync(join(folder, 'exit-listener.txt'), 'utf8')).toBe('exit listener saw code 3');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  // What lockstep cannot learn from signals (docs/design.md, "When a rank stops"): the survivors of a
  // dead rank and the ranks of a job whose mpirun got SIGTERM see the same SIGCONT, then SIGTERM one
  // odls_base_sigkill_timeout (1 s) later, then SIGKILL; neither names a rank.
  it.each(['a rank dies', 'mpirun gets SIGTERM'])('when %s, the other ranks get SIGCONT at once and SIGTERM about 1 s later, nothing else', async (what) => {
    const folder = mkdtempSync(join(tmpdir(), 'lockstep-mpi-'));
    try {
      const die = what === 'a rank dies';
      const args = [...MPIRUN_OPTIONS, '--mca', 'odls_base_sigkill_timeout', '1', '-np', '3', process.execPath, fileURLToPath(script('signals-seen.mjs')), folder, die ? 'die' : 'live'];
      const job = spawn('mpirun', args, { env: { ...process.env, ...MPIRUN_ENV }, stdio: 'ignore' });
      const ended = new Promise((resolve) => job.on('exit', resolve));
      const survivors = die ? [0, 2] : [0, 1, 2];
      let start: number;
      if (die) {
        await ended;
        start = JSON.parse(readFileSync(join(folder, 'died.json'), 'utf8')).at;
      } else {
        while (!survivors.every((rank) => existsSync(join(folder, `ready-${rank}`)))) await new Promise((resolve) => setTimeout(resolve, 20));
        start = Date.now();
        job.kill('SIGTERM');
        await ended;
      }
      for (const rank of survivors) {
        const { seen } = JSON.parse(readFileSync(join(folder, `rank-${rank}.json`), 'utf8'));
        expect(seen.map(({ signal }: { signal: string }) => signal)).toEqual(['SIGCONT', 'SIGTERM']);
        // Generous margins: a loaded machine delays the handlers.
        expect(seen[0].at - start).toBeLessThan(700);
        expect(seen[1].at - seen[0].at).toBeGreaterThan(700);
        expect(seen[1].at - seen[0].at).toBeLessThan(2_500);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  describe.each([2, 3])('mpirun -np %i', (size) => {
    let folder: string;
    // What each rank saw, from scripts/world.mjs, indexed by rank.
    let reports: any[];

    beforeAll(() => {
      folder = mkdtempSync(join(tmpdir(), 'lockstep-mpi-'));
      const run = mpirun(size, script('world.mjs'), [folder]);
      expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
      reports = Array.from({ length: size }, (_, rank) => JSON.parse(readFileSync(join(folder, `rank-${rank}.json`), 'utf8')));
    });
    afterAll(() => rmSync(folder, { recursive: true, force: true }));

    it('every rank knows its rank and the size, sees launchedByMpirun(), and gets the same world from mpiWorld() again', () => {
      reports.forEach((report, rank) => {
        expect(report).toMatchObject({ rank, size, launchedByMpirun: true, sameWorld: true });
      });
    });

    it('MPI provides MPI_THREAD_MULTIPLE (3)', () => {
      for (const report of reports) expect(report.threadLevel).toBe(MPI_THREAD_MULTIPLE);
    });

    it.each([Float32Array, Float64Array, Int32Array, Uint8Array].map((Type) => ({ name: Type.name, Type })))(
      "allgather of $name: every rank receives every rank's 5 elements in rank order, bit for bit",
      ({ Type }) => {
        const everyRank = Array.from({ length: size }, (_, rank) => hex(pattern(rank, 5 * Type.BYTES_PER_ELEMENT))).join('');
        for (const report of reports) expect(report.allgather[Type.name]).toBe(everyRank);
      },
    );

    it('broadcast from the last rank leaves its Float64Array bytes on every rank', () => {
      for (const report of reports) expect(report.broadcast).toBe(hex(pattern(size - 1, 3 * 8)));
    });

    it('a worker thread joins the main thread\'s world and allgathers between Float32Array views of a shared WebAssembly memory', () => {
      const everyRank = Array.from({ length: size }, (_, rank) => hex(pattern(rank + 100, 4 * 4))).join('');
      reports.forEach((report, rank) => {
        expect(report.worker).toEqual({
          isMainThread: false,
          rank,
          size,
          threadLevel: MPI_THREAD_MULTIPLE,
          shared: true,
          receiveOffset: 64,
          receiveBytes: 4 * 4 * size,
          received: everyRank,
        });
      });
    });

    it('a receive of the wrong length is one E_SHAPE line naming MPI_Allgather and the rank, before MPI is called', () => {
      reports.forEach((report, rank) => {
        expect(report.badLength).toEqual({
          name: 'LockstepError',
          code: 'E_SHAPE',
          message: `MPI_Allgather on rank ${rank} of ${size}: receive has ${2 * size - 1} elements, needs ${2 * size} (${size} ranks x 2 sent); MPI was not called`,
        });
      });
    });

    it("an error MPI returns (a root past the last rank) is one E_WORKER line naming MPI_Bcast, the rank and MPI's reason", () => {
      reports.forEach((report, rank) => {
        expect(report.badRoot).toEqual({ name: 'LockstepError', code: 'E_WORKER', message: `MPI_Bcast failed on rank ${rank} of ${size}: MPI_ERR_ROOT: invalid root` });
      });
    });
  });
});
