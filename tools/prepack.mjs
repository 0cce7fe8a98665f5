// The "prepack" script of every published package (run by `pnpm pack` and `pnpm publish` in the
// package's folder): builds the WebAssembly kernels, the ONNX schema module and the package's TypeScript project with its
// references, and bundles it (tools/bundle.mjs), so that even a clone that was never built packs a whole
// package, then checks that every source file has its compiled .js and .d.ts and that the package's
// LICENSE is the repository's.
// A build that is up to date writes nothing, so packing while tests run is safe.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundlePackage } from './bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const folder = process.cwd();
const name = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')).name;
/** Where tsc writes the package's modules; the bundles beside it are made from them. */
const modules = join(folder, 'dist', 'modules');
const tsc = join(dirname(createRequire(join(root, 'package.json')).resolve('typescript/package.json')), 'bin', 'tsc');
const run = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

function filesUnder(dir, keep) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, keep);
    return keep(entry.name) ? [path] : [];
  });
}
const sources = (dir) => filesUnder(dir, (name) => name.endsWith('.ts') && !name.endsWith('.d.ts'));

/** Source files whose compiled output is missing (tsc -b does not notice one deleted output file). */
const missing = () =>
  sources(join(folder, 'src')).filter((file) => {
    const out = join(modules, relative(join(folder, 'src'), file)).replace(/\.ts$/, '');
    return !existsSync(`${out}.js`) || !existsSync(`${out}.d.ts`);
  });

try {
  run([join(root, 'tools', 'build-kernels.mjs')]);
  run([join(root, 'tools', 'build-onnx-proto.mjs')]);
  run([tsc, '-b', folder]);
  if (missing().length > 0) run([tsc, '-b', '--force', folder]);
} catch {
  console.error(`${name}: prepack: the build failed (output above); run pnpm install in the repository first`);
  process.exit(1);
}
// tsc never deletes the outputs of a source file that is gone; they must not ship.
const COMPILED = /\.(js|d\.ts)(\.map)?$/;
for (const file of filesUnder(modules, (name) => COMPILED.test(name))) {
  const source = join(folder, 'src', relative(modules, file)).replace(COMPILED, '.ts');
  if (!existsSync(source)) rmSync(file);
}
const left = missing();
if (left.length > 0) {
  console.error(`${name}: prepack: ${relative(folder, left[0])} has no compiled .js and .d.ts in dist/modules/ after a forced build`);
  process.exit(1);
}
await bundlePackage(folder);
const license = join(folder, 'LICENSE');
if (!existsSync(license) || readFileSync(license, 'utf8') !== readFileSync(join(root, 'LICENSE'), 'utf8')) {
  console.error(`${name}: prepack: ${basename(folder)}/LICENSE must be a copy of the repository's LICENSE`);
  process.exit(1);
}
