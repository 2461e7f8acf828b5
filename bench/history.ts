/**
 * `batchctl history --since 30d` for a job with 720 runs a month (hourly), every AWS call 50 ms late,
 * run in-process against the fake: the wall time of the whole command (config, STS, state, every read,
 * rendering), and the calls it made. Budget: under 2 s.
 *
 * The runs are real "ECS Task State Change" events (one task's event from the fake ECS, re-timed per
 * run) in the history log group, plus the last 7 days' duplicate-guard claims in the bucket (their
 * lifecycle expires them after that), with 3 scheduled times left without a run. FilterLogEvents pages
 * are cut at 1 MB as AWS does (the fake otherwise pages by count only).
 *   npm run bench:history          (BENCH_RUNS=720 BENCH_LATENCY_MS=50 BENCH_REPEAT=3 to change)
 */
// The SDK's Node 20 end-of-support notice is not part of the measurement.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { createFakeAws } from '../test/fake-aws/index.js';
import { scratch, upOn } from '../test/helpers/stack.js';
import { fire, liveTriggers } from '../test/helpers/triggers.js';
import { buildProgram } from '../src/cli/main.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 720);
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 50);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const GROUP = '/aws/events/batchctl/sample-batch/history';
const BUCKET = 'sample-batch-123456789012-ap-northeast-1';
const HOUR = 3_600_000;
const MISSED = new Set([100, 400, 700]);

const fake = createFakeAws();
const s = scratch();
await upOn(s);
fake.ecr.addImage('sample-batch', 'latest');

// One real scheduled task's STOPPED event, as the model for every run.
fake.ecs.taskTimings = { provisioningMs: 0, pendingMs: 0, runningMs: 0 };
const arn = fire(fake, liveTriggers(fake)[0]!, new Date().toISOString()).taskArn!;
const model = fake.ecs.taskStateChangeEvent(arn);
// History began 31 days ago (when `up` created the group).
const now = Date.now();
const group = fake.logs.groups.get(GROUP)!;
group.createdAt = now - 31 * 24 * HOUR;
group.streams.clear();

// The runs: hourly at :30 for RUNS hours back, each 4 min long.
const firstDue = Math.floor((now - RUNS * HOUR) / HOUR) * HOUR + 30 * 60_000;
let bytes = 0;
for (let n = 0; n < RUNS; n++) {
  const due = firstDue + n * HOUR;
  if (due > now - HOUR) break;
  const time = new Date(due).toISOString().replace(/\.000Z$/, 'Z');
  if (!MISSED.has(n)) {
    const id = n.toString(16).padStart(32, '0');
    const taskArn = arn.replace(/[^/]+$/, id);
    const e = JSON.parse(
      JSON.stringify(model)
        .replaceAll(arn, taskArn)
        .replaceAll(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z/g, time),
    );
    const d = e.detail as Record<string, unknown>;
    d.createdAt = new Date(due + 1000).toISOString();
    d.startedAt = new Date(due + 20_000).toISOString();
    d.stoppedAt = new Date(due + 260_000).toISOString();
    e.time = new Date(due + 261_000).toISOString();
    e.id = `event-${id}`;
    const message = JSON.stringify(e);
    bytes += Buffer.byteLength(message) + 26;
    fake.logs.addEvents(GROUP, e.id, [{ timestamp: due + 261_000, message }]);
  }
  // Claims of the last 7 days (the bucket's lifecycle expires older ones); a missed time has none.
  if (due > now - 7 * 24 * HOUR && !MISSED.has(n))
    fake.s3.addObject(BUCKET, `.batchctl/runs/${time}.json`, JSON.stringify({ scheduledTime: time }));
}
const logged = [...group.streams.values()].reduce((a, x) => a + x.events.length, 0);
// AWS returns at most 1 MB of events a FilterLogEvents page.
fake.logs.filterPageLimit = Math.max(1, Math.floor(1_048_576 / (bytes / logged)));

async function once(
  latency: number,
): Promise<{ ms: number; calls: Record<string, number>; runs: number; missed: number }> {
  fake.core.latencyMs = latency;
  fake.core.resetCalls();
  const out: string[] = [];
  const realWrite = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  const t0 = performance.now();
  try {
    await buildProgram().parseAsync([
      'node',
      'batchctl',
      '-c',
      s.configPath,
      '--state',
      s.statePath,
      '--json',
      'history',
      '--since',
      '30d',
    ]);
  } finally {
    process.stdout.write = realWrite;
  }
  const ms = performance.now() - t0;
  const r = JSON.parse(out.join('')) as { entries: { result: string }[] };
  const calls: Record<string, number> = {};
  for (const c of fake.core.calls) calls[`${c.service}:${c.op}`] = (calls[`${c.service}:${c.op}`] ?? 0) + 1;
  return {
    ms,
    calls,
    runs: r.entries.filter((e) => e.result !== 'missed').length,
    missed: r.entries.filter((e) => e.result === 'missed').length,
  };
}

await once(0); // warm: module loading is the startup bench's subject, not this one's
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: string[] = [];
let result: Awaited<ReturnType<typeof once>> | undefined;
for (const latency of [0, LATENCY]) {
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    result = await once(latency);
    times.push(result.ms);
  }
  rows.push(
    `latency ${String(latency).padStart(3)} ms/call: median ${(median(times) / 1000).toFixed(3)} s  (runs ${times.map((t) => (t / 1000).toFixed(3)).join(', ')})`,
  );
}
const total = Object.values(result!.calls).reduce((a, b) => a + b, 0);
process.stdout.write(
  [
    `history --since 30d: ${logged} runs logged (${(bytes / 1_048_576).toFixed(2)} MB, ${fake.logs.filterPageLimit} events a 1 MB page), ${RUNS - logged} scheduled times without a run`,
    `listed: ${result!.runs} runs, ${result!.missed} missed`,
    ...rows,
    `calls: ${total} (${Object.entries(result!.calls)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
    '',
  ].join('\n'),
);
fake.uninstall();
