// Bundles each package's compiled modules (tsc writes them to dist/modules/) into the few files that
// are loaded at run time: dist/index.js, and the entries a thread or the command line loads by path.
// Node spends most of a start finding, reading and compiling files: @lockstep/core's 97 modules took
// 0.23 s to import where one bundle of them takes 0.13 s (a bare node 0.10 s), and a worker thread
// imports core and workers again. Other packages stay imports (`packages: 'external'`), so a process
// holds one copy of each lockstep package, the one its exports name, as user modules that import
// @lockstep/core get it.
//
// Usage: node tools/bundle.mjs [package folder ...]   (default: every package)
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Per package, the modules (paths under dist/modules/, without .js) loaded by path at run time. */
const ENTRIES = {
  core: ['index'],
  // worker.js: the pool's threads import it (worker-entry.cjs).
  workers: ['index', 'worker'],
  // main.js: bin/lockstep.js; the image modules: threads load them by URL (compiled.ts).
  cli: ['index', 'main', 'data/images/reader', 'data/images/pass-worker'],
  mpi: ['index'],
  native: ['index'],
};

/** What tsc keeps in dist/ beside the bundles. */
const TSC_OUTPUTS = new Set(['modules', 'tsconfig.tsbuildinfo']);

/** The bundles' files now in dist/ (everything but tsc's outputs), as paths relative to it. */
function bundledFiles(dist) {
  if (!existsSync(dist)) return [];
  return readdirSync(dist, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dist, join(entry.parentPath, entry.name)))
    .filter((path) => !TSC_OUTPUTS.has(path.split(/[\\/]/)[0]));
}

/**
 * Bundles one package: its entries at their paths under dist/, with the code they share in chunks
 * beside them (dist/chunk-*.js). Only files whose bytes change are written, each to a temporary name
 * and renamed, and earlier bundles' files that are no longer made are removed: a build that is up to
 * date writes nothing, so a test that packs a package while others run lockstep from dist/ is safe.
 */
export async function bundlePackage(folder) {
  const name = folder.split(/[\\/]/).filter(Boolean).pop();
  const entries = ENTRIES[name];
  if (entries === undefined) throw new Error(`tools/bundle.mjs: no entries known for the package folder ${folder}; add them to ENTRIES`);
  const dist = join(folder, 'dist');
  const modules = join(dist, 'modules');
  const { outputFiles } = await build({
    entryPoints: entries.map((entry) => join(modules, `${entry}.js`)),
    outbase: modules,
    outdir: dist,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    // Messages and checks read class names ("got a Dataset made by another copy"); esbuild would rename a class that refers to itself (_Dataset).
    keepNames: true,
    // tsc's maps are followed, so a stack trace run with --enable-source-maps names the TypeScript source.
    sourcemap: true,
    logLevel: 'warning',
    write: false,
  });
  const made = new Set();
  for (const file of outputFiles) {
    made.add(relative(dist, file.path));
    if (existsSync(file.path) && readFileSync(file.path).equals(file.contents)) continue;
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.tmp-${process.pid}`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
  for (const path of bundledFiles(dist)) if (!made.has(path)) rmSync(join(dist, path));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const folders = process.argv.length > 2 ? process.argv.slice(2).map((folder) => resolve(folder)) : Object.keys(ENTRIES).map((name) => join(root, 'packages', name));
  for (const folder of folders) await bundlePackage(folder);
}
