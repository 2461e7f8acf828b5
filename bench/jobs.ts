/**
 * A stack of 50 jobs on the fake AWS at 50 ms per call, with AWS's throttling of mutating calls (the
 * per-service token buckets of test/fake-aws/throttling.ts) and interface endpoints pending 3 s:
 *   - `up` from empty: wall time against the lower bound any scheduler could reach given those limits:
 *     the longest dependency chain (each node costed at its step's duration in a run without throttling
 *     or pacing), and for each bucket its calls beyond the burst divided by its refill rate; target
 *     <= 1.3x, no failed step;
 * - no-op `up` and `plan`: mutating calls (target 0), calls per resource (target <= 1.1), sequential round trips, wall
 * (< 3 s);
 *   - `status`: calls for 1 job and for 50 (target: at most 3 more per job), wall (< 2 s);
 *   - peak RSS of the real CLI (the built dist/, in its own process) running `up` of the 50 jobs against
 *     the fake served over HTTP (target < 200 MB).
 * Run: npm run build && npm run bench:jobs   (options: JOBS=50 LATENCY_MS=50 PENDING_MS=3000 SKIP_RSS=1)
 */
import { rmSync } from 'node:fs';
import { createFakeAws, sequentialRoundTrips, type FakeAws } from '../test/fake-aws/index.js';
import { runCli, served, stackDir } from '../test/helpers/http-cli.js';
import { jobsConfig } from '../test/helpers/ctx.js';
import { scratch, upOn, type Scratch } from '../test/helpers/stack.js';
import { buildGraph, criticalPath } from '../src/engine/graph.js';
import { RESOURCE_KINDS } from '../src/resources/index.js';
import { loadConfig } from '../src/config/load.js';
import { runPlan } from '../src/stack/plan.js';
import { runStatus } from '../src/runs/status.js';
import { RecordingReporter } from '../src/engine/reporter.js';
import { Pacer } from '../src/aws/pacing.js';
import { defaultBucketName } from '../src/config/schema.js';

const JOBS = Number(process.env.JOBS ?? 50);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);
const PENDING_MS = Number(process.env.PENDING_MS ?? 3000);

function fakeAws(throttled: boolean): FakeAws {
  const fake = createFakeAws();
  fake.core.latencyMs = LATENCY_MS;
  fake.ec2.endpointPendingMs = PENDING_MS;
  if (throttled) fake.core.enableThrottling();
  return fake;
}

const r = (n: number) => Math.round(n);
const text = jobsConfig(JOBS);

// 1. Each step's own duration, in a run where nothing waits for a bucket: the critical path's costs.
const free = fakeAws(false);
const freeRun = await upOn(scratch(text), { pacer: new Pacer({}) });
free.uninstall();
const durations = new Map(freeRun.events.map((e) => [e.key, e.durationMs ?? 0]));

// 2. The measured run: AWS's throttling, the product's pacing.
const fake = fakeAws(true);
const s = scratch(text);
const t0 = performance.now();
const run = await upOn(s);
const wall = performance.now() - t0;
const config = await loadConfig(s.configPath);
config.bucket.name ??= defaultBucketName(config.stack, fake.core.account, config.region);
const graph = buildGraph(config, RESOURCE_KINDS);
const cp = criticalPath(graph, (k) => durations.get(k) ?? 0);
const throttler = fake.core.throttler!;
const buckets = [...throttler.passed]
  .map(([key, calls]) => {
    const rate = throttler.rateOf(key)!;
    return { key, calls, bound: (Math.max(0, calls - rate.capacity) / rate.perSecond) * 1000, rate };
  })
  .sort((a, b) => b.bound - a.bound);
const bound = Math.max(cp.length, ...buckets.map((b) => b.bound));
const refused = [...throttler.throttled.values()].reduce((a, b) => a + b, 0);

console.log(
  `${JOBS} jobs on the fake AWS: ${graph.nodes.length} resources, ${LATENCY_MS} ms per call, interface endpoints pending ${PENDING_MS} ms, AWS throttling on`,
);
console.log(
  `up from empty: wall ${r(wall)} ms, ${run.counts.failed} failed, ${run.counts.created} created, ${fake.core.count({ mutating: true })} mutating calls, ${refused} refused by throttling`,
);
console.log(`  critical path ${r(cp.length)} ms (${cp.path.length} steps: ${cp.path.join(' -> ')})`);
for (const b of buckets.slice(0, 4))
  console.log(
    `  bucket ${b.key}: ${b.calls} calls, burst ${b.rate.capacity}, ${b.rate.perSecond}/s -> at least ${r(b.bound)} ms`,
  );
console.log(`  lower bound ${r(bound)} ms; wall / bound = ${(wall / bound).toFixed(2)} (target <= 1.30)`);

// 3. No-op up and plan.
const resources = run.events.length;
for (const what of ['up', 'plan'] as const) {
  fake.core.resetCalls();
  const t = performance.now();
  if (what === 'up') await upOn(s);
  else await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
  const ms = performance.now() - t;
  // STS (who am I) and the preflight (zones, endpoint services) are per command, not per resource: counted anyway.
  const calls = fake.core.count();
  console.log(
    `no-op ${what}: ${resources} resources, ${calls} calls (${(calls / resources).toFixed(2)} per resource, target <= 1.10), ${sequentialRoundTrips(fake.core.calls)} sequential round trips, ${fake.core.count({ mutating: true })} mutating, wall ${r(ms)} ms (target < 3000); image check: ${fake.core.count({ op: 'DescribeImages' })} DescribeImages for ${JOBS} jobs sharing one repository (target 1)`,
  );
}

// 4. status: 1 job, then the 50.
async function statusCalls(f: FakeAws, st: Scratch): Promise<{ calls: number; ms: number }> {
  f.core.resetCalls();
  const t = performance.now();
  await runStatus({
    configPath: st.configPath,
    statePath: st.statePath,
    reporter: new RecordingReporter(),
    displayTimeZone: 'UTC',
  });
  return { calls: f.core.count(), ms: performance.now() - t };
}
const many = await statusCalls(fake, s);
fake.uninstall();
const one = fakeAws(false);
const s1 = scratch(jobsConfig(1));
await upOn(s1);
const single = await statusCalls(one, s1);
one.uninstall();
const perJob = (many.calls - single.calls) / (JOBS - 1);
console.log(
  `status: 1 job ${single.calls} calls; ${JOBS} jobs ${many.calls} calls: ${perJob.toFixed(2)} more per job (target <= 3), wall ${r(many.ms)} ms (target < 2000)`,
);

// 5. Peak RSS of the real CLI running `up` of the jobs in its own process, over HTTP (bench/http-cli.ts).
if (!process.env.SKIP_RSS) {
  const s = await served({ latencyMs: LATENCY_MS, pendingMs: PENDING_MS, throttling: true });
  const { dir, config } = stackDir(text);
  const run = await runCli(s, config, ['up', '--yes'], { rss: true, allowFailure: true });
  await s.close();
  rmSync(dir, { recursive: true, force: true });
  const done = /Done: .*/.exec(run.stdout)?.[0] ?? run.stderr.split('\n').slice(-5).join(' | ');
  console.log(
    `real CLI up of ${JOBS} jobs in its own process: exit ${run.status}, peak RSS ${((run.maxRssKb ?? NaN) / 1024).toFixed(1)} MB (target < 200), wall ${r(run.wallMs)} ms, ${run.calls.length} calls, ${run.roundTrips} sequential round trips; ${done}`,
  );
}
