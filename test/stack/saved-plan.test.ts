/**
 * Saved plans on the fake: `plan --out` pins what it read; `up <plan>` applies exactly the plan's changes
 * when nothing moved, and refuses (exit 2, naming what moved, zero mutating calls) when anything did: a
 * setting drifted, a resource deleted or created behind its back, a duplicate, the secret rewritten, the
 * config edited, the state written by another run (local and S3). The file holds no secret.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { CreateSecurityGroupCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, upOn, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { runPlan, type PlanReport } from '../../src/stack/plan.js';
import type { ResourceEvent } from '../../src/engine/reporter.js';
import { changeEveryKindInConfig, driftEveryKind, setEngine } from '../helpers/drift.js';
import { runUp } from '../../src/stack/up.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { differences, outsidePlan, type PlanPin, type SavedPlan } from '../../src/engine/saved-plan.js';
import { createAwsClients } from '../../src/aws/clients.js';
import { VERSION } from '../../src/base/version.js';
import type { Assessment } from '../../src/engine/engine.js';

const io = captureCli();
const { out, err } = io;
let fake: FakeAws;
beforeEach(() => {
  fake = createFakeAws();
});
afterEach(() => fake.uninstall());

const region = 'ap-northeast-1';
const planPath = (s: Scratch) => join(s.dir, 'plan.json');
const cli = (s: Scratch, ...args: string[]) => io.run('-c', s.configPath, '--state', s.statePath, ...args);
const savedPlan = (s: Scratch) => JSON.parse(readFileSync(planPath(s), 'utf8')) as SavedPlan;
const logs = () => new CloudWatchLogsClient({ region });

/**
 * `up <plan>` refused: exit 2, the message names every `moved` pattern, and nothing was written to AWS or the state.
 */
async function expectRefused(s: Scratch, moved: RegExp[]): Promise<string> {
  const stateBefore = existsSync(s.statePath) ? readFileSync(s.statePath, 'utf8') : undefined;
  fake.core.resetCalls();
  expect(await cli(s, 'up', '--yes', planPath(s))).toBe(2);
  const text = err.join('');
  expect(text).toMatch(
    /^error: the saved plan .*plan\.json \([0-9a-f]{12}, made .*\) no longer matches the stack: \d+ changes? since it was made; nothing was changed\n/,
  );
  for (const m of moved) expect(text).toMatch(m);
  expect(text).toMatch(/hint: make a new plan/);
  expect(fake.core.mutatingCalls()).toEqual([]);
  expect(existsSync(s.statePath) ? readFileSync(s.statePath, 'utf8') : undefined).toBe(stateBefore);
  return text;
}

/** A stack that is up, with drift to repair, saved as a plan. */
async function upThenPlan(s: Scratch, before?: () => Promise<void>): Promise<void> {
  await upOn(s);
  await before?.();
  expect(await cli(s, 'plan', '--out', planPath(s)), err.join('')).toBe(0);
}

/**
 * The apply's events are the plan's list: each planned update, delete and duplicate happened, and nothing
 * else was changed. A planned create is made, or found made already by its parent's creation (bucket
 * settings a new bucket has, the value of a secret restored from its recovery window): nothing written.
 */
function expectAppliedAsPlanned(plan: PlanReport, events: ResourceEvent[]): void {
  const byKey = new Map(events.map((e) => [e.key, e]));
  const want: Record<string, string[]> = {
    create: ['created', 'unchanged'],
    update: ['updated'],
    unchanged: ['unchanged'],
    delete: ['deleted'],
    forget: ['skipped', 'absent'],
  };
  for (const e of plan.entries)
    expect(want[e.action], `${e.key}: planned ${e.action}, applied ${byKey.get(e.key)?.action}`).toContain(
      byKey.get(e.key)?.action,
    );
  const dups = plan.entries.flatMap((e) => (e.found?.duplicates ?? []).map((d) => `${e.key}#${d.id}`));
  expect(
    events
      .filter((e) => !plan.entries.some((p) => p.key === e.key))
      .map((e) => `${e.key} ${e.action}`)
      .sort(),
  ).toEqual(dups.map((d) => `${d} deleted`).sort());
}

const planAndApply = async (s: Scratch, state = s.statePath) => {
  const plan = await runPlan({
    configPath: s.configPath,
    statePath: state,
    reporter: new RecordingReporter(),
    out: planPath(s),
  });
  expect(plan.saved).toBeDefined();
  fake.core.resetCalls();
  const applied = await runUp({
    configPath: s.configPath,
    statePath: state,
    reporter: new RecordingReporter(),
    planFile: planPath(s),
  });
  expect(
    (await runPlan({ configPath: s.configPath, statePath: state, reporter: new RecordingReporter() })).pending,
  ).toBe(false);
  return { plan, applied };
};

describe('an untouched saved plan applies exactly its changes', () => {
  it("drift of every kind, every setting changed, the other schedule engine: events are the plan's list", async () => {
    const s = scratch();
    await upOn(s);
    await driftEveryKind(fake);
    changeEveryKindInConfig(s);
    setEngine(s, 'scheduler');
    const { plan, applied } = await planAndApply(s);
    expect(plan.counts).toMatchObject({
      create: expect.any(Number),
      update: expect.any(Number),
      delete: expect.any(Number),
    });
    expect(plan.counts.update).toBeGreaterThan(20);
    expect(plan.counts.delete).toBeGreaterThan(0);
    expectAppliedAsPlanned(plan, applied.events);
  });

  it('after down: the secret restored from its recovery window, its value found as it was; duplicates deleted as planned', async () => {
    const s = scratch();
    // The dead-letter queue's name is free again at once (SQS holds it 60 s: not what this is about).
    fake.sqs.deletedNameHoldMs = 0;
    await upOn(s);
    expect(await cli(s, 'down', '--yes')).toBe(0);
    const { plan, applied } = await planAndApply(s);
    expect(plan.entries.find((e) => e.key === 'secret')?.action).toBe('update');
    expectAppliedAsPlanned(plan, applied.events);
    // A duplicate made by a racing run: the plan shows it, the apply deletes exactly it.
    const state = JSON.parse(readFileSync(s.statePath, 'utf8'));
    const dup = await new EC2Client({ region }).send(
      new CreateSecurityGroupCommand({
        GroupName: 'sample-batch-task-2',
        Description: 'x',
        VpcId: state.resources.vpc.id,
        TagSpecifications: [
          {
            ResourceType: 'security-group',
            Tags: [
              { Key: 'batchctl:stack', Value: 'sample-batch' },
              { Key: 'batchctl:logical', Value: 'security-group/task' },
            ],
          },
        ],
      }),
    );
    const again = await planAndApply(s);
    expectAppliedAsPlanned(again.plan, again.applied.events);
    expect(again.applied.events.filter((e) => e.action !== 'unchanged').map((e) => `${e.key} ${e.action}`)).toEqual([
      `security-group/task#${dup.GroupId} deleted`,
    ]);
  });

  it("drift, a config change and a resource that left the config: the apply's events are the plan's list, and nothing else is written", async () => {
    const s = scratch();
    s.editConfig((t) => t.replace('logs, secretsmanager]', 'logs, secretsmanager, sts]'));
    await upOn(s);
    await logs().send(new PutRetentionPolicyCommand({ logGroupName: '/ecs/SampleBatch', retentionInDays: 7 }));
    s.editConfig((t) =>
      t.replace('cpu: 2048', 'cpu: 1024').replace('logs, secretsmanager, sts]', 'logs, secretsmanager]'),
    );
    const plan = await runPlan({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      out: planPath(s),
    });
    expect(plan.saved).toEqual({ path: planPath(s), id: expect.stringMatching(/^[0-9a-f]{12}$/) });
    const planned = Object.fromEntries(
      plan.entries.filter((e) => e.action !== 'unchanged').map((e) => [e.key, e.action]),
    );
    expect(planned).toEqual({ 'log-group': 'update', 'task-definition': 'update', 'vpc-endpoint/sts': 'delete' });

    fake.core.resetCalls();
    const reporter = new RecordingReporter();
    const applied = await runUp({ configPath: s.configPath, statePath: s.statePath, reporter, planFile: planPath(s) });
    expect(applied.plan).toMatchObject({ id: plan.saved!.id });
    const ACTION = { create: 'created', update: 'updated', unchanged: 'unchanged', delete: 'deleted' } as Record<
      string,
      string
    >;
    expect(Object.fromEntries(applied.events.map((e) => [e.key, e.action]))).toEqual(
      Object.fromEntries(plan.entries.map((e) => [e.key, ACTION[e.action]])),
    );
    // Only the three planned resources were written to.
    const written = new Set(fake.core.mutatingCalls().map((c) => c.op));
    expect([...written].sort()).toEqual(['DeleteVpcEndpoints', 'PutRetentionPolicy', 'RegisterTaskDefinition']);
    expect(
      (await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() })).pending,
    ).toBe(false);
    // Applied, the plan is stale: the state it read is no longer the current one.
    await expectRefused(s, [
      /state: .* was written since the plan \(version [0-9a-f]{12} -> [0-9a-f]{12}\): another run applied first/,
    ]);
  });

  it('on an empty account: every planned create is made (bucket settings a new bucket already has are not written again), and no more', async () => {
    const s = scratch();
    expect(await cli(s, 'plan', '--out', planPath(s)), err.join('')).toBe(0);
    const saved = savedPlan(s);
    expect(saved.resources.every((p) => p.action === 'create')).toBe(true);
    expect(saved.state.version).toBeNull();
    fake.core.resetCalls();
    const applied = await runUp({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      planFile: planPath(s),
    });
    expect(applied.events.map((e) => e.key).sort()).toEqual(saved.resources.map((p) => p.key).sort());
    // Every planned create is counted created, as the plan counted it, and nothing is read back between the
    // assessment and its create; S3 gives a new bucket these three settings, so they are not written.
    expect(applied.events.every((e) => e.action === 'created')).toBe(true);
    expect(
      fake.core.count({ op: 'PutPublicAccessBlock' }) +
        fake.core.count({ op: 'PutBucketEncryption' }) +
        fake.core.count({ op: 'PutBucketVersioning' }),
    ).toBe(0);
  });

  it('a plan with no changes is saved and applied: checked, and nothing is written (the state neither)', async () => {
    const s = scratch();
    // Pushed: a stack whose image is missing says so after everything else (see images.test.ts).
    await upThenPlan(s, async () => {
      fake.ecr.addImage('sample-batch', 'latest');
    });
    expect(out.join('')).toMatch(
      /No changes: 43 resources match the config\.\nSaved the plan as .*plan\.json \([0-9a-f]{12}\): apply exactly it with `batchctl up .*plan\.json`\.\n$/,
    );
    const state = readFileSync(s.statePath, 'utf8');
    fake.core.resetCalls();
    expect(await cli(s, 'up', '--yes', planPath(s)), err.join('')).toBe(0);
    expect(fake.core.mutatingCalls()).toEqual([]);
    expect(fake.core.count()).toBeGreaterThan(30);
    expect(readFileSync(s.statePath, 'utf8')).toBe(state);
    // Still valid: nothing moved, the state was not written.
    expect(await cli(s, 'up', '--yes', planPath(s))).toBe(0);
  });
});

describe('what settles by itself does not move a plan', () => {
  it('an e-mail subscription confirmed between plan and apply (scheduler engine, alerts): the plan still applies', async () => {
    const s = scratch();
    setEngine(s, 'scheduler');
    s.editConfig((t) => `${t}\nnotify:\n  emails: [a@example.com]\n`);
    await upOn(s);
    expect(await cli(s, 'plan', '--out', planPath(s))).toBe(0);
    const first = savedPlan(s);
    // Two plans of an unchanged stack pin the same thing.
    expect(await cli(s, 'plan', '--out', planPath(s))).toBe(0);
    expect(savedPlan(s).resources).toEqual(first.resources);
    fake.sns.confirm('arn:aws:sns:ap-northeast-1:123456789012:sample-batch-alerts', 'a@example.com');
    fake.core.resetCalls();
    expect(await cli(s, 'up', '--yes', planPath(s)), err.join('')).toBe(0);
    expect(fake.core.mutatingCalls()).toEqual([]);
  });
});

describe('a saved plan is refused when anything moved behind its back (exit 2, named, nothing written)', () => {
  it('a setting drifted', async () => {
    const s = scratch();
    await upThenPlan(s);
    await logs().send(new PutRetentionPolicyCommand({ logGroupName: '/ecs/SampleBatch', retentionInDays: 7 }));
    const text = await expectRefused(s, [/^ {2}log-group: retentionDays: 365 -> 7$/m]);
    // What follows from it (the plan would now update the log group) is not listed again.
    expect(text).toMatch(
      /: 1 change since it was made; nothing was changed\n {2}log-group: retentionDays: 365 -> 7\nhint: /,
    );
  });

  it('a resource deleted', async () => {
    const s = scratch();
    await upThenPlan(s);
    await logs().send(new DeleteLogGroupCommand({ logGroupName: '/ecs/SampleBatch' }));
    await expectRefused(s, [/^ {2}log-group: \/ecs\/SampleBatch was deleted since the plan$/m]);
  });

  it('a resource created by someone else under its name (not ours), and one of ours (tagged)', async () => {
    const s = scratch();
    await upThenPlan(s, () =>
      logs()
        .send(new DeleteLogGroupCommand({ logGroupName: '/ecs/SampleBatch' }))
        .then(() => undefined),
    );
    expect(savedPlan(s).resources.find((p) => p.key === 'log-group')).toMatchObject({ action: 'create' });
    await logs().send(new CreateLogGroupCommand({ logGroupName: '/ecs/SampleBatch' }));
    await expectRefused(s, [
      /^ {2}log-group: \/ecs\/SampleBatch appeared since the plan and is not this stack's: it has no batchctl:stack tag$/m,
    ]);
    await logs().send(new DeleteLogGroupCommand({ logGroupName: '/ecs/SampleBatch' }));
    await logs().send(
      new CreateLogGroupCommand({
        logGroupName: '/ecs/SampleBatch',
        tags: { 'batchctl:stack': 'sample-batch', 'batchctl:logical': 'log-group' },
      }),
    );
    await expectRefused(s, [/^ {2}log-group: \/ecs\/SampleBatch was created since the plan$/m]);
  });

  it('a duplicate made by another run (a second security group with its tags)', async () => {
    const s = scratch();
    await upThenPlan(s);
    const state = JSON.parse(readFileSync(s.statePath, 'utf8'));
    const dup = await new EC2Client({ region }).send(
      new CreateSecurityGroupCommand({
        GroupName: 'sample-batch-task-2',
        Description: 'x',
        VpcId: state.resources.vpc.id,
        TagSpecifications: [
          {
            ResourceType: 'security-group',
            Tags: [
              { Key: 'batchctl:stack', Value: 'sample-batch' },
              { Key: 'batchctl:logical', Value: 'security-group/task' },
            ],
          },
        ],
      }),
    );
    await expectRefused(s, [new RegExp(`^ {2}security-group/task: duplicates \\[\\] -> \\["${dup.GroupId}"\\]$`, 'm')]);
  });

  it('the secret rewritten: pinned by its version id, never by its value', async () => {
    const s = scratch();
    await upThenPlan(s);
    await new SecretsManagerClient({ region }).send(
      new PutSecretValueCommand({ SecretId: 'sample-batch', SecretString: '{"S3_BUCKET_NAME":"elsewhere"}' }),
    );
    await expectRefused(s, [
      /^ {2}secret\/value: record attrs\.versionId: \S+ -> \S+$/m,
      /^ {2}secret\/value: value: \(sensitive\) version \S+ -> \(sensitive\) version \S+$/m,
    ]);
  });

  it('the config edited', async () => {
    const s = scratch();
    await upThenPlan(s);
    s.editConfig((t) => t.replace('cpu: 2048', 'cpu: 1024').replace('retentionDays: 365', 'retentionDays: 30'));
    const text = await expectRefused(s, [
      /^ {2}config: logs\.retentionDays: 365 -> 30$/m,
      /^ {2}config: jobs\.sample-batch\.task\.cpu: 2048 -> 1024$/m,
    ]);
    // The retention change reaches both log groups (the runs' and the history's).
    expect(text).toMatch(/^ {2}and 3 planned changes that follow from these$/m);
  });

  it('the state written by another run (which also made a resource the plan did not see)', async () => {
    const s = scratch();
    await upThenPlan(s);
    // Another run (a laptop, another CI job) adds an endpoint and writes the state.
    const other = s.configPath.replace(/\.yaml$/, '.other.yaml');
    writeFileSync(
      other,
      readFileSync(s.configPath, 'utf8').replace('logs, secretsmanager]', 'logs, secretsmanager, sts]'),
    );
    expect(await io.run('-c', other, '--state', s.statePath, 'up', '--yes')).toBe(0);
    await expectRefused(s, [
      /^ {2}state: .* was written since the plan \(version [0-9a-f]{12} -> [0-9a-f]{12}\): another run applied first$/m,
      /^ {2}vpc-endpoint\/sts: vpce-\w+ was recorded in the state since the plan, not in the plan; up would now delete it$/m,
    ]);
  });

  it('the state in S3 written by another run: its ETag moved', async () => {
    const s = scratch();
    fake.s3.addBucket('team-state', { versioning: 'Enabled' });
    const state = 's3://team-state/prod.json';
    expect(await io.run('-c', s.configPath, '--state', state, 'up', '--yes')).toBe(0);
    expect(await io.run('-c', s.configPath, '--state', state, 'plan', '--out', planPath(s))).toBe(0);
    expect(savedPlan(s).state).toMatchObject({
      backend: 's3',
      location: state,
      version: expect.stringMatching(/^"[0-9a-f]+"$/),
    });
    s.editConfig((t) => t.replace('stack: sample-batch\n', 'stack: sample-batch\ntags: { team: data }\n'));
    expect(await io.run('-c', s.configPath, '--state', state, 'up', '--yes')).toBe(0);
    s.editConfig((t) => t.replace('tags: { team: data }\n', ''));
    fake.core.resetCalls();
    expect(await io.run('-c', s.configPath, '--state', state, 'up', '--yes', planPath(s))).toBe(2);
    expect(err.join('')).toMatch(
      /^ {2}state: s3:\/\/team-state\/prod\.json was written since the plan \(version [0-9a-f]{12} -> [0-9a-f]{12}\)/m,
    );
    // The other run's tag is on every resource now: named per resource.
    expect(err.join('')).toMatch(/^ {2}vpc: tags\.team: \(none\) -> data$/m);
    // Only the stack's lock was taken and released: nothing else written.
    expect(fake.core.mutatingCalls()).toEqual([]);
    expect(
      fake.core
        .lockCalls()
        .filter((c) => c.mutating)
        .map((c) => c.op),
    ).toEqual(['PutParameter', 'DeleteParameter']);
    // Against another state object, the plan is refused too.
    expect(await io.run('-c', s.configPath, '--state', 's3://team-state/other.json', 'up', '--yes', planPath(s))).toBe(
      2,
    );
    expect(err.join('')).toMatch(
      /^ {2}state: the plan read s3:\/\/team-state\/prod\.json, this run uses s3:\/\/team-state\/other\.json$/m,
    );
  });

  it("the preflight's answers: a zone the config does not use changes nothing; an endpoint service renamed does", async () => {
    const s = scratch();
    await upThenPlan(s);
    fake.ec2.zoneList = [
      ['ap-northeast-1a', 'apne1-az4'],
      ['ap-northeast-1c', 'apne1-az1'],
      ['ap-northeast-1d', 'apne1-az2'],
      ['ap-northeast-1e', 'apne1-az9'],
    ];
    expect(await cli(s, 'up', '--yes', planPath(s)), err.join('')).toBe(0);
    fake.ec2.serviceNameOverrides.set('logs', 'com.amazonaws.vpce.ap-northeast-1.logs');
    await expectRefused(s, [
      /^ {2}preflight: endpoint service Interface:logs: com\.amazonaws\.ap-northeast-1\.logs -> com\.amazonaws\.vpce\.ap-northeast-1\.logs$/m,
    ]);
  });

  it('a change made while the plan is applied, outside it, is not written over: the next plan shows it', async () => {
    const s = scratch();
    await upThenPlan(s, async () => {
      fake.iam.roles.get('sample-batch-task')!.trust = JSON.stringify({ Version: '2012-10-17', Statement: [] });
    });
    // Right after the role is repaired, someone edits the role's policy. Each resource is read once per run
    // (the assessment): the policy is judged again on that read, unchanged, and nothing is written for it.
    const edited = JSON.stringify({ Version: '2012-10-17', Statement: [] });
    fake.core.observers.push((call) => {
      if (call.op === 'UpdateAssumeRolePolicy')
        fake.iam.roles.get('sample-batch-task')!.inline.set('sample-batch-task', edited);
    });
    fake.core.resetCalls();
    expect(await cli(s, 'up', '--yes', planPath(s)), err.join('')).toBe(0);
    expect(fake.core.mutatingCalls().map((c) => c.op)).toEqual(['UpdateAssumeRolePolicy']);
    expect(fake.iam.roles.get('sample-batch-task')!.inline.get('sample-batch-task')).toBe(edited);
    expect(await cli(s, 'plan', '--detailed-exitcode')).toBe(3);
    expect(out.join('')).toMatch(/role-policy\/task/);
  });
});

describe('the plan file', () => {
  it('is 0600, written atomically, and holds no secret value nor a hash of it', async () => {
    const s = scratch();
    await upOn(s);
    const secret = '{"S3_BUCKET_NAME":"hunter2-zebra-7731"}';
    await new SecretsManagerClient({ region }).send(
      new PutSecretValueCommand({ SecretId: 'sample-batch', SecretString: secret }),
    );
    expect(await cli(s, 'plan', '--out', planPath(s))).toBe(0);
    expect(out.join('')).toMatch(
      /^~ update +Secret value +secret\/value .*\n {6}value: \(sensitive\) -> \(sensitive\)$/m,
    );
    expect(statSync(planPath(s)).mode & 0o777).toBe(0o600);
    expect(readdirSync(s.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const text = readFileSync(planPath(s), 'utf8');
    const forms = [secret, JSON.stringify(JSON.parse(secret)), 'hunter2-zebra-7731'];
    for (const f of forms) {
      expect(text).not.toContain(f);
      for (const alg of ['sha256', 'sha1', 'md5', 'sha512']) {
        expect(text).not.toContain(createHash(alg).update(f).digest('hex'));
        expect(text).not.toContain(createHash(alg).update(f).digest('base64'));
      }
    }
    const pin = savedPlan(s).resources.find((p) => p.key === 'secret/value')!;
    expect(pin.changes).toEqual([{ field: 'value', from: '(sensitive)', to: '(sensitive)', sensitive: true }]);
    // Applied, the value desired is written (and the plan never saw it).
    expect(await cli(s, 'up', '--yes', planPath(s)), err.join('')).toBe(0);
  });

  it('`plan --out --json` still prints the plan, with where it was saved; --detailed-exitcode still says 3', async () => {
    const s = scratch();
    expect(await cli(s, '--json', 'plan', '--out', planPath(s), '--detailed-exitcode')).toBe(3);
    const r = JSON.parse(out.join(''));
    expect(r).toMatchObject({ ok: true, pending: true, saved: { path: planPath(s), id: savedPlan(s).id } });
    // 43: the dead-letter queue and its policy, the history's rule, target, group and policy, the VPC's DNS
    // attributes and the endpoint group's rule are part of the default (rule engine) stack.
    expect(r.resources).toHaveLength(43);
  });

  it('is not saved when up would refuse it (a resource not ours); the plan is still shown', async () => {
    const s = scratch();
    await logs().send(new CreateLogGroupCommand({ logGroupName: '/ecs/SampleBatch' }));
    expect(await cli(s, 'plan', '--out', planPath(s))).toBe(2);
    expect(out.join('')).toMatch(/up would refuse before changing anything: 1 conflict \(log-group\)/);
    expect(err.join('')).toContain(`warning: the plan was not saved to ${planPath(s)}: up would refuse it`);
    expect(existsSync(planPath(s))).toBe(false);
  });

  it('is refused, before any AWS call, when it is no plan, of another format or version, or edited', async () => {
    const s = scratch();
    expect(await cli(s, 'plan', '--out', planPath(s))).toBe(0);
    const good = readFileSync(planPath(s), 'utf8');
    const cases: [string, (p: Record<string, unknown>) => unknown, RegExp][] = [
      ['not a plan', () => ({ hello: 1 }), /is not a batchctl plan file/],
      ['format', (p) => ({ ...p, formatVersion: 2 }), /has format version 2; this batchctl reads 1/],
      [
        'version',
        (p) => ({ ...p, batchctlVersion: '0.0.9' }),
        new RegExp(
          `was made by batchctl 0\\.0\\.9; this is batchctl ${VERSION.replace(/\./g, '\\.')}\\nhint: apply it with batchctl 0\\.0\\.9, or make a new plan`,
        ),
      ],
      [
        'no version',
        (p) => ({ ...p, batchctlVersion: undefined }),
        /does not say which batchctl made it \(no batchctlVersion\): batchctl always records it, so the file was edited\nhint: make a new plan/,
      ],
      [
        'edited',
        (p) => ({
          ...p,
          resources: (p.resources as PlanPin[]).map((r) => (r.key === 'log-group' ? { ...r, action: 'unchanged' } : r)),
        }),
        /was modified after batchctl wrote it \(its digest does not match\)/,
      ],
    ];
    for (const [name, edit, message] of cases) {
      writeFileSync(planPath(s), JSON.stringify(edit(JSON.parse(good))));
      fake.core.resetCalls();
      expect(await cli(s, 'up', '--yes', planPath(s)), name).toBe(2);
      expect(err.join(''), name).toMatch(message);
      expect(fake.core.calls, name).toEqual([]);
    }
    expect(await cli(s, 'up', '--yes', join(s.dir, 'missing.json'))).toBe(2);
    expect(err.join('')).toMatch(/cannot read the saved plan .*missing\.json: no such file/);
  });

  it('is refused for another stack, region or account', async () => {
    const s = scratch();
    expect(await cli(s, 'plan', '--out', planPath(s))).toBe(0);
    s.editConfig((t) => t.replace('stack: sample-batch', 'stack: other-batch'));
    fake.core.resetCalls();
    expect(await cli(s, 'up', '--yes', planPath(s))).toBe(2);
    expect(err.join('')).toMatch(
      /^error: the saved plan .*plan\.json is for stack 'sample-batch' in ap-northeast-1 \(account 123456789012\), but this config and these credentials are stack 'other-batch' in ap-northeast-1 \(account 123456789012\)\n/,
    );
    expect(fake.core.mutatingCalls()).toEqual([]);
  });

  it('up <plan> takes the lock like up: a held lock refuses it, naming the holder, before anything is read', async () => {
    const s = scratch();
    expect(await cli(s, 'plan', '--out', planPath(s))).toBe(0);
    const { StackLock } = await import('../../src/state/lock.js');
    const ssm = (await createAwsClients({ region: 'ap-northeast-1' }, ['ssm'])).ssm;
    const held = await new StackLock(ssm, 'sample-batch', 'ap-northeast-1').lock({ command: 'batchctl up' });
    try {
      fake.core.resetCalls();
      expect(await cli(s, 'up', '--yes', planPath(s))).toBe(2);
      expect(err.join('')).toMatch(new RegExp(`is locked by 'batchctl up' .*lock id ${held.info.id}`));
      expect(fake.core.mutatingCalls()).toEqual([]);
    } finally {
      await held.release();
    }
    expect(await cli(s, 'up', '--yes', planPath(s)), err.join('')).toBe(0);
  });
});

describe('differences and outsidePlan', () => {
  it('name each differing path', () => {
    expect(differences({ a: 1, b: { c: [1, 2] }, d: 'x' }, { a: 1, b: { c: [1, 3] }, e: true })).toEqual([
      'b.c[1]: 2 -> 3',
      'd: x -> (none)',
      'e: (none) -> true',
    ]);
    expect(differences([1], [1, 2], 'ids')).toEqual(['ids: [1] -> [1,2]']);
  });

  it('a step may do less than planned, never more', () => {
    const pin = (p: Partial<PlanPin>): PlanPin => ({
      key: 'k',
      kind: 'x',
      label: 'X',
      action: 'update',
      changes: [{ field: 'a', from: 1, to: 2 }],
      found: { record: { kind: 'x', id: 'i' }, owned: true },
      ...p,
    });
    const now = (a: Partial<Assessment>): Assessment => ({
      key: 'k',
      kind: 'x',
      label: 'X',
      action: 'update',
      changes: [{ field: 'a', from: 1, to: 2 }],
      found: { record: { kind: 'x', id: 'i' }, owned: true, observed: {} },
      ...a,
    });
    expect(outsidePlan(pin({}), now({}))).toBeUndefined();
    expect(outsidePlan(pin({}), now({ action: 'unchanged', changes: [] }))).toBeUndefined();
    expect(
      outsidePlan(
        pin({}),
        now({
          changes: [
            { field: 'a', from: 1, to: 2 },
            { field: 'b', from: 1, to: 2 },
          ],
        }),
      ),
    ).toBe('k: b: 1 -> 2 is not in the plan');
    expect(outsidePlan(pin({}), now({ changes: [{ field: 'a', from: 0, to: 2 }] }))).toBe(
      'k: a: 0 -> 2 is not in the plan',
    );
    expect(outsidePlan(pin({ action: 'unchanged', changes: [] }), now({}))).toBe('k: a: 1 -> 2 is not in the plan');
    expect(outsidePlan(pin({ action: 'unchanged', changes: [] }), now({ action: 'create', found: undefined }))).toBe(
      'k: planned unchanged, now create',
    );
    expect(
      outsidePlan(pin({ action: 'create', found: undefined, changes: [] }), now({ action: 'unchanged', changes: [] })),
    ).toBeUndefined();
    expect(outsidePlan(pin({ partial: true }), now({ changes: [{ field: 'z', from: 1, to: 2 }] }))).toBeUndefined();
    expect(outsidePlan(pin({}), now({ found: { record: { kind: 'x', id: 'j' }, owned: true, observed: {} } }))).toBe(
      'k: planned on i, now j',
    );
    expect(
      outsidePlan(
        pin({}),
        now({
          found: { record: { kind: 'x', id: 'i' }, owned: true, observed: {}, duplicates: [{ kind: 'x', id: 'd' }] },
        }),
      ),
    ).toBe('k: d carries its tags too, which the plan did not show');
    expect(outsidePlan(undefined, now({}))).toBe('k: not in the plan');
  });
});
