/**
 * What keeping the state in S3 costs `up`, against a local state file, on the fake AWS with a latency
 * per call (S3 calls included): wall time (ratio in one run), state writes against resource steps
 * (saves asked for together share one write), and the calls a no-op `up` makes to the state bucket and
 * to the stack's lock (Parameter Store, whatever the backend).
 * Run: npm run bench:state  (options: LATENCY_MS=50 PENDING_MS=3000 RUNS=3)
 */
import { createFakeAws } from '../test/fake-aws/index.js';
import { scratch } from '../test/helpers/stack.js';
import { runUp } from '../src/stack/up.js';
import { RecordingReporter } from '../src/engine/reporter.js';

const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);
const PENDING_MS = Number(process.env.PENDING_MS ?? 3000);
const RUNS = Number(process.env.RUNS ?? 3);
const BUCKET = 'bench-state';

async function measure(kind: 'local' | 's3') {
  const fake = createFakeAws();
  fake.core.latencyMs = LATENCY_MS;
  fake.ec2.endpointPendingMs = PENDING_MS;
  fake.s3.addBucket(BUCKET, { versioning: 'Enabled' });
  const s = scratch();
  const statePath = kind === 's3' ? `s3://${BUCKET}/bench.json` : s.statePath;
  const up = () => runUp({ configPath: s.configPath, statePath, reporter: new RecordingReporter() });
  const stateCalls = () => fake.core.calls.filter((c) => c.service === 's3' && c.input?.Bucket === BUCKET).length;
  const lockCalls = () => fake.core.lockCalls().map((c) => c.op);
  const t0 = performance.now();
  const first = await up();
  const wall = performance.now() - t0;
  const firstStateCalls = stateCalls();
  fake.core.resetCalls();
  const t1 = performance.now();
  await up();
  const noopWall = performance.now() - t1;
  const noopStateCalls = stateCalls();
  const noopLockCalls = lockCalls();
  const noopCalls = fake.core.calls.length;
  const versions = fake.s3.buckets.get(BUCKET)!.objects.get('bench.json')?.length ?? 0;
  fake.uninstall();
  return {
    wall,
    steps: first.events.length,
    firstStateCalls,
    noopWall,
    noopStateCalls,
    noopLockCalls,
    noopCalls,
    versions,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const local: Awaited<ReturnType<typeof measure>>[] = [];
const s3: Awaited<ReturnType<typeof measure>>[] = [];
for (let i = 0; i < RUNS; i++) {
  local.push(await measure('local'));
  s3.push(await measure('s3'));
}
const r = Math.round;
const lw = median(local.map((x) => x.wall));
const sw = median(s3.map((x) => x.wall));
const last = s3.at(-1)!;
console.log(
  `up from empty, ${last.steps} resources, ${LATENCY_MS} ms per call, endpoints pending ${PENDING_MS} ms, median of ${RUNS}:`,
);
console.log(`  local state: wall ${r(lw)} ms`);
console.log(
  `  S3 state:    wall ${r(sw)} ms (${(sw / lw).toFixed(2)}x local); ${last.firstStateCalls} calls to the state bucket (one read, ${last.versions} state writes for ${last.steps} resource steps)`,
);
console.log(
  `no-op up: local wall ${r(median(local.map((x) => x.noopWall)))} ms, S3 wall ${r(median(s3.map((x) => x.noopWall)))} ms; ${last.noopStateCalls} call to the state bucket (one read; no state write)`,
);
const l = local.at(-1)!;
console.log(
  `the stack's lock, either backend: ${last.noopLockCalls.length} of a no-op up's ${last.noopCalls} calls with the S3 state (${l.noopLockCalls.length} of ${l.noopCalls} with a local one): ${last.noopLockCalls.join(', ')}`,
);
