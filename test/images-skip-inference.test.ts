import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classPattern, jpegOf, pngOf, pngTree, writeTree } from './helpers/image-tree.js';
import { lockstep } from './helpers/lockstep.js';

// predict on image folders with bad files: without --skip-bad-images it stops with one line whose
// advice names the flag; with it the bad files are left out, each named on stderr, and every row is
// that of its own good file.
const work = realpathSync(mkdtempSync(join(tmpdir(), 'lockstep-skip-inference-')));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (args: string[]) => lockstep([...args, '--workers', '1'], work);
const FIX = 'replace or remove it, or add --skip-bad-images to leave bad images out';
const CORRUPT = 'is corrupt: the CRC of its IDAT chunk at byte 33 does not match';
const CUT = 'is truncated: it has no JPEG end-of-image marker after its frame';

const corruptPng = Buffer.from(pngOf(8, 8, classPattern(1, 9)));
corruptPng[corruptPng.length - 20] ^= 0xff;
const jpeg = jpegOf(8, 8, classPattern(2, 9));
const BAD = { 'b/bad.png': corruptPng, 'c/cut.jpg': jpeg.subarray(0, jpeg.length - 10) };

const noteOf = (path: string, reason: string): string => `note: left out ${path} (--skip-bad-images): it ${reason}\n`;

/** Expects exactly `line` on stderr, exit 1 and nothing on stdout. */
function refused(args: string[], line: string): void {
  const result = run(args);
  expect(result.stderr).toBe(`lockstep: ${line}\n`);
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
}

/** Expects exit 0 and exactly `stderr`; gives stdout. */
function succeeds(args: string[], stderr: string): string {
  const result = run(args);
  expect(result.stderr).toBe(stderr);
  expect(result.status).toBe(0);
  return result.stdout;
}

beforeAll(() => {
  pngTree(join(work, 'split'), ['a', 'b', 'c'], 4, 'train');
  pngTree(join(work, 'split'), ['a', 'b', 'c'], 2, 'test');
  expect(run(['train', '--data', 'images:split', '--epochs', '1', '--out', 'runs/split', '--quiet']).status).toBe(0);
});

describe('predict --skip-bad-images', () => {
  const predict = (...args: string[]) => ['predict', '--checkpoint', 'runs/split/checkpoint.lockstep', ...args];
  beforeAll(() => {
    pngTree(join(work, 'scans'), ['a', 'b', 'c'], 2);
    pngTree(join(work, 'clean'), ['a', 'b', 'c'], 2);
    writeTree(join(work, 'scans'), BAD);
  });

  it('a folder with a corrupt PNG and a truncated JPEG: stops at the first, advising the flag', () => {
    refused(predict('--input', 'scans'), `scans/b/bad.png ${CORRUPT}; ${FIX}`);
  });

  it('with the flag: a note on stderr per bad file, exit 0, and rows for the others, each the row its own file gives', () => {
    const notes = noteOf('scans/b/bad.png', CORRUPT) + noteOf('scans/c/cut.jpg', CUT);
    const rows = JSON.parse(succeeds(predict('--input', 'scans', '--skip-bad-images'), notes)) as Array<{ path: string }>;
    expect(rows.map((row) => row.path)).toEqual(['a', 'b', 'c'].flatMap((name) => [`scans/${name}/000.png`, `scans/${name}/001.png`]));
    const clean = JSON.parse(succeeds(predict('--input', 'clean'), '')) as Array<{ path: string }>;
    expect(rows).toEqual(clean.map((row) => ({ ...row, path: row.path.replace('clean/', 'scans/') })));
    const csv = succeeds(predict('--input', 'scans', '--skip-bad-images', '--format', 'csv'), notes).trim().split('\n');
    expect(csv.map((line) => line.split(',')[0])).toEqual(['path', ...rows.map((row) => row.path)]);
  });

  it('a folder whose every file is bad, and the flag where it cannot apply, stop with one line', () => {
    writeTree(join(work, 'all-bad'), { '1.png': new Uint8Array(), ...BAD });
    refused(predict('--input', 'all-bad', '--skip-bad-images'), 'all-bad has no image left to predict: all 3 of its files are bad (all-bad/1.png is empty (0 bytes))');
    writeFileSync(join(work, 'rows.csv'), 'x\n1\n');
    for (const input of ['rows.csv', 'scans/a/000.png']) {
      refused(predict('--input', input, '--skip-bad-images'), `--skip-bad-images only applies to an --input folder of images, and ${input} is not a folder; leave it out`);
    }
    refused(predict('--input', 'scans/b/bad.png'), `scans/b/bad.png ${CORRUPT}; replace it`);
  });
});

it('predict --help describes --skip-bad-images', () => {
  expect(lockstep(['predict', '--help'], work).stdout).toContain('--skip-bad-images    with a folder --input: leave out files');
});
