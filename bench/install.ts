/**
 * What a user installs and how fast it starts, measured as users get it: the package is packed
 * (`npm pack`, which builds), installed into an empty directory with npm, and the installed `batchctl`
 * runs as its own process. Reported: the installed size and package count, and start-up wall time
 * (median of interleaved runs, and its ratio to `node -e 0`) of `--help`, `validate`, and `plan` and
 * `status` against the fake AWS served over HTTP (no latency: the time is process start and module
 * loading, which the per-client re-exports shrink). With BASELINE=<another checkout> the same is
 * measured for it in the same run, interleaved, so the two can be compared under the same load.
 * Run: npm run bench:install   (options: RUNS=15 BASELINE=/path/to/checkout)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { createFakeAws } from '../test/fake-aws/index.js';
import { serveFake } from '../test/fake-aws/http.js';
import { ROOT, DEFAULT_CONFIG_PATH } from '../test/helpers/ctx.js';

const RUNS = Number(process.env.RUNS ?? 15);
const work = mkdtempSync(join(tmpdir(), 'batchctl-install-'));

interface Installed {
  name: string;
  bin: string;
  preload: string;
  bytes: number;
  packages: number;
  tarball: number;
}

function du(dir: string): number {
  return Number(spawnSync('du', ['-sb', dir], { encoding: 'utf8' }).stdout.split('\t')[0]);
}

/** Packages under node_modules (scoped ones counted one by one), at any depth. */
function countPackages(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.name.startsWith('@')) {
      for (const s of readdirSync(p))
        n += 1 + (existsSync(join(p, s, 'node_modules')) ? countPackages(join(p, s, 'node_modules')) : 0);
    } else {
      n += 1 + (existsSync(join(p, 'node_modules')) ? countPackages(join(p, 'node_modules')) : 0);
    }
  }
  return n;
}

async function install(name: string, checkout: string): Promise<Installed> {
  const dest = join(work, name);
  mkdirSync(dest, { recursive: true });
  const packed = spawnSync('npm', ['pack', '--pack-destination', dest, '--silent'], {
    cwd: checkout,
    encoding: 'utf8',
  });
  if (packed.status !== 0) throw new Error(`npm pack in ${checkout}: ${packed.stderr}`);
  const tgz = join(dest, packed.stdout.trim().split('\n').at(-1)!);
  writeFileSync(join(dest, 'package.json'), '{ "private": true }\n');
  const inst = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', tgz], {
    cwd: dest,
    encoding: 'utf8',
  });
  if (inst.status !== 0) throw new Error(`npm install ${tgz}: ${inst.stderr}`);
  const modules = join(dest, 'node_modules');
  // The fake's client side, bundled beside the install so that it patches the SDK runtime the installed
  // CLI loads (its own node_modules), not the repository's.
  const preload = join(modules, '.batchctl-bench', 'remote-preload.mjs');
  await build({
    entryPoints: [join(ROOT, 'test/fake-aws/remote-preload.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: preload,
    external: ['@aws-sdk/*', '@smithy/*'],
    logLevel: 'warning',
  });
  return {
    name,
    bin: join(modules, 'batchctl', 'bin', 'batchctl'),
    preload,
    bytes: du(modules) - du(join(modules, '.batchctl-bench')),
    packages: countPackages(modules),
    tarball: du(tgz),
  };
}

const trees: Installed[] = [await install('current', ROOT)];
if (process.env.BASELINE) trees.push(await install('baseline', process.env.BASELINE));

const served = createFakeAws({ install: false });
const server = await serveFake(served);
const env = {
  ...process.env,
  FAKE_AWS_URL: server.url,
  AWS_ENDPOINT_URL: undefined,
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'x',
};

/** Run one command to its end; resolves with its wall time (not spawnSync: the fake is served here). */
function timed(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const p = spawn(process.execPath, args, { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    p.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - t)
        : reject(new Error(`${args.join(' ')}: exit ${code}: ${err.slice(-500)}`)),
    );
  });
}

const state = join(work, 'state.json');
const cases: [string, (t: Installed) => string[]][] = [
  ['--help', (t) => [t.bin, '--help']],
  ['validate', (t) => [t.bin, '-c', DEFAULT_CONFIG_PATH, 'validate']],
  ['plan', (t) => ['--import', t.preload, t.bin, '-c', DEFAULT_CONFIG_PATH, '--state', state, 'plan']],
  ['status', (t) => ['--import', t.preload, t.bin, '-c', DEFAULT_CONFIG_PATH, '--state', state, 'status']],
];
const times = new Map<string, number[]>();
const add = (k: string, ms: number) => times.set(k, [...(times.get(k) ?? []), ms]);
for (let i = 0; i < RUNS + 1; i++) {
  // The first round warms the file cache and is not counted.
  const keep = i > 0;
  const base = await timed(['-e', '0']);
  if (keep) add('node -e 0', base);
  for (const [name, args] of cases) {
    for (const t of trees) {
      const ms = await timed(args(t));
      if (keep) add(`${t.name} ${name}`, ms);
    }
  }
}
await server.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
for (const t of trees) {
  console.log(
    `${t.name}: tarball ${mb(t.tarball)}; installed ${mb(t.bytes)} in ${t.packages} packages (node_modules of an empty project after npm install <tarball>)`,
  );
}
const nodeMs = median(times.get('node -e 0')!);
console.log(`node -e 0: median ${nodeMs.toFixed(0)} ms (${RUNS} runs each, interleaved)`);
for (const [name] of cases) {
  const row = trees.map((t) => {
    const m = median(times.get(`${t.name} ${name}`)!);
    return `${t.name} ${m.toFixed(0)} ms (${(m / nodeMs).toFixed(2)}x node -e 0)`;
  });
  if (trees.length === 2) {
    const [a, b] = trees.map((t) => median(times.get(`${t.name} ${name}`)!)) as [number, number];
    row.push(`current - baseline ${(a - b).toFixed(0)} ms`);
  }
  console.log(`batchctl ${name.padEnd(8)} ${row.join('; ')}`);
}
rmSync(work, { recursive: true, force: true });
