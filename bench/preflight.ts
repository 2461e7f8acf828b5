/**
 * What the preflight adds to `plan` and `up`, on the fake AWS with a latency per call: the calls (by
 * operation) out of each command's total, and its wall time against the whole command's, in one run.
 * Run: npm run bench:preflight  (option: LATENCY_MS=50)
 */
import { createFakeAws } from '../test/fake-aws/index.js';
import { scratch, upOn } from '../test/helpers/stack.js';
import { runPlan } from '../src/core/plan.js';
import { RecordingReporter } from '../src/core/reporter.js';
import { preflight } from '../src/core/preflight.js';
import { loadStackConfig } from '../src/core/stack.js';
import { createAwsClients } from '../src/aws/clients.js';

const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);
const PREFLIGHT_OPS = new Set(['DescribeAvailabilityZones', 'DescribeVpcEndpointServices']);

const fake = createFakeAws();
fake.core.latencyMs = LATENCY_MS;
const s = scratch();

async function measure(name: string, run: () => Promise<unknown>) {
  fake.core.resetCalls();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  const added = fake.core.calls.filter((c) => PREFLIGHT_OPS.has(c.op));
  const byOp = [...PREFLIGHT_OPS].map((op) => `${op} ${added.filter((c) => c.op === op).length}`).join(', ');
  console.log(`  ${name.padEnd(22)} ${String(fake.core.calls.length).padStart(4)} calls, of which preflight ${added.length} (${byOp}); wall ${Math.round(wall)} ms`);
}

console.log(`preflight on the fake, ${LATENCY_MS} ms per call`);
await measure('up (empty account)', () => upOn(s));
await measure('up (no change)', () => upOn(s));
await measure('plan (no change)', () => runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() }));
const config = await loadStackConfig({ configPath: s.configPath });
await measure('preflight alone', async () => {
  // Fresh clients: the endpoint service lookup is cached per client, as within one command.
  const aws = await createAwsClients({ region: config.region }, ['ec2']);
  await preflight({ config, aws, account: fake.core.account, partition: 'aws', configPath: s.configPath });
});
fake.uninstall();
