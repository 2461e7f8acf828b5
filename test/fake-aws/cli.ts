/**
 * Run the real CLI against the in-memory fake AWS, for trying commands and for the examples in README.md and docs/:
 *   node --import tsx test/fake-aws/cli.ts up --yes --then up --then validate
 * Every `--then` starts the next command on the same fake. FAKE_LATENCY_MS and FAKE_ENDPOINT_PENDING_MS
 * make it feel like AWS; FAKE_BUCKETS=a,b creates those buckets first (a team's state bucket).
 * FAKE_USER_NETWORK=nat (or =public, without the NAT gateway) first builds a network
 * of "yours" for network mode existing: vpc-00000000000000001, private subnets subnet-00000000000000007 (1a)
 * and subnet-00000000000000008 (1c) routed to nat-00000000000000010, public subnet subnet-00000000000000009 (1a)
 * routed to igw-0000000000000000a.
 * FAKE_TASK_MS (`provisioning,pending,running`) sets how long a task takes, and FAKE_TASK_LOG (lines
 * separated by `|`) what every task writes to its log stream, 100 ms apart. FAKE_TASK_EXIT (`1,0`) is
 * the exit code of each task started from then on, in turn (the last one repeats): a retried run's attempts.
 * `--then fake:image <repository> <tag>` is not a batchctl command: it adds an image with that tag to the
 * fake ECR repository (as a `docker push` would), for the examples of `deploy` and `rollback`.
 * For the alerts examples: `--then fake:revoke <role>` drops ecs:RunTask from that role's inline policies
 * (an IAM edit behind batchctl's back), `--then fake:fire <rule> <time>` fires the rule's schedule for that
 * time (EventBridge invokes its targets; what fails is dead-lettered), `--then fake:evaluate` has
 * CloudWatch evaluate its alarms (and run their actions); each prints what happened.
 * `--then fake:fire <ISO time>` (one argument) fires the stack's first live trigger for that scheduled
 * time, as EventBridge or Scheduler would (the task starts now, with that BATCH_SCHEDULED_TIME), for the
 * example of `history`.
 * For the job secrets examples: `--then fake:secret <name> <value> [<kms alias>]` adds a Secrets Manager secret
 * of yours (a JSON object value is kept as JSON) and `--then fake:parameter <name> <value> [<kms alias>]` an SSM
 * SecureString parameter, each encrypted with a new customer managed key of that alias when one is given.
 * FAKE_SPOT=none: Fargate Spot has no capacity; FAKE_SPOT_INTERRUPT_MS=<ms>: Spot reclaims every Spot task that
 * long after its container starts (exit code 143).
 * FAKE_FAIL=Op:Code[:message] fails the first call of that operation with that AWS error (a failure's output).
 * FAKE_KEEP_GOING=1 runs every `--then` command even after one failed (an example of what follows a failure).
 * FAKE_IMAGES=repo:tag,... stands for `batchctl push` (which needs docker): after each command, every such
 * image whose repository exists by then is in it (`up --yes --then up`: the first up warns, the second does not).
 * For the examples of drift and of the stack's lock: `--then fake:inline-policy <role> <name>` puts an
 * inline policy granting everything on that role, `--then fake:target <rule> <id> <arn>` adds a target to
 * that rule (hand-made access behind batchctl's back), `--then fake:lock <stack> <host> <pid> <minutes>`
 * leaves the stack's lock as a run of another machine killed that long ago would.
 * FAKE_LOCKS_FILE=<path>: when the process exits (Ctrl-C included), the stack locks still held in the fake
 * and how many were taken are written there, so a test outside can tell the lock was released.
 */
import { writeFileSync } from 'node:fs';
import { createFakeAws } from './index.js';
import { buildProgram } from '../../src/cli/main.js';

const fake = createFakeAws();
if (process.env.FAKE_LOCKS_FILE) {
  const file = process.env.FAKE_LOCKS_FILE;
  process.on('exit', () => {
    const taken = fake.core.lockCalls().filter((c) => c.op === 'PutParameter' && !c.error).length;
    const held = [...fake.ssm.parameters.values()]
      .map((p) => p.name)
      .filter((n) => /^\/batchctl\/[^/]+\/lock$/.test(n));
    writeFileSync(file, JSON.stringify({ held, taken }));
  });
}
fake.core.latencyMs = Number(process.env.FAKE_LATENCY_MS ?? 0);
fake.ec2.endpointPendingMs = Number(process.env.FAKE_ENDPOINT_PENDING_MS ?? 0);
// Buckets that exist before the first command (a team's state bucket), versioned, comma-separated.
for (const b of (process.env.FAKE_BUCKETS ?? '').split(',').filter(Boolean))
  fake.s3.addBucket(b, { versioning: 'Enabled' });

if (process.env.FAKE_USER_NETWORK) {
  const { userNetwork } = await import('../helpers/network.js');
  await userNetwork(fake, { nat: process.env.FAKE_USER_NETWORK !== 'public' });
  fake.core.resetCalls();
}
if (process.env.FAKE_TASK_MS) {
  const [provisioningMs, pendingMs, runningMs] = process.env.FAKE_TASK_MS.split(',').map(Number);
  fake.ecs.taskTimings = { provisioningMs: provisioningMs!, pendingMs: pendingMs!, runningMs: runningMs! };
}
if (process.env.FAKE_FAIL) {
  const [op, code, ...message] = process.env.FAKE_FAIL.split(':');
  fake.core.failOn(op!, code, 1, message.join(':') || undefined);
}
if (process.env.FAKE_SPOT === 'none') fake.ecs.spotCapacity = false;
if (process.env.FAKE_SPOT_INTERRUPT_MS) fake.ecs.spotInterruptAfterMs = Number(process.env.FAKE_SPOT_INTERRUPT_MS);
if (process.env.FAKE_TASK_LOG)
  fake.ecs.taskLogLines = process.env.FAKE_TASK_LOG.split('|').map((message, i) => ({
    afterMs: 100 * (i + 1),
    message,
  }));
if (process.env.FAKE_TASK_EXIT) {
  const codes = process.env.FAKE_TASK_EXIT.split(',').map(Number);
  const runTask = fake.ecs.runTask;
  let n = 0;
  (fake.ecs as { runTask: typeof runTask }).runTask = (i) => {
    fake.ecs.taskExitCode = codes[Math.min(n++, codes.length - 1)]!;
    return runTask(i);
  };
}

const args = process.argv.slice(2);
const commands: string[][] = [[]];
for (const a of args) {
  if (a === '--then') commands.push([]);
  else commands[commands.length - 1]!.push(a);
}
let code = 0;
for (const cmd of commands) {
  if (cmd[0] === 'fake:image') {
    fake.ecr.addImage(cmd[1]!, cmd[2]);
    continue;
  }
  if (cmd[0] === 'fake:secret' || cmd[0] === 'fake:parameter') {
    const [, name, value = '', alias] = cmd;
    const key = alias ? fake.kms.createKey({ alias }) : undefined;
    if (cmd[0] === 'fake:secret') {
      let v: string | Record<string, string> = value;
      try {
        const parsed = JSON.parse(value) as unknown;
        if (parsed && typeof parsed === 'object') v = parsed as Record<string, string>;
      } catch {
        // A plain string value.
      }
      fake.secretsManager.addSecret({ name: name!, value: v, ...(key ? { kmsKeyId: key.arn } : {}) });
    } else {
      fake.ssm.addParameter({ name: name!, value, type: 'SecureString', ...(alias ? { keyId: alias } : {}) });
    }
    continue;
  }
  if (cmd[0] === 'fake:revoke') {
    const role = fake.iam.roles.get(cmd[1]!);
    for (const [name, doc] of role?.inline ?? []) {
      const d = JSON.parse(doc) as { Statement: { Action?: string | string[] }[] };
      d.Statement = d.Statement.filter((st) => ![st.Action].flat().includes('ecs:RunTask'));
      role!.inline.set(name, JSON.stringify(d));
    }
    console.log(`(fake) ${cmd[1]} may no longer call ecs:RunTask`);
    continue;
  }
  if (cmd[0] === 'fake:inline-policy') {
    fake.iam.roles
      .get(cmd[1]!)!
      .inline.set(
        cmd[2]!,
        JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
      );
    console.log(`(fake) ${cmd[1]} now has an inline policy ${cmd[2]} granting everything`);
    continue;
  }
  if (cmd[0] === 'fake:target') {
    fake.eventBridge.rules.get(cmd[1]!)!.targets.set(cmd[2]!, { Id: cmd[2]!, Arn: cmd[3]! });
    console.log(`(fake) rule ${cmd[1]} now also sends to ${cmd[3]} (target ${cmd[2]})`);
    continue;
  }
  if (cmd[0] === 'fake:lock') {
    const startedAt = new Date(Date.now() - Number(cmd[4]) * 60_000).toISOString();
    const value = JSON.stringify({
      id: '5f1c0e9a2b7d',
      command: 'batchctl up',
      user: 'runner',
      host: cmd[2],
      pid: Number(cmd[3]),
      startedAt,
      caller: `arn:aws:sts::${fake.core.account}:assumed-role/batchctl-ci/GitHubActions`,
      version: '0.1.0',
      machine: 'another-machine',
    });
    const tags = { 'batchctl:stack': cmd[1]! };
    fake.ssm.addParameter({ name: `/batchctl/${cmd[1]}/lock`, value, type: 'String', tags });
    continue;
  }
  if (cmd[0] === 'fake:fire' && cmd[2] === undefined) {
    const { fire, liveTriggers } = await import('../helpers/triggers.js');
    fire(fake, liveTriggers(fake)[0]!, cmd[1]!);
    continue;
  }
  if (cmd[0] === 'fake:fire') {
    for (const r of fake.eventBridge.invokeScheduled(cmd[1]!, cmd[2]!)) {
      console.log(
        `(fake) rule ${cmd[1]} fired for ${cmd[2]}: target ${r.targetId} ${r.outcome}${r.errorCode ? ` (${r.errorCode})` : ''}`,
      );
    }
    continue;
  }
  if (cmd[0] === 'fake:evaluate') {
    const before = fake.sns.published.length;
    for (const c of fake.cloudwatch.evaluate()) console.log(`(fake) alarm ${c.alarm}: ${c.from} -> ${c.to}`);
    for (const p of fake.sns.published.slice(before))
      console.log(
        `(fake) SNS ${p.topicArn.split(':').pop()} published "${p.subject}" to ${p.deliveredTo.join(', ') || 'no confirmed subscriber'}`,
      );
    continue;
  }
  process.exitCode = undefined;
  await buildProgram().parseAsync(['node', 'batchctl', ...cmd]);
  code = Number(process.exitCode ?? 0);
  for (const ref of (process.env.FAKE_IMAGES ?? '').split(',').filter(Boolean)) {
    const [repo, tag = 'latest'] = ref.split(':');
    const r = fake.ecr.repositories.get(repo!);
    if (r && !r.images.some((img) => img.tags.includes(tag))) fake.ecr.addImage(repo!, tag);
  }
  if (code !== 0 && !process.env.FAKE_KEEP_GOING) break;
}
fake.uninstall();
process.exit(code);
