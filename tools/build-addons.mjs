// Builds the workspace's Node-API addons with node-gyp: @lockstep/mpi's (packages/mpi/native) where
// Open MPI is installed, and @lockstep/native's kernels (packages/native/native) where a C++ compiler
// is. Where one cannot be built it says so and leaves the build green, since both packages are
// optional. Part of the workspace build; the outputs (native/build/) are not committed.
//
// node-gyp gets --nodedir at the Node that runs this script (its include/node holds the Node-API
// headers), so it never downloads headers: only the npm registry and apt are reachable.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nodedir = dirname(dirname(process.execPath));
const available = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

const ADDONS = [
  { name: '@lockstep/mpi', folder: 'mpi', ready: () => available('mpicc', ['--showme:version']), skipped: 'no mpicc; apt-get install openmpi-bin libopenmpi-dev' },
  { name: '@lockstep/native', folder: 'native', ready: () => process.arch === 'x64' && available('c++', ['--version']), skipped: process.arch === 'x64' ? 'no C++ compiler; apt-get install g++' : `its kernels are for x86-64, this is ${process.arch}` },
];

for (const addon of ADDONS) {
  if (!addon.ready()) {
    console.log(`${addon.name}: skipped (${addon.skipped})`);
    continue;
  }
  if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
    throw new Error(`${addon.name}: no Node-API headers in ${nodedir}/include/node; a Node.js that ships its headers (its include/node) is needed`);
  }
  const pkg = fileURLToPath(new URL(`../packages/${addon.folder}/`, import.meta.url));
  const nodeGyp = createRequire(join(pkg, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  const native = join(pkg, 'native');
  // configure once, then let make rebuild only what changed.
  const steps = existsSync(join(native, 'build', 'Makefile')) ? ['build'] : ['configure', 'build'];
  try {
    execFileSync(process.execPath, [nodeGyp, ...steps, `--nodedir=${nodedir}`, `--directory=${native}`], { stdio: 'pipe' });
  } catch (error) {
    process.stderr.write(`${error.stdout}${error.stderr}`);
    throw new Error(`${addon.name}: the addon failed to build (node-gyp output above)`);
  }
  console.log(`${addon.name}: built`);
}
