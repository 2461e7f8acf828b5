/**
 * `up` on the fake AWS with a latency per call and an endpoint pending time:
 *   - wall time with --parallel 8 against the critical path of the dependency graph (each node costed
 *     at its measured step duration: the best any scheduler could do with those steps), target <= 1.3x;
 *   - the same with --parallel 1, for comparison;
 * - a no-op `up`: API calls per resource (target <= 1.1, none mutating), sequential round trips and wall time, and of
 * those
 *     the image check's (one DescribeImages per repository);
 *   - from empty: the read calls made before the first write (the assessment `up` runs over the whole
 *     graph before changing anything) and the calls of the whole run.
 * Run: npm run bench:up  (options: LATENCY_MS=50 PENDING_MS=3000)
 */
import { createFakeAws, sequentialRoundTrips } from '../test/fake-aws/index.js';
import { scratch, upOn } from '../test/helpers/stack.js';
import { buildGraph, criticalPath } from '../src/engine/graph.js';
import { RESOURCE_KINDS } from '../src/resources/index.js';
import { defaultConfig } from '../test/helpers/ctx.js';

const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);
const PENDING_MS = Number(process.env.PENDING_MS ?? 3000);

async function fromEmpty(parallel: number) {
  const fake = createFakeAws();
  fake.core.latencyMs = LATENCY_MS;
  fake.ec2.endpointPendingMs = PENDING_MS;
  const s = scratch();
  const t0 = performance.now();
  const report = await upOn(s, { parallel });
  const wall = performance.now() - t0;
  const durations = new Map(report.events.map((e) => [e.key, e.durationMs ?? 0]));
  const graph = buildGraph(defaultConfig(fake.core.account), RESOURCE_KINDS);
  const cp = criticalPath(graph, (k) => durations.get(k) ?? 0);
  const calls = fake.core.calls.length;
  const firstWrite = fake.core.calls.findIndex((c) => c.mutating);
  // Minus STS: the identity call comes before the assessment.
  const assessment = fake.core.calls.slice(0, firstWrite).filter((c) => c.service !== 'sts').length;
  return {
    fake,
    s,
    wall,
    cp,
    calls,
    assessment,
    nodes: graph.nodes.length,
    roundTrips: sequentialRoundTrips(fake.core.calls),
  };
}

const p8 = await fromEmpty(8);
p8.fake.uninstall();
const p1 = await fromEmpty(1);

// No-op: a second `up` on the parallel-1 stack (still installed).
p1.fake.core.resetCalls();
const t0 = performance.now();
const noop = await upOn(p1.s, { parallel: 8 });
const noopWall = performance.now() - t0;
const reads = p1.fake.core.count({ mutating: false });
const writes = p1.fake.core.count({ mutating: true });
const imageChecks = p1.fake.core.count({ op: 'DescribeImages' });
const noopRoundTrips = sequentialRoundTrips(p1.fake.core.calls);
p1.fake.uninstall();

const r = (n: number) => Math.round(n);
console.log(
  `up on the fake: ${p8.nodes} resources, ${LATENCY_MS} ms per call, interface endpoints pending ${PENDING_MS} ms`,
);
console.log(
  `  --parallel 8: wall ${r(p8.wall)} ms, critical path ${r(p8.cp.length)} ms, ratio ${(p8.wall / p8.cp.length).toFixed(2)} (target <= 1.30), ${p8.calls} calls (${(p8.calls / p8.nodes).toFixed(2)} per resource), ${p8.roundTrips} sequential round trips, ${p8.assessment} of them reads before the first write`,
);
console.log(`    critical path: ${p8.cp.path.join(' -> ')}`);
console.log(
  `  --parallel 1: wall ${r(p1.wall)} ms, critical path ${r(p1.cp.length)} ms, ratio ${(p1.wall / p1.cp.length).toFixed(2)}; speed-up of --parallel 8: ${(p1.wall / p8.wall).toFixed(2)}x`,
);
console.log(
  `no-op up: ${noop.events.length} resources, ${reads} read calls, ${writes} mutating calls, ${(reads / noop.events.length).toFixed(2)} calls per resource (target <= 1.1), ${noopRoundTrips} sequential round trips, wall ${r(noopWall)} ms, all unchanged: ${noop.counts.unchanged === noop.events.length}; ${imageChecks} of the reads check the job's image (target: 1 per repository)`,
);
