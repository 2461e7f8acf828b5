/**
 * `up` end to end on the stateful fake AWS: the resulting inventory, idempotency, recovery from lost
 * state, failures and crashes at every step, IAM propagation, and the lock.
 */
import { describe, expect, it, vi } from 'vitest';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type InventoryEntry } from '../fake-aws/index.js';
import { leaveDeadLock, scratch, settleWithFakeTimers, upOn, type Scratch, freshFakeAws } from '../helpers/stack.js';
import { RunFailed, UserError } from '../../src/base/errors.js';

const fresh = freshFakeAws();

const byType = (inv: InventoryEntry[]) => {
  const out: Record<string, string[]> = {};
  for (const e of inv) (out[e.type] ??= []).push(e.key);
  for (const k of Object.keys(out)) out[k]!.sort();
  return out;
};
const entry = (inv: InventoryEntry[], type: string, key: string) => {
  const found = inv.filter((e) => e.type === type && e.key === key);
  expect(found, `${type} ${key}`).toHaveLength(1);
  return found[0]!.settings as Record<string, any>;
};

/** The stack.md inventory, by fake resource type. */
const EXPECTED_TYPES = {
  'ec2.vpc': ['vpc'],
  'ec2.subnet': [
    'subnet/batch/ap-northeast-1a',
    'subnet/batch/ap-northeast-1c',
    'subnet/endpoint/ap-northeast-1a',
    'subnet/endpoint/ap-northeast-1c',
  ],
  'ec2.route-table': ['route-table'],
  'ec2.security-group': ['security-group/endpoint', 'security-group/task'],
};

describe('up from empty', () => {
  it('builds exactly the stack.md inventory with the article settings, everything tagged', async () => {
    const f = fresh();
    const s = scratch();
    const report = await upOn(s);
    expect(report.counts.failed).toBe(0);
    // Everything is created, as plan said: 43 created, and nothing is read back between the assessment and
    // its create. New buckets already block public access, encrypt with AES256 and are unversioned: those
    // three settings come with the bucket, and are neither read nor written.
    expect(report.events.filter((e) => e.action !== 'created')).toEqual([]);
    expect(report.counts.created).toBe(43);
    for (const op of ['PutPublicAccessBlock', 'PutBucketEncryption', 'PutBucketVersioning'])
      expect(f.core.count({ op }), op).toBe(0);
    const s3 = f.core.calls.filter((c) => c.service === 's3').map((c) => c.op);
    expect(s3.filter((op) => /^Get|^Head/.test(op) && op !== 'GetBucketTagging' && op !== 'HeadBucket')).toEqual([]);
    expect(s3).toEqual(expect.arrayContaining(['PutBucketLifecycleConfiguration', 'PutBucketPolicy']));

    const inv = f.inventory();
    const types = byType(inv);
    for (const [t, keys] of Object.entries(EXPECTED_TYPES)) expect(types[t], t).toEqual(keys);

    expect(entry(inv, 'ec2.vpc', 'vpc')).toMatchObject({
      cidr: '192.168.0.0/16',
      enableDnsHostnames: true,
      enableDnsSupport: true,
    });
    const endpoints = inv.filter((e) => e.type === 'ec2.vpc-endpoint');
    expect(endpoints.map((e) => e.settings.serviceName).sort()).toEqual([
      'com.amazonaws.ap-northeast-1.ecr.api',
      'com.amazonaws.ap-northeast-1.ecr.dkr',
      'com.amazonaws.ap-northeast-1.logs',
      'com.amazonaws.ap-northeast-1.s3',
      'com.amazonaws.ap-northeast-1.secretsmanager',
    ]);
    const iface = endpoints.filter((e) => e.settings.type === 'Interface');
    expect(iface).toHaveLength(4);
    for (const e of iface) {
      expect(e.settings.privateDnsEnabled).toBe(true);
      expect((e.settings.subnets as string[]).sort()).toEqual([
        '<subnet/endpoint/ap-northeast-1a>',
        '<subnet/endpoint/ap-northeast-1c>',
      ]);
      expect(e.settings.state).toBe('available');
    }
    // 8 billed ENIs: 4 interface endpoints x 2 AZs.
    expect(f.ec2.networkInterfaceCount()).toBe(8);

    const logs = inv.find((e) => e.type === 'logs.log-group' && e.key === 'log-group')!;
    expect(logs.settings).toMatchObject({ name: '/ecs/SampleBatch', retentionInDays: 365 });
    // The run history: its group (same retention), the rule of stopped tasks and its target, the resource policy every
    // batchctl stack of the region shares.
    expect(entry(inv, 'logs.log-group', 'history/log-group')).toMatchObject({
      name: '/aws/events/batchctl/sample-batch/history',
      retentionInDays: 365,
    });
    expect(entry(inv, 'logs.resource-policy', 'batchctl-history')).toBeDefined();
    expect(JSON.parse(entry(inv, 'events.rule', 'history/rule').eventPattern as string)).toMatchObject({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: { lastStatus: ['STOPPED'] },
    });

    const bucket = inv.find((e) => e.type === 's3.bucket')!;
    expect(bucket.settings).toMatchObject({
      name: 'sample-batch-123456789012-ap-northeast-1',
      encryption: 'AES256',
      publicAccessBlock: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
    });
    expect(JSON.stringify(bucket.settings.lifecycle)).toContain('"Days":365');
    expect(JSON.stringify(bucket.settings)).toContain('aws:SecureTransport');

    const roles = inv
      .filter((e) => e.type === 'iam.role')
      .map((e) => e.settings.name)
      .sort();
    expect(roles).toEqual(['sample-batch-events', 'sample-batch-execution', 'sample-batch-task']);
    expect(JSON.stringify(inv)).not.toContain('AmazonS3FullAccess');

    const rule = inv.find((e) => e.type === 'events.rule' && e.key === 'schedule-rule')!;
    expect(rule.settings).toMatchObject({ scheduleExpression: 'cron(30 * * * ? *)', state: 'ENABLED' });

    const td = inv.find((e) => e.type === 'ecs.task-definition')!;
    expect(td.settings).toMatchObject({
      cpu: '2048',
      memory: '8192',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
    });
    const target = inv.find((e) => e.type === 'events.target' && e.key === 'schedule-rule/batch')!;
    expect(target.settings).toMatchObject({
      arn: '<cluster>',
      roleArn: '<role/events>',
      retryPolicy: { MaximumEventAgeInSeconds: 1800, MaximumRetryAttempts: 10 },
      ecs: { TaskCount: 1, LaunchType: 'FARGATE' },
      input: undefined,
      inputTransformer: { InputPathsMap: { time: '$.time' } },
    });
    expect(JSON.stringify(target.settings)).toContain('"AssignPublicIp":"DISABLED"');
    expect(inv.find((e) => e.type === 'ecs.cluster')!.settings.settings).toEqual([
      { name: 'containerInsights', value: 'enabled' },
    ]);
    expect(inv.find((e) => e.type === 'ecr.repository')!.settings).toMatchObject({
      name: 'sample-batch',
      scanOnPush: true,
      encryptionType: 'KMS',
    });
    expect(inv.find((e) => e.type === 'secretsmanager.secret')!.settings).toMatchObject({
      name: 'sample-batch',
      value: { present: true, jsonKeys: ['S3_BUCKET_NAME'] },
    });

    // No secret value anywhere in the state file.
    const stateText = readFileSync(s.statePath, 'utf8');
    expect(stateText).not.toContain('S3_BUCKET_NAME":');
    expect(statSync(s.statePath).mode & 0o777).toBe(0o600);
    for (const e of inv) {
      const tags = (e.settings.tags ?? undefined) as Record<string, string> | undefined;
      if (tags) expect(tags['batchctl:stack'], `${e.type} ${e.key} tag`).toBe('sample-batch');
    }
  });
});

describe('duplicate-trigger guard', () => {
  it('up on the fake sets the input transformer on the schedule target', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const target = f.eventBridge.rules.get('sample-batch')!.targets.get('batch')!;
    expect(target.Input).toBeUndefined();
    expect(target.InputTransformer!.InputPathsMap).toEqual({ time: '$.time' });
    const time = '2026-11-28T03:30:00Z';
    // What EventBridge hands ECS for a scheduled event: valid JSON carrying the event time.
    const input = JSON.parse(
      f.eventBridge.targetInput('sample-batch', 'batch', {
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        time,
        detail: {},
      }),
    );
    expect(input).toEqual({
      containerOverrides: [
        {
          name: 'batch',
          command: ['node', 'dist/main.js'],
          environment: [{ name: 'BATCH_SCHEDULED_TIME', value: time }],
        },
      ],
    });
    // The pieces the job needs: the claim grant and the lock expiry.
    const inv = f.inventory();
    expect(JSON.stringify(entry(inv, 'iam.role-policy', 'role/task/sample-batch-task'))).toContain('/.batchctl/runs/*');
    expect(JSON.stringify(inv.find((e) => e.type === 's3.bucket')!.settings.lifecycle)).toContain(
      '"Prefix":".batchctl/runs/"',
    );
  });

  it("duplicateGuard: false keeps the time and turns the job's guard off; toggling it is an in-place update", async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    s.editConfig((t) => t.replace('  enabled: true\n', '  enabled: true\n  duplicateGuard: false\n'));
    const report = await upOn(s);
    expect(
      report.events
        .filter((e) => e.action === 'updated')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['role-policy/task', 'schedule-target']);
    const input = JSON.parse(f.eventBridge.targetInput('sample-batch', 'batch', { time: '2026-11-28T03:30:00Z' }));
    expect(input.containerOverrides[0].environment).toEqual([
      { name: 'BATCH_SCHEDULED_TIME', value: '2026-11-28T03:30:00Z' },
      { name: 'BATCH_DUPLICATE_GUARD', value: 'off' },
    ]);
    expect(JSON.stringify(entry(f.inventory(), 'iam.role-policy', 'role/task/sample-batch-task'))).not.toContain(
      '/.batchctl/runs/*',
    );
    f.core.resetCalls();
    expect((await upOn(s)).counts.updated).toBe(0);
    expect(f.core.count({ mutating: true })).toBe(0);
  });
});

describe('idempotency', () => {
  it('a second up makes zero mutating calls and reports every resource unchanged', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.core.resetCalls();
    const again = await upOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual([]);
    expect(again.counts.unchanged).toBe(again.events.length);
    // One STS call plus at most 2 reads per resource on average.
    expect(f.core.calls.length - 1).toBeLessThanOrEqual(2 * again.events.length);
  });

  it('with the state file deleted, up finds everything by tags and duplicates nothing', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const before = f.inventory();
    rmSync(s.statePath);
    f.core.resetCalls();
    const again = await upOn(s);
    expect(again.counts.created).toBe(0);
    expect(f.inventory()).toEqual(before);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual([]);
  });

  it('a changed retention updates only the log group; a changed schedule only the rule', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    s.editConfig((t) => t.replace('retentionDays: 365', 'retentionDays: 30'));
    const r1 = await upOn(s);
    // The history keeps the runs as long as their logs: both groups follow logs.retentionDays.
    expect(
      r1.events
        .filter((e) => e.action !== 'unchanged')
        .map((e) => [e.key, e.action])
        .sort(),
    ).toEqual([
      ['history/log-group', 'updated'],
      ['log-group', 'updated'],
    ]);
    expect(
      f
        .inventory()
        .filter((e) => e.type === 'logs.log-group')
        .map((e) => e.settings.retentionInDays),
    ).toEqual([30, 30]);

    s.editConfig((t) => t.replace('cron(30 * * * ? *)', 'cron(0 3 * * ? *)'));
    f.core.resetCalls();
    const r2 = await upOn(s);
    expect(r2.events.filter((e) => e.action !== 'unchanged').map((e) => [e.key, e.action])).toEqual([
      ['schedule-rule', 'updated'],
    ]);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['PutRule']);
  });

  it('deletes what the config no longer has, after converging the rest; plan shows it first', async () => {
    const f = fresh();
    const s = scratch();
    s.editConfig((t) =>
      t.replace(
        'interfaceEndpoints: [ecr.api, ecr.dkr, logs, secretsmanager]',
        'interfaceEndpoints: [ecr.api, ecr.dkr, logs, secretsmanager, sts]',
      ),
    );
    await upOn(s);
    expect(f.inventory().filter((e) => e.type === 'ec2.vpc-endpoint')).toHaveLength(6);
    s.editConfig((t) => t.replace(', sts]', ']'));
    const { runPlan } = await import('../../src/stack/plan.js');
    const p = await runPlan({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new (await import('../../src/engine/reporter.js')).RecordingReporter(),
    });
    expect(p.entries.filter((e) => e.action !== 'unchanged').map((e) => [e.key, e.action])).toEqual([
      ['vpc-endpoint/sts', 'delete'],
    ]);
    const r = await upOn(s);
    expect(r.events.filter((e) => e.action !== 'unchanged').map((e) => [e.key, e.action])).toEqual([
      ['vpc-endpoint/sts', 'deleted'],
    ]);
    const endpoints = f.inventory().filter((e) => e.type === 'ec2.vpc-endpoint' && e.settings.state !== 'deleted');
    expect(endpoints.map((e) => e.key).sort()).not.toContain('vpc-endpoint/sts');
    expect(JSON.parse(readFileSync(s.statePath, 'utf8')).resources['vpc-endpoint/sts']).toBeUndefined();
    const again = await runPlan({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new (await import('../../src/engine/reporter.js')).RecordingReporter(),
    });
    expect(again.pending).toBe(false);
  });

  it('refuses a change that needs replacement (VPC CIDR) without touching anything', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    s.editConfig((t) => t.replace('vpcCidr: 192.168.0.0/16', 'vpcCidr: 192.168.0.0/17'));
    f.core.resetCalls();
    const err = await upOn(s).catch((e) => e);
    expect(err).toBeInstanceOf(RunFailed);
    expect(
      err.failures.some((x: Error) => x instanceof UserError && /vpc would have to be replaced/.test(x.message)),
    ).toBe(true);
    expect(f.core.mutatingCalls()).toEqual([]);
  });
});

/** Clean-run reference: the inventory and the mutating calls a clean `up` makes. */
async function cleanRun() {
  const f = fresh();
  const s = scratch();
  await upOn(s, { parallel: 4 });
  return { inventory: f.inventory(), mutating: f.core.mutatingCalls().map((c) => `${c.service}:${c.op}`) };
}

describe('failures and crashes', () => {
  // A refusal (4xx): the SDK does not retry it and nothing was applied. (A 5xx the SDK retries itself; a
  // lost answer is the lost-response suite's.)
  it('a failure injected at each mutating call in turn: up fails naming the step, the next up converges', async () => {
    const clean = await cleanRun();
    expect(clean.mutating.length).toBeGreaterThan(30);
    for (let i = 0; i < clean.mutating.length; i++) {
      const f = fresh();
      const s = scratch();
      f.core.inject({
        kind: 'error',
        code: 'InjectedFailure',
        message: `injected at #${i}`,
        status: 400,
        match: (c) => c.mutatingSeq === i,
      });
      const err = await upOn(s, { parallel: 4 }).catch((e) => e);
      expect(err, `call #${i} ${clean.mutating[i]}`).toBeInstanceOf(RunFailed);
      expect(err.message).toMatch(new RegExp(`: (create|update) failed: InjectedFailure: injected at #${i}`));
      const report = await upOn(s, { parallel: 4 });
      expect(report.counts.failed).toBe(0);
      expect(f.inventory(), `after failure at #${i} ${clean.mutating[i]}`).toEqual(clean.inventory);
    }
  }, 120_000);

  it('"the process dies" right after each mutating call: the next up (stale lock, old state) converges with no duplicate', async () => {
    const clean = await cleanRun();
    for (let i = 0; i < clean.mutating.length; i++) {
      const f = fresh();
      const s = scratch();
      let snapshot: string | undefined;
      f.core.inject({
        kind: 'crash',
        match: (c) => c.mutatingSeq === i,
        onCrash: () => {
          snapshot = existsSync(s.statePath) ? readFileSync(s.statePath, 'utf8') : undefined;
        },
      });
      await upOn(s, { parallel: 4 }).catch(() => {});
      // What a real crash leaves: the state as it was at that instant, and a lock held by a dead process.
      if (snapshot === undefined) rmSync(s.statePath, { force: true });
      else writeFileSync(s.statePath, snapshot);
      leaveDeadLock(f);
      const report = await upOn(s, { parallel: 4 });
      expect(report.counts.failed).toBe(0);
      expect(
        report.reporter.warnings.some((w) => /took over the lock of a run of this machine that is gone/.test(w)),
      ).toBe(true);
      expect(f.inventory(), `after crash at #${i} ${clean.mutating[i]}`).toEqual(clean.inventory);
    }
  }, 120_000);
});

describe('IAM propagation', () => {
  it('a just-created role is refused for a while; up succeeds through its retry, on fake timers', async () => {
    vi.useFakeTimers({
      now: Date.parse('2026-11-28T00:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
    });
    const f = fresh();
    f.iam.propagationMs = 12_000;
    const s = scratch();
    const report = await settleWithFakeTimers(upOn(s));
    expect(report.counts.failed).toBe(0);
    expect(
      report.reporter.progress.some((p) =>
        /waiting for IAM role .*sample-batch-(events|execution|task).* to propagate/.test(p.message),
      ),
    ).toBe(true);
    expect(
      f.core.calls.some((c) => c.error && /Validation|ClientException/.test(c.error)) ||
        f.core.calls.some((c) => c.op === 'PutTargets'),
    ).toBe(true);
  });
});

describe('lock', () => {
  it('two up runs on one state at once: the second fails with the lock error', async () => {
    const f = fresh();
    f.core.latencyMs = 5;
    const s: Scratch = scratch();
    const first = upOn(s);
    // Let the first take the lock (it does so after its STS call).
    await new Promise((r) => setTimeout(r, 20));
    const second = await upOn(s).catch((e) => e);
    expect(second).toBeInstanceOf(UserError);
    expect(second.message).toMatch(
      new RegExp(
        `is locked by 'batchctl up' by .* on ${hostname()}, pid ${process.pid}, since .*, lock id [0-9a-f]{12}$`,
      ),
    );
    expect(second.hint).toMatch(/--force-unlock [0-9a-f]{12}/);
    await first;
    expect(f.ssm.parameters.size).toBe(0);
  });
});
