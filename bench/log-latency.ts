/**
 * Log latency: from an event written to the fake CloudWatch Logs to its line printed by
 * `batchctl logs --tail`, run in-process on real timers with a per-call latency like AWS's.
 * Modes: polling (Live Tail unsupported, as in emulators) and Live Tail.
 *   npm run bench:logs            (BENCH_EVENTS=40 BENCH_LATENCY_MS=60 to change)
 * Reference: `aws logs tail --follow` polls every 5 s (median ~2.5 s + call time).
 */
// The SDK's Node 20 end-of-support notice is not part of the measurement.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { createFakeAws } from '../test/fake-aws/index.js';
import { scratch } from '../test/helpers/stack.js';
import { buildProgram } from '../src/cli/main.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40);
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 60);
const GROUP = '/ecs/SampleBatch';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function measure(liveTail: boolean): Promise<number[]> {
  const fake = createFakeAws();
  fake.logs.liveTailSupported = liveTail;
  const s = scratch();
  await new CloudWatchLogsClient({ region: 'ap-northeast-1' }).send(new CreateLogGroupCommand({ logGroupName: GROUP }));
  fake.core.latencyMs = LATENCY;
  const written = new Map<string, number>();
  const printed = new Map<string, number>();
  const realWrite = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    const m = /bench-(\d+)/.exec(String(chunk));
    if (m) printed.set(m[1]!, performance.now());
    return true;
  }) as typeof process.stdout.write;
  const done = buildProgram().parseAsync(['node', 'batchctl', '-c', s.configPath, 'logs', '--tail']);
  try {
    await sleep(1500); // the backfill and the session are set up
    for (let n = 0; n < EVENTS; n++) {
      // Irregular gaps so writes land at every phase of the poll cycle.
      await sleep(150 + ((n * 7919) % 600));
      written.set(String(n), performance.now());
      fake.logs.addEvents(GROUP, 'ecs/batch/0123456789abcdef', [{ timestamp: Date.now(), message: `bench-${n}` }]);
    }
    const deadline = performance.now() + 10_000;
    while (printed.size < EVENTS && performance.now() < deadline) await sleep(50);
  } finally {
    process.emit('SIGINT');
    await done;
    process.stdout.write = realWrite;
    fake.uninstall();
  }
  if (printed.size !== EVENTS) throw new Error(`only ${printed.size} of ${EVENTS} events printed`);
  return [...written].map(([k, t]) => printed.get(k)! - t);
}

const rows: string[] = [];
for (const [name, live] of [
  ['polling (1 s)', false],
  ['Live Tail', true],
] as const) {
  const lat = await measure(live);
  rows.push(
    `${name.padEnd(14)} events ${String(lat.length).padStart(3)}  median ${(pct(lat, 50) / 1000).toFixed(2)} s  p90 ${(pct(lat, 90) / 1000).toFixed(2)} s  max ${(Math.max(...lat) / 1000).toFixed(2)} s`,
  );
}
process.stdout.write(
  `log latency, event written -> line printed (fake AWS, ${LATENCY} ms per call; target: median < 2 s with polling)\n${rows.join('\n')}\n`,
);
process.exit(0);
