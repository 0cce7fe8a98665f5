import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '@lockstep/cli';
import { fingerprintOf, lockstep } from './helpers/lockstep.js';

// A run trained in work/ with "modules": ["mods/scale.mjs"], a path from there, is used from
// work/other/, where that path names nothing. The module files are copies in work/mods/, which
// import @lockstep/core through work/node_modules.
const work = realpathSync(mkdtempSync(join(tmpdir(), 'lockstep-module-paths-')));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const other = join(work, 'other');
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/layers/${name}`, import.meta.url));
mkdirSync(join(work, 'mods'));
mkdirSync(other);
symlinkSync(fileURLToPath(new URL('../node_modules', import.meta.url)), join(work, 'node_modules'));
copyFileSync(fixture('scale.mjs'), join(work, 'mods', 'scale.mjs'));
copyFileSync(fixture('faulty.mjs'), join(work, 'mods', 'faulty.mjs'));
const scale = join(work, 'mods', 'scale.mjs');
const layers = [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'linear', out: 10 }, { type: 'scale', factor: 1 }];
writeFileSync(join(work, 'scale.json'), JSON.stringify({ modules: ['mods/scale.mjs'], epochs: 1, layers }));
writeFileSync(join(other, 'scale.json'), JSON.stringify({ modules: ['../mods/scale.mjs'] }));
const rows = Array.from({ length: 2 }, (_, r) => Array.from({ length: 128 }, (_, i) => Math.cos(r * 128 + i).toFixed(4)).join(','));
writeFileSync(join(other, 'rows.csv'), `${[Array.from({ length: 128 }, (_, i) => `x${i + 1}`).join(','), ...rows].join('\n')}\n`);

const ok = (args: string[], cwd: string): string => {
  const { status, stdout, stderr } = lockstep(args, cwd);
  expect(stderr).toBe('');
  expect(status).toBe(0);
  return stdout;
};
const refused = (args: string[], cwd: string, message: string, env: Record<string, string> = {}): void => {
  const { status, stdout, stderr } = lockstep(args, cwd, env);
  expect(stderr).toBe(`lockstep: ${message}\n`);
  expect(status).toBe(1);
  expect(stdout).toBe('');
};
const evalArgs = (checkpoint: string): string[] => ['eval', '--checkpoint', checkpoint, '--workers', '1', '--json'];

let trained = '';
beforeAll(() => {
  trained = fingerprintOf(ok(['train', '--config', 'scale.json', '--workers', '1', '--out', 'run', '--quiet'], work));
});

describe('a run whose modules were given as paths from its folder, used from another folder', () => {
  it('its checkpoint keeps the paths as typed, and records where each file was and the SHA-256 of its bytes', () => {
    const checkpoint = loadCheckpoint(join(work, 'run', 'checkpoint.lockstep'));
    expect(checkpoint.config.modules).toEqual(['mods/scale.mjs']);
    expect(checkpoint.moduleFiles).toEqual([{ file: scale, sha256: createHash('sha256').update(readFileSync(scale)).digest('hex') }]);
  });

  it.each([
    ['eval with a path from here', [...evalArgs('../run/checkpoint.lockstep'), '--modules', '../mods/scale.mjs']],
    ['eval with an absolute path', [...evalArgs('../run/checkpoint.lockstep'), '--modules', scale]],
    ['predict', ['predict', '--checkpoint', '../run/checkpoint.lockstep', '--input', 'rows.csv', '--workers', '1', '--modules', '../mods/scale.mjs']],
    ['train --resume', ['train', '--resume', '../run/checkpoint.lockstep', '--epochs', '2', '--workers', '1', '--out', 'resumed', '--quiet', '--modules', '../mods/scale.mjs']],
    ['train --resume with a config that names it from here', ['train', '--resume', '../run/checkpoint.lockstep', '--epochs', '2', '--workers', '1', '--out', 'configured', '--quiet', '--config', 'scale.json']],
  ])('%s: works', (_, args) => {
    ok(args, other);
  });

  it('without --modules: the line names the module by its path from here, and that --modules works', () => {
    refused(evalArgs('../run/checkpoint.lockstep'), other, '../run/checkpoint.lockstep asks to import the module ../mods/scale.mjs, which can run any code; if you trust it, pass --modules ../mods/scale.mjs');
    ok([...evalArgs('../run/checkpoint.lockstep'), '--modules', '../mods/scale.mjs'], other);
  });

  it('a resumed run that fails advises the --modules it was given here', () => {
    const faultLayers = [{ type: 'linear', out: 16 }, { type: 'env-fault' }, { type: 'relu' }, { type: 'linear', out: 10 }];
    writeFileSync(join(work, 'faulty.json'), JSON.stringify({ modules: ['mods/faulty.mjs'], epochs: 2, layers: faultLayers }));
    const train = ['train', '--config', 'faulty.json', '--workers', '1', '--checkpoint-every', '30', '--out', 'faulty', '--quiet'];
    const cause = 'fit failed at step 100 (epoch 2, batch 30 of 71): a worker failed: injected failure in layer 1 at step 100; the worker pool is closed';
    const fault = { LOCKSTEP_TEST_FAULT: 'throw@100' };
    refused(train, work, `${cause}; resume from step 90 with: lockstep train --resume faulty/checkpoint.lockstep --modules mods/faulty.mjs`, fault);
    const resume = ['train', '--resume', '../faulty/checkpoint.lockstep', '--workers', '1', '--quiet', '--modules', '../mods/faulty.mjs'];
    refused(resume, other, `${cause}; resume from step 90 with: lockstep train --resume ../faulty/checkpoint.lockstep --modules ../mods/faulty.mjs`, fault);
  });
});

describe('a checkpoint of an older lockstep, which records only the paths as typed', () => {
  beforeAll(() => {
    const { moduleFiles: _recorded, ...older } = loadCheckpoint(join(work, 'run', 'checkpoint.lockstep'));
    mkdirSync(join(work, 'older'));
    saveCheckpoint(join(work, 'older', 'checkpoint.lockstep'), older);
  });

  it('works from the folder it was trained in with --modules as typed there, and refuses without, as before', () => {
    ok([...evalArgs('older/checkpoint.lockstep'), '--modules', 'mods/scale.mjs'], work);
    refused(evalArgs('older/checkpoint.lockstep'), work, 'older/checkpoint.lockstep asks to import the module mods/scale.mjs, which can run any code; if you trust it, pass --modules mods/scale.mjs');
  });

  it('from another folder, the line says that its paths are from the folder it was trained in', () => {
    refused([...evalArgs('../older/checkpoint.lockstep'), '--modules', '../mods/scale.mjs'], other, '../older/checkpoint.lockstep asks to import the module mods/scale.mjs, which can run any code; if you trust it, pass --modules mods/scale.mjs from the folder it was trained in');
  });
});

describe('a run folder moved away from its module', () => {
  it('a copy with the same bytes, under any name, stands for it; an edited copy does not', () => {
    mkdirSync(join(work, 'moved'));
    copyFileSync(join(work, 'run', 'checkpoint.lockstep'), join(work, 'moved', 'checkpoint.lockstep'));
    copyFileSync(scale, join(work, 'moved', 'layers.mjs'));
    renameSync(join(work, 'mods'), join(work, 'gone'));
    try {
      const line = `moved/checkpoint.lockstep asks to import the module ${scale}, which can run any code and is no longer there; if you trust it, pass --modules with the path of a copy with the same bytes`;
      refused(evalArgs('moved/checkpoint.lockstep'), work, line);
      const resumed = ok(['train', '--resume', 'moved/checkpoint.lockstep', '--epochs', '1', '--workers', '1', '--modules', 'moved/layers.mjs', '--out', 'moved-on', '--quiet'], work);
      expect(fingerprintOf(resumed)).toBe(trained);
      writeFileSync(join(work, 'moved', 'layers.mjs'), `${readFileSync(join(work, 'moved', 'layers.mjs'), 'utf8')}// edited\n`);
      refused([...evalArgs('moved/checkpoint.lockstep'), '--modules', 'moved/layers.mjs'], work, line);
    } finally {
      renameSync(join(work, 'gone'), join(work, 'mods'));
    }
  });
});

it('a checkpoint whose "moduleFiles" do not match its modules is one line', () => {
  const checkpoint = loadCheckpoint(join(work, 'run', 'checkpoint.lockstep'));
  saveCheckpoint(join(work, 'mismatched.lockstep'), { ...checkpoint, moduleFiles: [...checkpoint.moduleFiles!, ...checkpoint.moduleFiles!] });
  refused(evalArgs('mismatched.lockstep'), work, 'mismatched.lockstep does not hold a valid checkpoint: "moduleFiles" has 2 entries for the 1 of "config.modules"');
});
