import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// Workers and example scripts run the compiled dist/, so every test run starts from a fresh build.
export default function setup(): void {
  const require = createRequire(import.meta.url);
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-b'], { stdio: 'inherit' });
}
