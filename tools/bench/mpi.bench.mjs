/**
 * Ranks against threads, and ranks over shaped links: samples/s and the communication share of a
 * step (rank 0's exchangeSeconds / stepSeconds, from lockstep's own FitTimings; the exchange includes
 * waiting for the slowest rank) of the reference MLP and the CNN of examples/configs/cnn.json, batch
 * 128, chunk 32, for 1 process x 1 and 2 worker threads, 2 ranks x 1 thread over loopback (mpirun on
 * this machine), and 2 and 4 ranks x 1 thread on simulated hosts (tools/mpi/hosts.mjs: network
 * namespaces, Open MPI over TCP) whose links are shaped to 1 and 10 Gbit/s. Interleaved repetitions,
 * medians. Also the bytes each rank sends a step, computed from the model (docs/design.md, "Bytes"),
 * and the inputs of a paper estimate of step time on more hosts.
 *
 * Usage: node tools/bench/mpi.bench.mjs [--model mlp|cnn (default: both)] [--reps R (default 3)]
 *   [--mlp-steps S (default 100)] [--cnn-steps S (default 30)]
 * Uses Fashion-MNIST when Debian's dataset-fashion-mnist is installed, else synthetic samples.
 * The shaped rows need root (ip netns); without it they are left out with one line.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fashionMnistInstalled } from '../../examples/dist/fashion-mnist-data.js';
import { mpiAvailable } from '../../packages/mpi/dist/index.js';
import { createSimulatedHosts, simulatedHostsUnavailable } from '../mpi/hosts.mjs';
import { median } from './median.mjs';
import { oneOf, parseFlags, positiveInteger } from './options.mjs';

const BATCH = 128;
const CHUNK = 32;
const CHUNKS_PER_STEP = BATCH / CHUNK;

if (!mpiAvailable()) {
  console.log('mpi.bench: skipped, Open MPI or the @lockstep/mpi addon is missing (apt-get install openmpi-bin libopenmpi-dev, then pnpm build)');
  process.exit(0);
}

const values = parseFlags({
  model: { type: 'string' },
  reps: { type: 'string', default: '3' },
  'mlp-steps': { type: 'string', default: '100' },
  'cnn-steps': { type: 'string', default: '30' },
});
const reps = positiveInteger('reps', values.reps);
const steps = { mlp: positiveInteger('mlp-steps', values['mlp-steps']), cnn: positiveInteger('cnn-steps', values['cnn-steps']) };
const modelNames = values.model === undefined ? ['mlp', 'cnn'] : [oneOf('model', values.model, ['mlp', 'cnn'])];
const titles = { mlp: 'reference MLP 784-512-512-10', cnn: 'CNN of examples/configs/cnn.json' };

const DRIVER = fileURLToPath(new URL('./mpi-steps.mjs', import.meta.url));
const LAUNCH_TRIES = 3;
const RUN_AS_ROOT = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
// As packages/mpi/test/mpirun.ts: more ranks than cores, unbound, TCP on the loopback interface only.
const LOOPBACK = ['mpirun', '--oversubscribe', '--bind-to', 'none', '--mca', 'btl', 'self,tcp', '--mca', 'btl_tcp_if_include', 'lo'];

const hostsUnavailable = simulatedHostsUnavailable();
// Ctrl-C ends the bench through process.exit, so the simulated hosts' exit handler removes them.
process.once('SIGINT', () => process.exit(130));
const hosts = hostsUnavailable === null ? createSimulatedHosts(4) : null;

const setups = [
  { name: '1 process x 1 thread', workers: 1, launch: () => [] },
  { name: '1 process x 2 threads', workers: 2, launch: () => [] },
  { name: '2 ranks x 1, loopback', workers: 1, launch: () => [...LOOPBACK, '-np', '2'] },
  ...(hosts === null
    ? []
    : [1, 10].flatMap((gbits) =>
        [2, 4].map((ranks) => ({ name: `${ranks} ranks x 1, ${gbits} Gbit/s`, ranks, gbits, workers: 1, launch: () => (hosts.shape(gbits), hosts.mpirun(ranks)) })),
      )),
];

/** One run of the driver: rank 0's timings and the model's parameter count. */
function measure(model, setup) {
  const [command, ...prefix] = [...setup.launch(), process.execPath, DRIVER];
  const args = [...prefix, '--model', model, '--steps', String(steps[model]), '--workers', String(setup.workers), '--chunk', String(CHUNK)];
  // Open MPI at times fails to start its daemon on a simulated host ("ORTE was unable to reliably
  // start one or more daemons"); a launch that fails is tried again, up to LAUNCH_TRIES times.
  let run;
  for (let attempt = 1; attempt <= LAUNCH_TRIES; attempt++) {
    run = spawnSync(command, args, { env: { ...process.env, ...RUN_AS_ROOT }, encoding: 'utf8', timeout: 300_000 });
    if (run.status === 0) break;
  }
  if (run.status !== 0) {
    const said = run.stderr.split('\n').find((line) => /[a-z]/i.test(line)) ?? '';
    console.error(`mpi.bench: ${setup.name}: ${command} ${args.join(' ')} ended with ${run.status ?? run.signal} ${LAUNCH_TRIES} times; it said: ${said.trim()}`);
    process.exit(1);
  }
  const { parameters, timings } = JSON.parse(run.stdout.trim().split('\n').at(-1));
  return {
    parameters,
    samplesPerSecond: (timings.steps * BATCH) / timings.stepSeconds,
    stepMs: (1000 * timings.stepSeconds) / timings.steps,
    exchangeMs: (1000 * timings.exchangeSeconds) / timings.steps,
    share: timings.exchangeSeconds / timings.stepSeconds,
  };
}

function compare(model) {
  console.log(`${titles[model]}, batch ${BATCH}, chunk ${CHUNK}, ${steps[model]} timed steps, ${fashionMnistInstalled() ? 'Fashion-MNIST' : 'synthetic'} samples, ${reps} interleaved repetitions`);
  const runs = new Map(setups.map((setup) => [setup.name, []]));
  let parameters = 0;
  for (let rep = 1; rep <= reps; rep++) {
    for (const setup of setups) {
      const result = measure(model, setup);
      parameters = result.parameters;
      runs.get(setup.name).push(result);
      console.log(`  rep ${rep} ${setup.name.padEnd(24)} ${result.samplesPerSecond.toFixed(0).padStart(6)} samples/s, step ${result.stepMs.toFixed(1)} ms, exchange ${result.exchangeMs.toFixed(1)} ms`);
    }
  }
  const m = (name, field) => median(runs.get(name).map((r) => r[field]));
  const bytes = 4 * parameters + 16 * CHUNKS_PER_STEP;
  console.log(`bytes sent per rank per step, computed (4 x ${parameters} parameters + 16 x ${CHUNKS_PER_STEP} chunks): ${bytes} (${(bytes / 1e6).toFixed(2)} MB)`);
  console.log('                            samples/s   step ms   exchange ms   communication share');
  for (const { name } of setups) {
    console.log(`${name.padEnd(26)} ${m(name, 'samplesPerSecond').toFixed(0).padStart(10)} ${m(name, 'stepMs').toFixed(1).padStart(9)} ${m(name, 'exchangeMs').toFixed(1).padStart(13)} ${(100 * m(name, 'share')).toFixed(1).padStart(20)}%`);
  }
  const ratio = (a, b) => (m(a, 'samplesPerSecond') / m(b, 'samplesPerSecond')).toFixed(2);
  console.log(`samples/s, 2 ranks x 1 on loopback / 1 process x 2 threads: ${ratio('2 ranks x 1, loopback', '1 process x 2 threads')}x`);
  if (hosts !== null) {
    for (const ranks of [2, 4]) console.log(`samples/s, ${ranks} ranks at 10 Gbit/s / at 1 Gbit/s: ${ratio(`${ranks} ranks x 1, 10 Gbit/s`, `${ranks} ranks x 1, 1 Gbit/s`)}x`);
    const exchange = [1, 10].flatMap((gbits) => [2, 4].map((ranks) => `${ranks} ranks at ${gbits} Gbit/s ${(m(`${ranks} ranks x 1, ${gbits} Gbit/s`, 'exchangeMs') / 1000).toFixed(4)} s`));
    console.log(`estimate inputs: compute ${(m('1 process x 1 thread', 'stepMs') / 1000).toFixed(4)} s a step on 1 rank x 1 thread; ${bytes} bytes sent per rank per step; exchange per step: ${exchange.join(', ')}`);
  }
}

try {
  if (hostsUnavailable !== null) console.log(`mpi.bench: the shaped-link rows are left out: ${hostsUnavailable}`);
  console.log(`this machine has ${availableParallelism()} cores; rows with more ranks than that oversubscribe them`);
  for (const model of modelNames) compare(model);
} finally {
  hosts?.remove();
}
