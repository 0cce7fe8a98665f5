// The consumer check: lockstep as someone outside this workspace gets it. The packages are packed from
// the working tree (their prepack builds them), installed from those tarballs with npm and with pnpm
// into projects in a temporary folder (lockstep's own packages never come from a registry; third-party
// ones do), and there the README's two library snippets are type-checked (strict, TypeScript's default
// libs, DOM included, no skipLibCheck), compiled and run, and `lockstep train --epochs 1` runs. Every
// printed value must equal the one the same code prints in the workspace. @lockstep/native is built in
// place there as its README says, so the consumers' workers run their products on it, while the
// workspace's values come from WebAssembly's kernels (LOCKSTEP_NATIVE_KERNELS=0): the same bits.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeKernels } from '@lockstep/native';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(dirname(createRequire(join(root, 'package.json')).resolve('typescript/package.json')), 'bin', 'tsc');
const PACKAGES = ['core', 'workers', 'cli', 'native'] as const;
const MANAGERS = ['npm', 'pnpm'] as const;
const version = (name: string): string => JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')).version;

/** The first ```ts block after the README heading `## title`. */
function readmeSnippet(title: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n## ${title}\n`);
  if (at === -1) throw new Error(`README.md has no section "## ${title}"`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (block === null) throw new Error(`README.md's "## ${title}" has no ts block`);
  return block[1]!;
}

const SNIPPETS = { fit: readmeSnippet('Use it as a library'), trainer: readmeSnippet('Train on every core') };

// Where the workspace's own build has native kernels (x86-64, a C++ compiler, AVX-512 or AVX2), the
// consumers build theirs; elsewhere they train on WebAssembly with the package installed but not built.
const nativeHere = 'kernels' in loadNativeKernels();
// The README's command, with the workspace's node-gyp (pinned) rather than npx's latest; --nodedir is
// the running Node's headers, so node-gyp downloads none.
const nodeGyp = createRequire(join(root, 'packages', 'native', 'package.json')).resolve('node-gyp/bin/node-gyp.js');
const BUILD_NATIVE = [nodeGyp, 'rebuild', '--directory=node_modules/@lockstep/native/native', `--nodedir=${dirname(dirname(process.execPath))}`];
// What the consumer's own thread gets from @lockstep/native, and whether @lockstep/workers' threads
// import that same copy (an optional peer, resolved beside them): with another, they would quietly
// run WebAssembly's kernels, and the fingerprint could not tell.
const NATIVE_CHECK = `import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { nativeMatmulIsa } from '@lockstep/core';
import { useNativeKernels } from '@lockstep/native';
const real = (specifier) => realpathSync(fileURLToPath(import.meta.resolve(specifier)));
const fromWorkers = createRequire(real('@lockstep/workers')).resolve('@lockstep/native');
console.log(JSON.stringify({ isa: useNativeKernels(), coreRunsOn: nativeMatmulIsa(), workersImportIt: realpathSync(fromWorkers) === real('@lockstep/native') }));
`;

const TSCONFIG = {
  // strict, and what a consumer has by default: no lib (so the DOM lib too), no skipLibCheck.
  compilerOptions: { strict: true, module: 'NodeNext', target: 'ES2022', outDir: 'out', types: ['node'] },
  files: Object.keys(SNIPPETS).map((name) => `${name}.ts`),
};

async function run(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await exec(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 16 << 20 })).stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

let work: string;
const tarball = (name: string): string => join(work, 'tarballs', `lockstep-${name}-${version(name)}.tgz`);
const project = (manager: string): string => join(work, manager);
// What the workspace prints for each snippet and for lockstep train --epochs 1.
const expected: Record<string, string> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'lockstep-consumer-'));
  mkdirSync(join(work, 'tarballs'));
  // One pack, shared by npm and pnpm; each package's prepack builds it (a no-op after the suite's build).
  await Promise.all(PACKAGES.map((name) => run('pnpm', ['pack', '--pack-destination', join(work, 'tarballs')], join(root, 'packages', name))));

  for (const manager of MANAGERS) {
    const dir = project(manager);
    mkdirSync(dir);
    const dependencies = Object.fromEntries(PACKAGES.map((name) => [`@lockstep/${name}`, `file:${tarball(name)}`]));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `lockstep-consumer-${manager}`, private: true, type: 'module', dependencies, devDependencies: { '@types/node': '20.19.43' } }, null, 2));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    for (const [name, code] of Object.entries(SNIPPETS)) writeFileSync(join(dir, `${name}.ts`), code);
    writeFileSync(join(dir, 'native-check.mjs'), NATIVE_CHECK);
  }
  // pnpm 10+ stops on dependencies' build scripts nobody approved; msgpackr-extract's is not needed (README, "Install").
  writeFileSync(join(project('pnpm'), 'pnpm-workspace.yaml'), 'allowBuilds:\n  msgpackr-extract: false\n');

  // Installing runs no script of @lockstep/native's, so each project builds it in place (README, "Install").
  const buildNative = async (manager: string) => {
    if (nativeHere) await run(process.execPath, BUILD_NATIVE, project(manager));
  };
  const installs = Promise.all([
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], project('npm')).then(() => buildNative('npm')),
    run('pnpm', ['install', '--prefer-offline', '--reporter=silent'], project('pnpm')).then(() => buildNative('pnpm')),
  ]);
  // Meanwhile, the workspace's own values on WebAssembly's kernels: the snippets compiled by the same
  // tsc and run where @lockstep/* resolve to this workspace's packages (node_modules/.cache is inside the root).
  const onWasm = { ...process.env, LOCKSTEP_NATIVE_KERNELS: '0' };
  const local = join(root, 'node_modules', '.cache', `lockstep-consumer-${process.pid}`);
  mkdirSync(local, { recursive: true });
  try {
    for (const [name, code] of Object.entries(SNIPPETS)) writeFileSync(join(local, `${name}.ts`), code);
    writeFileSync(join(local, 'package.json'), '{ "type": "module" }');
    writeFileSync(join(local, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    await run(process.execPath, [tsc, '-p', local], local);
    for (const name of Object.keys(SNIPPETS)) expected[name] = await run(process.execPath, [join(local, 'out', `${name}.js`)], local, onWasm);
  } finally {
    rmSync(local, { recursive: true, force: true });
  }
  expected.train = await run(process.execPath, [join(root, 'packages', 'cli', 'bin', 'lockstep.js'), 'train', '--epochs', '1', '--out', join(work, 'workspace-run')], work, onWasm);
  await installs;
});

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

const fingerprintOf = (output: string): string | undefined => /fingerprint ([0-9a-f]{16})/.exec(output)?.[1];

describe('the packed packages', () => {
  it('hold their build, LICENSE, README and metadata, with no build leftovers and no workspace: versions', () => {
    const installed = join(project('npm'), 'node_modules', '@lockstep');
    for (const name of PACKAGES) {
      const dir = join(installed, name);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(manifest).toMatchObject({ license: 'MIT', engines: { node: '>=20.10' }, repository: { directory: `packages/${name}` } });
      expect(JSON.stringify(manifest)).not.toContain('workspace:');
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(root, 'LICENSE'), 'utf8'));
      expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain(`# @lockstep/${name}`);
      expect(existsSync(join(dir, 'dist', 'index.js')) && existsSync(join(dir, 'dist', 'modules', 'index.d.ts'))).toBe(true);
      expect(existsSync(join(dir, 'dist', 'tsconfig.tsbuildinfo'))).toBe(false);
      // Every source map's sources are in the package.
      const maps = (readdirSync(join(dir, 'dist'), { recursive: true }) as string[]).filter((file) => file.endsWith('.map'));
      expect(maps.length).toBeGreaterThan(0);
      for (const map of maps) {
        for (const source of JSON.parse(readFileSync(join(dir, 'dist', map), 'utf8')).sources as string[]) expect(existsSync(join(dir, 'dist', dirname(map), source)), `${name}/dist/${map} -> ${source}`).toBe(true);
      }
    }
  });

  it("@lockstep/native's tarball holds the addon's source and no build of it", async () => {
    const files = (await run('tar', ['tzf', tarball('native')], work)).trim().split('\n');
    expect(files).toEqual(expect.arrayContaining(['package/native/binding.gyp', 'package/native/kernels.cc', 'package/dist/index.js']));
    expect(files.filter((file) => /native\/build\/|\.node$|tsbuildinfo/.test(file))).toEqual([]);
  });
});

describe.each(MANAGERS)('installed from the tarballs with %s, outside the workspace', (manager) => {
  it('type-checks the README snippets: strict, default libs (DOM included), no skipLibCheck', async () => {
    expect(await run(process.execPath, [tsc, '-p', project(manager)], project(manager))).toBe('');
  });

  it.each(Object.keys(SNIPPETS))('the README %s snippet prints what it prints in the workspace, fingerprint included', async (name) => {
    const output = await run(process.execPath, [join(project(manager), 'out', `${name}.js`)], project(manager));
    expect(fingerprintOf(output)).toMatch(/^[0-9a-f]{16}$/);
    expect(output).toBe(expected[name]);
  });

  it.skipIf(!nativeHere)('@lockstep/native, built in place, runs here, and is the copy the workers import', async () => {
    const output = JSON.parse(await run(process.execPath, ['native-check.mjs'], project(manager)));
    expect(output).toEqual({ isa: expect.stringMatching(/^(avx512|avx2)$/), coreRunsOn: output.isa, workersImportIt: true });
  });

  it('lockstep train --epochs 1 ends on the workspace fingerprint and writes its run folder', async () => {
    const args = ['lockstep', 'train', '--epochs', '1', '--out', 'run'];
    const output = manager === 'npm' ? await run('npx', ['--no-install', ...args], project(manager)) : await run('pnpm', ['exec', ...args], project(manager));
    expect(fingerprintOf(output)).toBe(fingerprintOf(expected.train!));
    expect(readdirSync(join(project(manager), 'run')).sort()).toEqual(['checkpoint.lockstep', 'config.json', 'curves.html', 'curves.svg', 'metrics.jsonl']);
  });
});
