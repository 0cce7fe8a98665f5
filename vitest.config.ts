import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests load every lockstep package from its TypeScript source, the entry its exports give under the
// "@lockstep/source" condition, so a run holds one copy of each package: one kernel state, one
// LockstepError class. An alias, not resolve.conditions: vitest hands those conditions to Node as well,
// and the worker threads a Trainer starts (which inherit them) run dist/ and cannot load TypeScript.
const SOURCE_CONDITION = '@lockstep/source';

function sourceEntry(name: string): string {
  const root = new URL(`./packages/${name}/`, import.meta.url);
  const exports = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).exports['.'];
  return fileURLToPath(new URL(exports[SOURCE_CONDITION], root));
}

export default defineConfig({
  resolve: {
    alias: ['core', 'workers', 'cli', 'mpi', 'native'].map((name) => ({ find: new RegExp(`^@lockstep/${name}$`), replacement: sourceEntry(name) })),
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Most test time is spent waiting on the lockstep processes, mpirun jobs and worker threads a test
    // starts, so vitest's default of one file at a time on a 2-core machine leaves a core idle much of
    // the time: two files at once cut the suite's time there by about a third, with every test passing.
    // Three at once was slower than two there.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
