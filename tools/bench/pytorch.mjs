// Runs tools/bench/torch_reference.py with Debian's PyTorch when it is installed. OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE are unset for that process only: set on this machine, they slow OpenBLAS down.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./torch_reference.py', import.meta.url));

export function pytorchAvailable() {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** Debian's reference BLAS, which PyTorch falls back to where no optimized one is installed. */
const REFERENCE_BLAS = /\/blas\/libblas\.so/;
let warnedOfReferenceBlas = false;

/** One measurement from the PyTorch reference, as the parsed JSON line it prints. */
export function pytorch(args) {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const result = spawnSync(PYTHON, [SCRIPT, ...args], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`torch_reference.py ${args.join(' ')} failed: ${result.stderr.trim()}`);
  const measured = JSON.parse(result.stdout);
  // Said at the first measurement, not only in the summary: the comparison would be with a PyTorch many times slower than it is.
  if (!warnedOfReferenceBlas && REFERENCE_BLAS.test(measured.blas ?? '')) {
    warnedOfReferenceBlas = true;
    console.error(`warning: PyTorch runs on Debian's reference BLAS (${measured.blas}), about 13x slower than on OpenBLAS; for a fair comparison install it: apt-get install -y libopenblas0-openmp`);
  }
  return measured;
}
