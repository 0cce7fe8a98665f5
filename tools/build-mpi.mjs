// Builds @lockstep/mpi's Open MPI addon (packages/mpi/native) with node-gyp, where Open MPI is
// installed; elsewhere it says so and leaves the build green, since the package is optional. Part of
// the workspace build; the output (native/build/) is not committed.
//
// node-gyp gets --nodedir at the Node that runs this script (its include/node holds the Node-API
// headers), so it never downloads headers: only the npm registry and apt are reachable.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const SKIPPED = '@lockstep/mpi: skipped (no mpicc; apt-get install openmpi-bin libopenmpi-dev)';
const pkg = new URL('../packages/mpi/', import.meta.url).pathname;
const nodedir = dirname(dirname(process.execPath));

if (spawnSync('mpicc', ['--showme:version'], { stdio: 'ignore' }).status !== 0) {
  console.log(SKIPPED);
} else {
  if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
    throw new Error(`@lockstep/mpi: no Node-API headers in ${nodedir}/include/node; a Node.js that ships its headers (its include/node) is needed`);
  }
  const nodeGyp = createRequire(join(pkg, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  const native = join(pkg, 'native');
  // configure once, then let make rebuild only what changed.
  const steps = existsSync(join(native, 'build', 'Makefile')) ? ['build'] : ['configure', 'build'];
  try {
    execFileSync(process.execPath, [nodeGyp, ...steps, `--nodedir=${nodedir}`, `--directory=${native}`], { stdio: 'pipe' });
  } catch (error) {
    process.stderr.write(`${error.stdout}${error.stderr}`);
    throw new Error('@lockstep/mpi: the addon failed to build (node-gyp output above)');
  }
  console.log('@lockstep/mpi: built');
}
