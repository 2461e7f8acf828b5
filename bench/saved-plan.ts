/**
 * What applying a saved plan costs against a plain `up`, on the fake AWS with a latency per call: AWS
 * calls and wall time (ratio in one run) of a no-op stack and of one with a setting drifted, the size
 * of the plan file, and the time spent pinning and comparing (no AWS call) per apply.
 * Run: npm run bench:saved-plan  (options: LATENCY_MS=20 RUNS=5)
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchLogsClient, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { createFakeAws } from '../test/fake-aws/index.js';
import { scratch, type Scratch } from '../test/helpers/stack.js';
import { runUp } from '../src/stack/up.js';
import { runPlan } from '../src/stack/plan.js';
import { RecordingReporter } from '../src/engine/reporter.js';
import { movedSince, planBody } from '../src/engine/saved-plan.js';
import { RESOURCE_KINDS } from '../src/resources/index.js';

const LATENCY_MS = Number(process.env.LATENCY_MS ?? 20);
const RUNS = Number(process.env.RUNS ?? 5);

async function measure(drift: boolean) {
  const fake = createFakeAws();
  const s: Scratch = scratch();
  const base = { configPath: s.configPath, statePath: s.statePath };
  await runUp({ ...base, reporter: new RecordingReporter() });
  fake.core.latencyMs = LATENCY_MS;
  const setDrift = () =>
    new CloudWatchLogsClient({ region: 'ap-northeast-1' }).send(
      new PutRetentionPolicyCommand({ logGroupName: '/ecs/SampleBatch', retentionInDays: 7 }),
    );
  if (drift) await setDrift();
  const file = join(s.dir, 'plan.json');
  const plan = await runPlan({ ...base, reporter: new RecordingReporter(), out: file });
  const size = statSync(file).size;
  // The saved plan's own work per apply (pin the assessment, compare with the file): no AWS call.
  const tc = performance.now();
  for (let i = 0; i < 100; i++)
    movedSince(planBody(plan, plan.basis, RESOURCE_KINDS), planBody(plan, plan.basis, RESOURCE_KINDS));
  const check = (performance.now() - tc) / 100;
  fake.core.resetCalls();
  const t0 = performance.now();
  await runUp({ ...base, reporter: new RecordingReporter(), planFile: file });
  const planWall = performance.now() - t0;
  const planCalls = fake.core.count();
  if (drift) await setDrift();
  fake.core.resetCalls();
  const t1 = performance.now();
  await runUp({ ...base, reporter: new RecordingReporter() });
  const upWall = performance.now() - t1;
  const upCalls = fake.core.count();
  fake.uninstall();
  return { size, planWall, planCalls, upWall, upCalls, check };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const drift of [false, true]) {
  const runs: Awaited<ReturnType<typeof measure>>[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await measure(drift));
  const m = (f: (x: Awaited<ReturnType<typeof measure>>) => number) => median(runs.map(f));
  console.log(
    `${drift ? 'a setting drifted (1 update)' : 'no-op stack'}, 35 resources, ${LATENCY_MS} ms per call, median of ${RUNS}:`,
  );
  console.log(`  up:        ${m((x) => x.upCalls)} AWS calls, wall ${Math.round(m((x) => x.upWall))} ms`);
  console.log(
    `  up <plan>: ${m((x) => x.planCalls)} AWS calls, wall ${Math.round(m((x) => x.planWall))} ms (${(m((x) => x.planWall) / m((x) => x.upWall)).toFixed(2)}x up); plan file ${m((x) => x.size)} bytes; pin + compare ${m((x) => x.check).toFixed(2)} ms`,
  );
}
