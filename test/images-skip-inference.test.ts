import { cpSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classPattern, jpegOf, pngOf, pngTree, writeTree } from './helpers/image-tree.js';
import { lockstep } from './helpers/lockstep.js';

// predict and eval on image folders with bad files: without --skip-bad-images they stop with one line
// whose advice names the flag; with it the bad files are left out, each named on stderr, and every row
// and score is that of the good files alone. On the run's validation split the flag must agree with the
// run's own setting, which its data fingerprint records.
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
  pngTree(join(work, 'flat'), ['a', 'b', 'c'], 4);
  cpSync(join(work, 'flat'), join(work, 'flat-bad'), { recursive: true });
  writeTree(join(work, 'flat-bad'), { 'b/bad.png': corruptPng });
  for (const [tree, ...skip] of [['split'], ['flat'], ['flat-bad', '--skip-bad-images']]) {
    expect(run(['train', '--data', `images:${tree}`, '--epochs', '1', '--out', `runs/${tree}`, '--quiet', ...skip]).status).toBe(0);
  }
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

describe('eval --skip-bad-images', () => {
  const evaluate = (run: string, ...args: string[]) => ['eval', '--checkpoint', `runs/${run}/checkpoint.lockstep`, ...args];
  const scores = (stdout: string) => {
    const { skippedImages, ...rest } = JSON.parse(stdout) as Record<string, unknown>;
    return { skippedImages, rest };
  };

  it('a test set (--data) with bad files: stops advising the flag; with it, the test files are named and counted, and the scores are those of the good files', () => {
    cpSync(join(work, 'split'), join(work, 'other'), { recursive: true });
    writeTree(join(work, 'other/test'), BAD);
    // A bad training file is no sample of the test set: left out, not counted.
    writeTree(join(work, 'other/train'), { 'a/empty.png': new Uint8Array() });
    refused(evaluate('split', '--data', 'images:other'), `other/train/a/empty.png is empty (0 bytes); ${FIX}`);
    const notes = noteOf('other/test/b/bad.png', CORRUPT) + noteOf('other/test/c/cut.jpg', CUT);
    const text = succeeds(evaluate('split', '--data', 'images:other', '--skip-bad-images'), notes).split('\n');
    expect(text[0]).toBe('note: left out 2 bad image files (--skip-bad-images)');
    expect(text[1]).toMatch(/^test set: 6 samples, loss \d\.\d{4}, accuracy \d\.\d{4}$/);
    const skipped = scores(succeeds(evaluate('split', '--data', 'images:other', '--skip-bad-images', '--json'), notes));
    expect(skipped.skippedImages).toEqual([
      { path: 'other/test/b/bad.png', reason: CORRUPT },
      { path: 'other/test/c/cut.jpg', reason: CUT },
    ]);
    const clean = scores(succeeds(evaluate('split', '--json'), ''));
    expect(clean.skippedImages).toBeUndefined();
    expect(skipped.rest).toEqual(clean.rest);
  });

  it('the validation split of a run that did not skip: the flag is refused, and a bad file\'s advice does not offer it', () => {
    refused(
      evaluate('flat', '--skip-bad-images'),
      '--skip-bad-images cannot apply to the validation split: runs/flat/checkpoint.lockstep was trained without it, and the split is drawn from the training files as the run read them; leave it out, or evaluate data with a test set (--data)',
    );
    refused(
      evaluate('split', '--split', 'validation', '--skip-bad-images'),
      '--skip-bad-images cannot apply to the validation split: runs/split/checkpoint.lockstep was trained without it, and the split is drawn from the training files as the run read them; leave it out, or evaluate its test set (--split test)',
    );
    writeTree(join(work, 'flat'), { 'b/bad.png': corruptPng });
    refused(evaluate('flat'), `flat/b/bad.png ${CORRUPT}; replace or remove it (--skip-bad-images cannot apply to the validation split of a run trained without it)`);
    rmSync(join(work, 'flat/b/bad.png'));
  });

  it('the validation split of a run that skipped: the run\'s bad file is named and counted, with or without the flag; a bad file added since is still caught by the fingerprint', () => {
    for (const flag of [[], ['--skip-bad-images']]) {
      const text = succeeds(evaluate('flat-bad', ...flag), noteOf('flat-bad/b/bad.png', CORRUPT)).split('\n');
      expect(text[0]).toBe('note: left out 1 bad image file (--skip-bad-images)');
      expect(text[1]).toMatch(/^validation split: 1 samples, loss /);
    }
    writeTree(join(work, 'flat-bad'), { 'c/cut.jpg': BAD['c/cut.jpg'] });
    const changed = run(evaluate('flat-bad', '--skip-bad-images'));
    expect(changed.stderr).toMatch(
      /^lockstep: images:flat-bad changed since runs\/flat-bad\/checkpoint\.lockstep was saved \(data fingerprint [0-9a-f]{16}, now [0-9a-f]{16}\), so its validation split would be drawn again and hold samples the run trained on; restore the data it was trained on, or evaluate data with a test set \(--data\)\n$/,
    );
    expect(changed.status).toBe(1);
  });

  it('data that is not images:DIR refuses the flag', () => {
    refused(evaluate('split', '--data', 'default', '--skip-bad-images'), '--skip-bad-images only applies to images:DIR data, and the data is default; leave it out');
  });
});

it('eval and predict --help describe --skip-bad-images', () => {
  expect(lockstep(['eval', '--help'], work).stdout).toContain('--skip-bad-images    images:DIR: leave out test-set files');
  expect(lockstep(['predict', '--help'], work).stdout).toContain('--skip-bad-images    with a folder --input: leave out files');
});
