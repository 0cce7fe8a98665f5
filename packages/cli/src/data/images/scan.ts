import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { UserError } from '../../errors.js';

/** A file of a class folder; `bad` says why it cannot be read, found while scanning. */
export interface ImageFile {
  readonly path: string;
  readonly label: number;
  readonly bytes?: number;
  readonly bad?: string;
}

/** One split: its name, its folder, and its files in label order, then in walk order within a class. */
export interface ScannedSplit {
  /** "test" for DIR/test (or DIR/val), "train" for the other. */
  readonly name: 'train' | 'test';
  readonly dir: string;
  readonly files: ImageFile[];
}

/** A class-folder tree: the class names (their index is the label) and its splits. */
export interface ScannedTree {
  readonly classes: string[];
  readonly train: ScannedSplit;
  readonly test: ScannedSplit | null;
}

/** Names in the order of their UTF-8 bytes: Python's sorted() on str, which torchvision's ImageFolder uses. */
function sorted(names: string[]): string[] {
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Hidden names (.DS_Store, .git) are left out everywhere. */
const visible = (name: string): boolean => !name.startsWith('.');

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Why a file of the tree cannot be read, from the error reading or following it. */
export function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return 'is a symlink loop (ELOOP)';
  if (code === 'ENOENT') return 'is a symlink to nothing (ENOENT)';
  if (code === 'EACCES') return 'cannot be read (EACCES: permission denied)';
  return `cannot be read (${code})`;
}

/** Whether the folder `real` is one the walk is in: on its way down, or one that holds where it is. */
function leadsBack(real: string, inside: string[]): boolean {
  const here = inside[inside.length - 1];
  return inside.includes(real) || here.startsWith(real.endsWith(sep) ? real : real + sep);
}

/**
 * The files under a class folder, following symlinks (as torchvision does): each folder's visible
 * names in sorted order, depth first. A folder that leads back to one it is in (a folder on the way
 * down, or one holding it) is a symlink loop, reported as a bad entry rather than followed.
 */
function walk(dir: string, label: number, inside: string[], out: ImageFile[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    out.push({ path: dir, label, bad: unreadable(error) });
    return;
  }
  for (const name of sorted(names.filter(visible))) {
    const path = join(dir, name);
    let stats;
    try {
      stats = statSync(path);
    } catch (error) {
      out.push({ path, label, bad: unreadable(error) });
      continue;
    }
    if (stats.isDirectory()) {
      const real = realpathSync(path);
      if (leadsBack(real, inside)) out.push({ path, label, bad: `is a symlink loop: it leads back to ${real}, a folder it is inside` });
      else walk(path, label, [...inside, real], out);
    } else if (stats.isFile()) {
      out.push({ path, label, bytes: stats.size });
    } else {
      out.push({ path, label, bad: 'is not a regular file (a FIFO, socket or device)' });
    }
  }
}

function classFolders(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UserError(`images:${dir} needs a folder of class folders, and ${dir} is a file`);
    throw new UserError(`cannot read the image folder ${dir}: ${code}; check the path after images:`);
  }
  return sorted(names.filter((name) => visible(name) && isFolder(join(dir, name))));
}

function scanSplit(name: ScannedSplit['name'], dir: string, classes: string[]): ScannedSplit {
  const files: ImageFile[] = [];
  classes.forEach((name, label) => {
    const folder = join(dir, name);
    const before = files.length;
    walk(folder, label, [realpathSync(folder)], files);
    if (files.length === before) throw new UserError(`the class folder ${folder} holds no image files; put the class's PNG or JPEG files in it, or remove the folder`);
  });
  return { name, dir, files };
}

/** The folders of a tree's splits: DIR/train and DIR/test (else DIR/val) where DIR/train is a folder, else DIR alone. */
export function splitFolders(dir: string): { train: string; test: string | null } {
  if (!isFolder(join(dir, 'train'))) return { train: dir, test: null };
  return { train: join(dir, 'train'), test: ['test', 'val'].map((name) => join(dir, name)).find(isFolder) ?? null };
}

/**
 * Reads a class-folder tree: one folder per class, named after it, the sorted names giving the labels
 * 0, 1, ... (torchvision's ImageFolder rule). When DIR/train is a folder, it is the training split and
 * DIR/test (else DIR/val) the test split, with the same class folders; otherwise DIR holds the class
 * folders and there is no test split. Files beside the class folders are left out.
 */
export function scanImageTree(dir: string): ScannedTree {
  const { train: trainDir, test: testDir } = splitFolders(dir);
  const classes = classFolders(trainDir);
  const example = `${trainDir}/cat/1.png, ${trainDir}/dog/2.png`;
  if (classes.length === 0) throw new UserError(`${trainDir} holds no class folders; put each class's images in a folder named after the class (${example})`);
  if (classes.length === 1) throw new UserError(`${trainDir} holds one class folder (${classes[0]}); classification needs two or more, one folder per class (${example})`);
  if (testDir !== null) {
    const testClasses = classFolders(testDir);
    const missing = classes.find((name) => !testClasses.includes(name));
    const extra = testClasses.find((name) => !classes.includes(name));
    if (missing !== undefined) throw new UserError(`${testDir} has no class folder ${missing}, which ${trainDir} has; give both splits the same class folders`);
    if (extra !== undefined) throw new UserError(`${testDir} has a class folder ${extra}, which ${trainDir} has not; give both splits the same class folders`);
  }
  return { classes, train: scanSplit('train', trainDir, classes), test: testDir === null ? null : scanSplit('test', testDir, classes) };
}

/** The files under `dir` as a class folder's are found (visible names, sorted, depth first, symlinks followed); `bad` where one cannot be read. */
export function filesUnder(dir: string): ImageFile[] {
  const files: ImageFile[] = [];
  walk(dir, 0, [realpathSync(dir)], files);
  return files;
}
