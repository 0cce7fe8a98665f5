import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readImageFolder } from '../packages/cli/src/data/images/folder.js';
import { classPattern, crc32, jpegOf, pngOf, pngTree, writeTree } from './helpers/image-tree.js';
import { lockstep } from './helpers/lockstep.js';

// The bad inputs of an images:DIR tree: each stops `lockstep train` with one line naming the file and
// the fix, exit 1, before the run folder exists; with --skip-bad-images the bad files are left out and
// listed in the run folder's skipped-images.txt. lockstep data and compare take the same flags (eval and
// predict: images-skip-inference.test.ts).
const work = realpathSync(mkdtempSync(join(tmpdir(), 'lockstep-images-')));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (args: string[]) => lockstep(args, work);
const FIX = 'replace or remove it, or add --skip-bad-images to leave bad images out';
const train = (tree: string, ...more: string[]) => run(['train', '--data', `images:${tree}`, '--epochs', '1', '--workers', '1', '--out', `runs/${tree}`, ...more]);

/** A good tree of 3 classes x 4 PNGs in `name`, with `extra` files added. */
function tree(name: string, extra: Record<string, Uint8Array> = {}): string {
  pngTree(join(work, name), ['a', 'b', 'c'], 4);
  writeTree(join(work, name), extra);
  return name;
}

/** Expects `train` on the tree to stop with exactly `line`, exit 1, and no run folder. */
function stops(name: string, line: string, ...more: string[]): void {
  const result = train(name, ...more);
  expect(result.stderr).toBe(`lockstep: ${line}\n`);
  expect(result.status).toBe(1);
  expect(existsSync(join(work, 'runs', name))).toBe(false);
}

/** A PNG whose IHDR claims `width` x `height`, with valid CRCs and a little image data. */
function pngClaiming(width: number, height: number): Buffer {
  const bytes = Buffer.from(pngOf(2, 2, () => [1, 2, 3]));
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  bytes.writeUInt32BE(crc32(bytes.subarray(12, 29)), 29);
  return bytes;
}

/** A JPEG whose frame header claims `width` x `height`. */
function jpegClaiming(width: number, height: number): Buffer {
  const bytes = Buffer.from(jpegOf(16, 16, () => [10, 20, 30]));
  const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
  bytes.writeUInt16BE(height, sof + 5);
  bytes.writeUInt16BE(width, sof + 7);
  return bytes;
}

const cmyk = readFileSync(new URL('./fixtures/images/cmyk.jpg', import.meta.url));
const good = pngOf(8, 8, classPattern(1, 9));

describe('bad files stop the run with one line naming the file and the fix (the default)', () => {
  it('a corrupt PNG (a changed byte: its CRC fails) and a truncated PNG', () => {
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 20] ^= 0xff;
    stops(tree('corrupt', { 'b/x.png': corrupt }), `corrupt/b/x.png is corrupt: the CRC of its IDAT chunk at byte 33 does not match; ${FIX}`);
    stops(tree('cut-png', { 'b/x.png': good.subarray(0, good.length - 30) }), `cut-png/b/x.png is truncated: its IDAT chunk at byte 33 runs past the end of the file; ${FIX}`);
  });

  it('a truncated JPEG (no end-of-image marker)', () => {
    const jpeg = jpegOf(8, 8, classPattern(1, 1));
    stops(tree('cut-jpeg', { 'b/x.jpg': jpeg.subarray(0, jpeg.length - 10) }), `cut-jpeg/b/x.jpg is truncated: it has no JPEG end-of-image marker after its frame; ${FIX}`);
  });

  it('a zero-byte file, and a file that is not an image among the images', () => {
    stops(tree('zero', { 'a/empty.png': new Uint8Array() }), `zero/a/empty.png is empty (0 bytes); ${FIX}`);
    stops(tree('text', { 'c/notes.txt': Buffer.from('hello') }), `text/c/notes.txt is only 5 bytes long (68 65 6c 6c 6f), too short to be a PNG or JPEG image; ${FIX}`);
    stops(tree('gif', { 'c/anim.gif': Buffer.from('GIF89a....') }), `gif/c/anim.gif is a GIF image; lockstep reads PNG and JPEG only, so convert it; ${FIX}`);
  });

  it('a signature cut short or damaged: the message shows all of it, not a valid-looking start', () => {
    stops(tree('jpeg-start', { 'a/0.jpg': Buffer.from([0xff, 0xd8]) }), `jpeg-start/a/0.jpg is only 2 bytes long (ff d8), too short to be a PNG or JPEG image; ${FIX}`);
    const spliced = Buffer.concat([good.subarray(0, 4), Buffer.from('junk'), good.subarray(4)]);
    stops(
      tree('png-junk', { 'a/0.png': spliced }),
      `png-junk/a/0.png is not a PNG or JPEG image (its first 8 bytes are 89 50 4e 47 6a 75 6e 6b; a PNG starts 89 50 4e 47 0d 0a 1a 0a, a JPEG ff d8 ff); ${FIX}`,
    );
  });

  it('a header that claims huge dimensions is refused before anything is allocated for its pixels', () => {
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    for (const [file, bytes] of [['huge.png', pngClaiming(100_000, 100_000)], ['huge.jpg', jpegClaiming(60_000, 60_000)]] as const) {
      const name = `huge-${file.slice(5)}`;
      const line = `${name}/a/${file} claims ${file.endsWith('png') ? '100000 x 100000 pixels (10000.0' : '60000 x 60000 pixels (3600.0'} megapixels), more than the 25 megapixels lockstep decodes; make it smaller; ${FIX}`;
      stops(tree(name, { [`a/${file}`]: bytes }), line);
      expect(() => readImageFolder(join(work, name), {})).toThrow(line.replace(name, join(work, name)));
    }
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 2 ** 20);
  });

  it('a CMYK JPEG', () => {
    stops(tree('cmyk', { 'c/print.jpg': cmyk }), `cmyk/c/print.jpg is a CMYK JPEG, which lockstep does not read (its colours need the colour profile it was made for); convert it to RGB; ${FIX}`);
  });

  it('unreadable files: a symlink to nothing, a symlink loop, a FIFO (never opened, so never waited on), and without permission where the tests are not root', () => {
    tree('dangling');
    symlinkSync('nowhere.png', join(work, 'dangling/b/gone.png'));
    stops('dangling', `dangling/b/gone.png is a symlink to nothing (ENOENT); ${FIX}`);
    tree('self-link');
    symlinkSync('self.png', join(work, 'self-link/b/self.png'));
    stops('self-link', `self-link/b/self.png is a symlink loop (ELOOP); ${FIX}`);
    tree('fifo');
    execFileSync('mkfifo', [join(work, 'fifo/a/pipe.png')]);
    stops('fifo', `fifo/a/pipe.png is not a regular file (a FIFO, socket or device); ${FIX}`);
    if (process.getuid?.() !== 0) {
      tree('denied', { 'a/secret.png': good });
      chmodSync(join(work, 'denied/a/secret.png'), 0);
      stops('denied', `denied/a/secret.png cannot be read (EACCES: permission denied); ${FIX}`);
    }
  });

  it('a folder symlink that leads back to a folder it is inside (a loop) is one bad entry, not an endless walk', () => {
    tree('loop');
    symlinkSync('..', join(work, 'loop/b/up'));
    stops('loop', `loop/b/up is a symlink loop: it leads back to ${join(work, 'loop')}, a folder it is inside; ${FIX}`);
    // Two links that lead to each other's folders, outside the tree.
    tree('loop2');
    mkdirSync(join(work, 'loop2-side'));
    symlinkSync('../../loop2-side', join(work, 'loop2/b/out'));
    symlinkSync('../loop2/b', join(work, 'loop2-side/back'));
    stops('loop2', `loop2/b/out/back is a symlink loop: it leads back to ${join(work, 'loop2/b')}, a folder it is inside; ${FIX}`);
  });
});

describe('trees that cannot train stop with one line, whatever --skip-bad-images', () => {
  it('an empty folder, a missing one, a single class, a class folder with no images', () => {
    mkdirSync(join(work, 'empty'));
    stops('empty', 'empty holds no class folders; put each class\'s images in a folder named after the class (empty/cat/1.png, empty/dog/2.png)');
    stops('missing', 'cannot read the image folder missing: ENOENT; check the path after images:');
    pngTree(join(work, 'single'), ['only'], 3);
    stops('single', 'single holds one class folder (only); classification needs two or more, one folder per class (single/cat/1.png, single/dog/2.png)', '--skip-bad-images');
    tree('hollow');
    mkdirSync(join(work, 'hollow/d'));
    stops('hollow', 'the class folder hollow/d holds no image files; put the class\'s PNG or JPEG files in it, or remove the folder', '--skip-bad-images');
  });

  it('a class folder whose every file is bad, with --skip-bad-images', () => {
    pngTree(join(work, 'all-bad'), ['a', 'b'], 2);
    writeTree(join(work, 'all-bad'), { 'c/1.png': new Uint8Array(), 'c/2.png': Buffer.from('no') });
    stops('all-bad', 'the class folder all-bad/c has no image left: all 2 of its files are bad (all-bad/c/1.png is empty (0 bytes))', '--skip-bad-images');
  });

  it('images of mixed sizes without an image size; with --image-size they train', () => {
    tree('mixed', { 'b/wide.png': pngOf(9, 8, () => [5, 5, 5]) });
    stops('mixed', 'mixed/b/wide.png is 9 wide and 8 high, but mixed/a/000.png is 8 wide and 8 high; give "imageSize" (e.g. --image-size 8,8) to bring every image to one size');
    expect(train('mixed', '--image-size', '8,8', '--quiet').status).toBe(0);
  });

  it('train/ and test/ with other class folders', () => {
    pngTree(join(work, 'splits'), ['a', 'b'], 3, 'train');
    pngTree(join(work, 'splits'), ['a', 'c'], 2, 'test');
    stops('splits', 'splits/test has no class folder b, which splits/train has; give both splits the same class folders');
  });

  it('image settings that cannot apply, named as given', () => {
    const result = run(['train', '--image-size', '8,8', '--epochs', '1']);
    expect(result.stderr).toBe('lockstep: --image-size 8,8 only applies to images:DIR data, and the data is default; leave it out\n');
    tree('fit-alone');
    stops('fit-alone', '--image-fit crop only applies with an image size; give one (e.g. --image-size 32,32) or leave it out', '--image-fit', 'crop');
    expect(run(['train', '--data', 'images:x', '--image-channels', '2']).stderr).toBe('lockstep: --image-channels must be 1 or 3, got "2"\n');
    expect(run(['train', '--data', 'images:x', '--image-size', '0,8']).stderr).toBe('lockstep: --image-size must be [height, width], two integers from 1 to 4096 (--image-size 32,32), got "0,8"\n');
    writeFileSync(join(work, 'norm.json'), JSON.stringify({ data: 'images:fit-alone', imageNormalize: { mean: [0.5], std: [0.25] } }));
    expect(run(['train', '--config', 'norm.json']).stderr).toBe('lockstep: "imageNormalize" gives 1 mean and std, and the images have 3 channels; give one mean and one std per channel\n');
  });
});

describe('--skip-bad-images', () => {
  it('leaves every kind of bad file out, trains on the rest, and lists them with their reasons in skipped-images.txt', () => {
    tree('skip', { 'a/empty.png': new Uint8Array(), 'b/notes.txt': Buffer.from('hello'), 'b/print.jpg': cmyk, 'c/huge.png': pngClaiming(100_000, 100_000) });
    symlinkSync('nowhere.png', join(work, 'skip/c/gone.png'));
    const result = train('skip', '--skip-bad-images');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`note: left out 5 bad image files (--skip-bad-images), listed in runs/skip/${'skipped-images.txt'}`);
    expect(lines[1]).toMatch(/^training \d+ layers \(\d+ parameters\) on 11 samples \(1 for validation\)/);
    expect(readFileSync(join(work, 'runs/skip/skipped-images.txt'), 'utf8')).toBe(
      [
        'skip/a/empty.png\tis empty (0 bytes)',
        'skip/b/notes.txt\tis only 5 bytes long (68 65 6c 6c 6f), too short to be a PNG or JPEG image',
        'skip/b/print.jpg\tis a CMYK JPEG, which lockstep does not read (its colours need the colour profile it was made for); convert it to RGB',
        'skip/c/gone.png\tis a symlink to nothing (ENOENT)',
        'skip/c/huge.png\tclaims 100000 x 100000 pixels (10000.0 megapixels), more than the 25 megapixels lockstep decodes; make it smaller',
        '',
      ].join('\n'),
    );
    expect(JSON.parse(readFileSync(join(work, 'runs/skip/config.json'), 'utf8')).skipBadImages).toBe(true);
  });

  it('with no bad file, the list is written empty and there is no note', () => {
    tree('clean');
    const result = train('clean', '--skip-bad-images', '--quiet');
    expect(result.status).toBe(0);
    expect(readFileSync(join(work, 'runs/clean/skipped-images.txt'), 'utf8')).toBe('');
  });
});

describe('lockstep data and compare take the image flags that the advice of an image error names', () => {
  const MIXED = 'data-mixed/b/wide.png is 9 wide and 8 high, but data-mixed/a/000.png is 8 wide and 8 high; give "imageSize" (e.g. --image-size 8,8) to bring every image to one size';

  it('images of mixed sizes: data and compare stop with the advice, and with --image-size they run', () => {
    tree('data-mixed', { 'b/wide.png': pngOf(9, 8, () => [5, 5, 5]) });
    const data = ['data', '--data', 'images:data-mixed', '--count', '2'];
    const compare = ['compare', '--data', 'images:data-mixed', '--dropout', '0', '--hidden', '8', '--epochs', '1', '--workers', '1', '--quiet'];
    for (const args of [[...data, '--out', 'never.png'], [...compare, '--out', 'runs/never']]) {
      const refused = run(args);
      expect(refused.stderr).toBe(`lockstep: ${MIXED}\n`);
      expect(refused.status).toBe(1);
    }
    expect(existsSync(join(work, 'never.png'))).toBe(false);
    expect(existsSync(join(work, 'runs/never'))).toBe(false);
    const sheet = run([...data, '--image-size', '8,8', '--out', 'mixed.png']);
    expect(sheet.stderr).toBe('');
    expect(sheet.stdout).toMatch(/^wrote mixed\.png: the first 2 training samples of images:data-mixed/);
    const compared = run([...compare, '--image-size', '8,8', '--out', 'runs/mixed-compare']);
    expect(compared.stderr).toBe('');
    expect(compared.status).toBe(0);
  });

  it('a bad file: data stops with the advice; with --skip-bad-images or "skipBadImages" it draws the rest and says how many it left out', () => {
    tree('data-bad', { 'a/empty.png': new Uint8Array(), 'b/notes.txt': Buffer.from('hello') });
    const data = ['data', '--data', 'images:data-bad', '--count', '2'];
    const refused = run([...data, '--out', 'never.png']);
    expect(refused.stderr).toBe(`lockstep: data-bad/a/empty.png is empty (0 bytes); ${FIX}\n`);
    expect(refused.status).toBe(1);
    writeFileSync(join(work, 'skip-bad.json'), JSON.stringify({ skipBadImages: true }));
    for (const [i, skip] of [['--skip-bad-images'], ['--config', 'skip-bad.json']].entries()) {
      const drawn = run([...data, ...skip, '--out', `bad-${i}.png`]);
      expect(drawn.stderr).toBe('');
      expect(drawn.status).toBe(0);
      expect(drawn.stdout.split('\n')[0]).toBe('note: left out 2 bad image files (--skip-bad-images)');
    }
  });

  it('image flags for data that is not images:DIR are refused by data as by train', () => {
    const result = run(['data', '--image-size', '8,8', '--out', 'never.png']);
    expect(result.stderr).toBe('lockstep: --image-size 8,8 only applies to images:DIR data, and the data is default; leave it out\n');
    expect(result.status).toBe(1);
  });
});
