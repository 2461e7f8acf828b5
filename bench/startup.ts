/**
 * Start-up cost of `batchctl --help`, `batchctl validate` and `batchctl init` against `node -e 0`
 * (target <= 2x), and proof that none loads an AWS SDK client. Measured in one run, interleaved, median
 * of N. `init` writes a new file each run, in a temporary directory.
 * Run: npm run build && npm run bench:startup  (options: RUNS=15)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = Number(process.env.RUNS ?? 15);
const scratchDir = mkdtempSync(join(tmpdir(), 'bench-init-'));
let inits = 0;
const cases: Record<string, () => string[]> = {
  'node -e 0': () => ['-e', '0'],
  'batchctl --help': () => ['bin/batchctl', '--help'],
  'batchctl validate': () => ['bin/batchctl', 'validate'],
  'batchctl init': () => [
    'bin/batchctl',
    '-c',
    join(scratchDir, `${inits++}.yaml`),
    'init',
    '--stack',
    'bench',
    '--region',
    'eu-west-1',
  ],
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < RUNS; i++) {
  for (const [name, args] of Object.entries(cases)) {
    const argv = args();
    const t0 = performance.now();
    const res = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8' });
    times[name]!.push(performance.now() - t0);
    if (res.status !== 0) throw new Error(`${name} exited ${res.status}: ${res.stderr}`);
  }
}
const median = (xs: number[] = []) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const base = median(times['node -e 0']);
for (const name of Object.keys(cases)) {
  const m = median(times[name]);
  console.log(`${name.padEnd(20)} median ${m.toFixed(1)} ms  (${(m / base).toFixed(2)}x node -e 0)`);
}
for (const name of ['batchctl --help', 'batchctl validate', 'batchctl init']) {
  const res = spawnSync(process.execPath, ['--import', './bench/import-trace.mjs', ...cases[name]!()], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const line = res.stderr.split('\n').find((l) => l.startsWith('aws-clients-loaded:'));
  console.log(`${name.padEnd(20)} AWS clients loaded: ${line?.slice('aws-clients-loaded: '.length)}`);
}
rmSync(scratchDir, { recursive: true, force: true });
