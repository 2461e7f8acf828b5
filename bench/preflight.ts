/**
 * What the preflight adds to `plan` and `up`, on the fake AWS with a latency per call: the calls (by
 * operation) out of each command's total, and its wall time against the whole command's, in one run.
 * Then network mode `existing`, whose preflight reads your VPC, subnets, route tables, endpoints (and
 * groups, DNS attributes when needed) in one parallel round: its calls and wall time alone, and `plan`'s.
 * Run: npm run bench:preflight  (option: LATENCY_MS=50)
 */
import { createFakeAws } from '../test/fake-aws/index.js';
import { scratch, upOn } from '../test/helpers/stack.js';
import { runPlan } from '../src/stack/plan.js';
import { RecordingReporter } from '../src/engine/reporter.js';
import { preflight } from '../src/stack/preflight.js';
import { loadStackConfig } from '../src/engine/stack.js';
import { createAwsClients } from '../src/aws/clients.js';
import { existingNetwork, userNetwork } from '../test/helpers/network.js';

const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);
const PREFLIGHT_OPS = new Set(['DescribeAvailabilityZones', 'DescribeVpcEndpointServices', 'DescribeResourcePolicies']);

const fake = createFakeAws();
fake.core.latencyMs = LATENCY_MS;
const s = scratch();

async function measure(name: string, run: () => Promise<unknown>, ops = PREFLIGHT_OPS, f = fake) {
  f.core.resetCalls();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  const added = f.core.calls.filter((c) => ops.has(c.op));
  const byOp = [...ops].map((op) => `${op} ${added.filter((c) => c.op === op).length}`).join(', ');
  console.log(
    `  ${name.padEnd(22)} ${String(f.core.calls.length).padStart(4)} calls, of which preflight ${added.length} (${byOp}); wall ${Math.round(wall)} ms`,
  );
}

console.log(`preflight on the fake, ${LATENCY_MS} ms per call`);
await measure('up (empty account)', () => upOn(s));
await measure('up (no change)', () => upOn(s));
await measure('plan (no change)', () =>
  runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() }),
);
const config = await loadStackConfig({ configPath: s.configPath });
await measure('preflight alone', async () => {
  // Fresh clients: the endpoint service and resource policy lookups are cached per client, as within one
  // command.
  const aws = await createAwsClients({ region: config.region }, ['ec2', 'logs']);
  await preflight({ config, aws, account: fake.core.account, partition: 'aws', configPath: s.configPath });
});
fake.uninstall();

// Mode existing: a VPC of yours with a NAT gateway, one interface endpoint listed (so the DNS attributes are read too).
const ex = createFakeAws();
ex.core.latencyMs = LATENCY_MS;
const net = await userNetwork(ex);
const e = scratch();
e.editConfig((t) =>
  existingNetwork(t, { vpcId: net.vpcId, subnetIds: net.privateSubnets, extra: ['interfaceEndpoints: [logs]'] }),
);
const EXISTING_OPS = new Set([
  'DescribeVpcs',
  'DescribeSubnets',
  'DescribeRouteTables',
  'DescribeVpcEndpoints',
  'DescribeVpcEndpointServices',
  'DescribeVpcAttribute',
]);
console.log(`mode existing (your VPC, NAT, one endpoint listed), ${LATENCY_MS} ms per call`);
await measure('up (empty account)', () => upOn(e), EXISTING_OPS, ex);
await measure(
  'plan (no change)',
  () => runPlan({ configPath: e.configPath, statePath: e.statePath, reporter: new RecordingReporter() }),
  EXISTING_OPS,
  ex,
);
const exConfig = await loadStackConfig({ configPath: e.configPath });
await measure(
  'preflight alone',
  async () => {
    const aws = await createAwsClients({ region: exConfig.region }, ['ec2', 'logs']);
    await preflight({ config: exConfig, aws, account: ex.core.account, partition: 'aws', configPath: e.configPath });
  },
  EXISTING_OPS,
  ex,
);
ex.uninstall();
