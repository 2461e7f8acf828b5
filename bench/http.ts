/**
 * What a user waits for, measured as they run it: the built CLI in its own process, its AWS calls going
 * over HTTP (the SDK's own request path, agent and sockets) to the fake AWS served by this process, every
 * call held LATENCY_MS (default 50). Interface endpoints become available at once (PENDING_MS=0, as an
 * emulator's do: their real minutes would only measure the poll interval).
 *   - `up` from empty, default stack: calls, calls per resource (target <= 2.2), sequential round trips
 *     (target <= 15), wall against the article's stack built call after call (bench/article-stack.ts, the
 *     same 37 create calls one after another, its own process built and run the same way): median of RUNS
 *     interleaved pairs, target <= 0.5;
 *   - no-op `plan` and `up`, default stack and 50 jobs: calls per resource (target <= 1.1);
 *   - no-op `plan` of 50 jobs against 1 job: median of RUNS interleaved pairs of walls (target <= 1.5);
 *   - the 50-job no-op plan with the SDK's default sockets per client (50) against batchctl's.
 * Run: npm run build && npm run bench:http   (options: RUNS=5 LATENCY_MS=50 PENDING_MS=0 JOBS=50)
 */
import { createFakeAws } from '../test/fake-aws/index.js';
import { serveFake } from '../test/fake-aws/http.js';
import { scratch, upOn } from '../test/helpers/stack.js';
import { DEFAULT_CONFIG_PATH, ROOT, jobsConfig } from '../test/helpers/ctx.js';
import { readFileSync } from 'node:fs';
import { buildGraph } from '../src/engine/graph.js';
import { RESOURCE_KINDS } from '../src/resources/index.js';
import { loadConfig } from '../src/config/load.js';
import { defaultBucketName } from '../src/config/schema.js';
import { Pacer } from '../src/aws/pacing.js';
import {
  bundle,
  describeRun,
  median,
  ms,
  runCli,
  runProcess,
  served,
  stackDir,
  type Served,
} from '../test/helpers/http-cli.js';

const RUNS = Number(process.env.RUNS ?? 5);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);
const PENDING_MS = Number(process.env.PENDING_MS ?? 0);
const JOBS = Number(process.env.JOBS ?? 50);
const ACCOUNT = createFakeAws({ install: false }).core.account;

/** The resources of a config: its graph's nodes. */
async function resourcesOf(configPath: string): Promise<number> {
  const config = await loadConfig(configPath);
  config.bucket.name ??= defaultBucketName(config.stack, ACCOUNT, config.region);
  return buildGraph(config, RESOURCE_KINDS).nodes.length;
}

const fresh = () => served({ latencyMs: LATENCY_MS, pendingMs: PENDING_MS });
const article = await bundle('bench/article-stack.ts', 'article-stack');
const defaultText = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');

console.log(
  `the built CLI over HTTP against the fake AWS: ${LATENCY_MS} ms per call, interface endpoints pending ${PENDING_MS} ms, ${RUNS} runs`,
);

// 1. up from empty against the article's stack built call after call, interleaved pairs.
const ratios: number[] = [];
const ups: Awaited<ReturnType<typeof runCli>>[] = [];
const bases: Awaited<ReturnType<typeof runProcess>>[] = [];
let last: { s: Served; config: string } | undefined;
for (let i = 0; i < RUNS; i++) {
  const s = await fresh();
  const { config } = stackDir(defaultText);
  const up = await runCli(s, config, ['up', '--yes']);
  if (last) await last.s.close();
  last = { s, config };
  const b = await fresh();
  const base = await runProcess(b, [article], { cwd: ROOT, env: { ACCOUNT } });
  await b.close();
  if (base.status !== 0) throw new Error(`the article's stack failed: ${base.stdout}${base.stderr}`);
  ups.push(up);
  bases.push(base);
  ratios.push(up.wallMs / base.wallMs);
}
const resources = await resourcesOf(last!.config);
const mid = <T extends { wallMs: number }>(xs: T[]): T =>
  xs.slice().sort((a, b) => a.wallMs - b.wallMs)[Math.floor(xs.length / 2)]!;
console.log(`up from empty (${resources} resources), median run: ${describeRun(mid(ups), resources)}`);
console.log(
  `  round trips per run: ${ups.map((u) => u.roundTrips).join(', ')} (target <= 15); calls per run: ${ups.map((u) => u.calls.length).join(', ')}`,
);
console.log(
  `the article's stack call after call, median run: ${mid(bases).calls.length} calls, ${mid(bases).roundTrips} round trips, wall ${ms(mid(bases).wallMs)} (${ms(mid(bases).beforeFirstCallMs)} before the first call)`,
);
console.log(
  `  up / article: ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)} (target <= 0.50)`,
);

// 2. No-op plan and up, default stack (the last stack built above).
// Without a terminal `up` applies only with --yes, as in CI.
const noop = (cmd: string) => (cmd === 'up' ? ['up', '--yes'] : [cmd]);
for (const cmd of ['plan', 'up']) {
  const r = await runCli(last!.s, last!.config, noop(cmd));
  console.log(`no-op ${cmd} (${resources} resources): ${describeRun(r, resources)} (target <= 1.10 per resource)`);
}
await last!.s.close();

// 3. 50 jobs and 1 job: built in this process (no pacing: only the no-op runs are measured), then served.
async function jobsStack(n: number): Promise<{ s: Served; config: string; state: string; resources: number }> {
  const fake = createFakeAws();
  fake.ec2.endpointPendingMs = 0;
  const sc = scratch(jobsConfig(n));
  await upOn(sc, { pacer: new Pacer({}) });
  fake.uninstall();
  fake.core.latencyMs = LATENCY_MS;
  const server = await serveFake(fake);
  return {
    s: { fake, server, close: () => server.close() },
    config: sc.configPath,
    state: sc.statePath,
    resources: await resourcesOf(sc.configPath),
  };
}
const many = await jobsStack(JOBS);
const one = await jobsStack(1);
for (const cmd of ['plan', 'up']) {
  const r = await runCli(many.s, many.config, ['--state', many.state, ...noop(cmd)]);
  console.log(
    `no-op ${cmd}, ${JOBS} jobs (${many.resources} resources): ${describeRun(r, many.resources)} (target <= 1.10 per resource)`,
  );
}
const pairs: number[] = [];
const walls: [number, number][] = [];
for (let i = 0; i < RUNS; i++) {
  const a = await runCli(one.s, one.config, ['--state', one.state, 'plan']);
  const b = await runCli(many.s, many.config, ['--state', many.state, 'plan']);
  walls.push([a.wallMs, b.wallMs]);
  pairs.push(b.wallMs / a.wallMs);
}
console.log(
  `no-op plan, ${JOBS} jobs against 1: walls ${walls.map(([a, b]) => `${Math.round(b)}/${Math.round(a)}`).join(', ')} ms; median ratio ${median(pairs).toFixed(2)} (target <= 1.50)`,
);

// 4. The SDK's default sockets per client (50) against batchctl's, on the 50-job no-op plan.
const sockets = {
  sdk: { wall: [] as number[], trips: [] as number[] },
  batchctl: { wall: [] as number[], trips: [] as number[] },
};
for (let i = 0; i < RUNS; i++) {
  for (const [who, env] of [
    ['sdk', { FAKE_MAX_SOCKETS: '50' }],
    ['batchctl', {}],
  ] as const) {
    const r = await runCli(many.s, many.config, ['--state', many.state, 'plan'], { env });
    sockets[who].wall.push(r.callsMs);
    sockets[who].trips.push(r.roundTrips);
  }
}
const sock = (who: keyof typeof sockets) =>
  `${ms(median(sockets[who].wall))} of calls, ${median(sockets[who].trips)} sequential round trips`;
console.log(
  `no-op plan, ${JOBS} jobs, medians: ${sock('sdk')} with the SDK's 50 sockets per client; ${sock('batchctl')} with batchctl's`,
);
await many.s.close();
await one.s.close();
