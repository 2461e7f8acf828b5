/**
 * Running what users run, for the benchmarks (and the tests of the wire itself): the built CLI (bin/batchctl, loading
 * dist/) as its own process,
 * its AWS calls going over HTTP to the fake AWS served by this process (test/fake-aws/http.ts) through the
 * SDK's own request path (test/fake-aws/wire.ts, preloaded). Process start, module loading, the SDK's
 * connection pool and the server's sockets all count; the fake adds its latency to every call and times
 * each one, so a run reports its calls and its sequential round trips.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { build, type Plugin } from 'esbuild';
import { createFakeAws, sequentialRoundTrips, type CallRecord, type FakeAws } from '../fake-aws/index.js';
import { serveFake, type ServedFake } from '../fake-aws/http.js';
import { ROOT } from './ctx.js';

/** Where bundled helpers go: inside node_modules, so their imports resolve to the repository's packages. */
const CACHE = join(ROOT, 'node_modules', '.cache', 'batchctl-bench');
const require = createRequire(import.meta.url);

/**
 * The SDK's service clients bundled from their ES modules (only the commands used are kept) and the shared
 * runtime left external, as esbuild.config.mjs builds the CLI: a program built with this loads the SDK as
 * the CLI does, so start-up costs compare.
 */
const sdkClients: Plugin = {
  name: 'sdk-clients',
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\/client-[a-z0-9-]+$/ }, (args) => {
      const pkg = require.resolve(`${args.path}/package.json`);
      return { path: join(dirname(pkg), JSON.parse(readFileSync(pkg, 'utf8')).module) };
    });
    b.onResolve({ filter: /^(@smithy\/|@aws-sdk\/)/ }, (args) => ({ path: args.path, external: true }));
  },
};

/** Bundle a TypeScript entry for running with plain node (no tsx in the measured process). */
export async function bundle(entry: string, name: string): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  const outfile = join(CACHE, `${name}.mjs`);
  await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile,
    minify: true,
    plugins: [sdkClients],
    logLevel: 'warning',
  });
  return outfile;
}

/** The preload that sends the CLI's calls to the served fake (test/fake-aws/wire.ts), bundled once per run. */
let preload: Promise<string> | undefined;
export const wirePreload = (): Promise<string> => (preload ??= bundle('test/fake-aws/wire.ts', 'wire'));

/** A fake AWS served over HTTP, with AWS's latency per call and an interface endpoint pending time. */
export interface Served {
  fake: FakeAws;
  server: ServedFake;
  close(): Promise<void>;
}

export async function served(opts: { latencyMs: number; pendingMs: number; throttling?: boolean }): Promise<Served> {
  const fake = createFakeAws({ install: false });
  fake.core.latencyMs = opts.latencyMs;
  fake.ec2.endpointPendingMs = opts.pendingMs;
  if (opts.throttling) fake.core.enableThrottling();
  const server = await serveFake(fake);
  return { fake, server, close: () => server.close() };
}

/** A scratch directory holding a config. */
export function stackDir(configText: string): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'batchctl-bench-'));
  const config = join(dir, 'batch.config.yaml');
  writeFileSync(config, configText);
  return { dir, config };
}

/** What one process did: its exit, wall time, and the calls the fake saw from it, with their timing. */
export interface ProcessRun {
  status: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  calls: CallRecord[];
  /** Calls that change the stack (the stack lock's own writes, taken and released, left out). */
  mutating: number;
  /** The longest run of calls each sent after the previous one was answered. */
  roundTrips: number;
  /** The peak resident set of the process, in KB (with `rss`). */
  maxRssKb?: number;
  /** From the process's start to its first call, over its calls, and from its last answer to its exit. */
  beforeFirstCallMs: number;
  callsMs: number;
  afterLastCallMs: number;
}

/** Run `args` with node (the preload first) against `s`, and collect what the fake saw. */
export async function runProcess(
  s: Served,
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; /** Under GNU time: `maxRssKb` is set. */ rss?: boolean },
): Promise<ProcessRun> {
  const pre = await wirePreload();
  s.fake.core.resetCalls();
  const t0 = performance.timeOrigin + performance.now();
  const child = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ENDPOINT_URL: s.server.url,
      AWS_ACCESS_KEY_ID: 'AKIAFAKEBENCH',
      AWS_SECRET_ACCESS_KEY: 'fake',
      ...opts.env,
    };
    // The machine's own AWS settings must not reach the measured process.
    for (const k of ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION'])
      if (!opts.env?.[k]) delete env[k];
    const argv = [process.execPath, '--import', pre, ...args];
    // GNU time's %M: the process's peak resident set, in KB.
    const p = opts.rss
      ? spawn('/usr/bin/time', ['-f', 'maxrss=%M', ...argv], { cwd: opts.cwd, env })
      : spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  const t1 = performance.timeOrigin + performance.now();
  const calls = [...s.fake.core.calls];
  const first = Math.min(...calls.map((c) => c.startedAt));
  const last = Math.max(...calls.map((c) => c.endedAt ?? c.startedAt));
  const rss = /maxrss=(\d+)/.exec(child.stderr)?.[1];
  return {
    ...child,
    ...(rss ? { maxRssKb: Number(rss) } : {}),
    wallMs: t1 - t0,
    calls,
    mutating: calls.filter((c) => c.mutating && !c.lock).length,
    roundTrips: sequentialRoundTrips(calls),
    beforeFirstCallMs: calls.length ? first - t0 : NaN,
    callsMs: calls.length ? last - first : 0,
    afterLastCallMs: calls.length ? t1 - last : NaN,
  };
}

/** Run the built CLI (bin/batchctl) with `args` against `s`. Throws when it exits non-zero (unless `allowFailure`). */
export async function runCli(
  s: Served,
  config: string,
  args: string[],
  opts: { env?: Record<string, string>; allowFailure?: boolean; rss?: boolean } = {},
): Promise<ProcessRun> {
  const run = await runProcess(s, [join(ROOT, 'bin/batchctl'), '-c', config, ...args], {
    cwd: dirname(config),
    env: opts.env,
    rss: opts.rss,
  });
  if (run.status !== 0 && !opts.allowFailure) {
    throw new Error(
      `batchctl ${args.join(' ')} exited ${run.status}:\n${run.stdout.slice(-1500)}\n${run.stderr.slice(-1500)}`,
    );
  }
  return run;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export const ms = (n: number): string => `${Math.round(n)} ms`;

/** One line about a run: calls, per resource, mutating, round trips, wall and its split. */
export function describeRun(r: ProcessRun, resources: number): string {
  return (
    `${r.calls.length} calls (${(r.calls.length / resources).toFixed(2)} per resource, ${r.mutating} mutating), ` +
    `${r.roundTrips} sequential round trips, wall ${ms(r.wallMs)} (${ms(r.beforeFirstCallMs)} before the first call, ` +
    `${ms(r.callsMs)} of calls, ${ms(r.afterLastCallMs)} after the last)`
  );
}
