import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Workers, examples and the CLI run the compiled dist/, so every test run starts from a fresh build
// (the WebAssembly kernels and the ONNX descriptor first, then the addons: @lockstep/mpi's where Open MPI is installed, @lockstep/native's kernels where a C++ compiler is; then TypeScript, then the bundles).
export default function setup(): void {
  const require = createRequire(import.meta.url);
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  execFileSync(process.execPath, [fileURLToPath(new URL('../tools/build-kernels.mjs', import.meta.url))], { stdio: 'inherit' });
  execFileSync(process.execPath, [fileURLToPath(new URL('../tools/build-onnx-proto.mjs', import.meta.url))], { stdio: 'inherit' });
  execFileSync(process.execPath, [fileURLToPath(new URL('../tools/build-addons.mjs', import.meta.url))], { stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-b'], { stdio: 'inherit' });
  execFileSync(process.execPath, [fileURLToPath(new URL('../tools/bundle.mjs', import.meta.url))], { stdio: 'inherit' });
}
