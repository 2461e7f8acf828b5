/**
 * Every resource is read once per run. The assessment reads the stack wide (one tag-filtered Describe per
 * EC2 type, the account's roles, the stack's rules), all before the first write; a resource that lives in
 * one that does not exist is not read at all; and between the assessment and a node's step nothing is read
 * again: a node whose dependencies changed is judged again on what the assessment read.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freshFakeAws, scratch, upOn } from '../helpers/stack.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { runPlan } from '../../src/stack/plan.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import type { CallRecord } from '../fake-aws/index.js';

const fresh = freshFakeAws();

/** Stack-wide EC2 reads: a Describe filtered by our stack tag. */
const stackWide = (c: CallRecord) =>
  c.service === 'ec2' &&
  /^Describe/.test(c.op) &&
  (c.input?.Filters ?? []).some((f: { Name?: string }) => f.Name === 'tag:batchctl:stack');

describe('reads', () => {
  it('up from empty: one stack-wide read per EC2 type, before the first write; nothing read back before its create', async () => {
    const f = fresh();
    const s = scratch();
    const r = await upOn(s);
    expect(r.counts.failed).toBe(0);
    const calls = f.core.calls;
    const firstWrite = calls.findIndex((c) => c.mutating && !c.lock);
    const before = calls.slice(0, firstWrite);
    const after = calls.slice(firstWrite);
    const wide = calls.filter(stackWide);
    expect(wide.map((c) => c.op).sort()).toEqual([
      'DescribeRouteTables',
      'DescribeSecurityGroups',
      'DescribeSubnets',
      'DescribeVpcEndpoints',
      'DescribeVpcs',
    ]);
    expect(wide.every((c) => c.seq < firstWrite)).toBe(true);
    // The account's roles in one read; a resource inside one that does not exist is not read at all.
    expect(before.filter((c) => c.op === 'GetAccountAuthorizationDetails')).toHaveLength(1);
    for (const op of [
      'GetRole',
      'GetRolePolicy',
      'ListAttachedRolePolicies',
      'GetSecretValue',
      'ListTargetsByRule',
      'GetQueueAttributes',
      'GetPublicAccessBlock',
      'GetBucketEncryption',
      'GetBucketLifecycleConfiguration',
      'GetBucketPolicy',
      'GetBucketVersioning',
    ]) {
      expect(
        calls.filter((c) => c.op === op),
        op,
      ).toEqual([]);
    }
    // After the first write only waits read (a VPC, subnets and endpoints until available, the bucket until it
    // answers).
    expect([...new Set(after.filter((c) => !c.mutating && !c.lock).map((c) => c.op))].sort()).toEqual([
      'DescribeSubnets',
      'DescribeVpcEndpoints',
      'DescribeVpcs',
      'HeadBucket',
    ]);
    for (const c of after.filter((x) => !x.mutating && !x.lock && x.service === 'ec2'))
      expect(c.input.Filters, `${c.op} by id`).toBeUndefined();
  });

  it('the two security groups are created together: only the rule between them waits for both', async () => {
    const f = fresh();
    f.core.latencyMs = 30;
    await upOn(scratch());
    const groups = f.core.calls.filter((c) => c.op === 'CreateSecurityGroup');
    expect(groups).toHaveLength(2);
    expect(groups[1]!.startedAt).toBeLessThan(groups[0]!.endedAt!);
    const rule = f.core.calls.find((c) => c.op === 'AuthorizeSecurityGroupIngress')!;
    expect(rule.startedAt).toBeGreaterThanOrEqual(Math.max(...groups.map((g) => g.endedAt!)));
  });

  it("a no-op up and plan read each thing once, all at the walk's start", async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.core.resetCalls();
    await upOn(s);
    const upCalls = f.core.calls.map((c) => c.op);
    f.core.resetCalls();
    await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
    const planCalls = f.core.calls.map((c) => c.op);
    for (const ops of [upCalls, planCalls]) {
      expect(ops.filter((op) => op === 'GetAccountAuthorizationDetails')).toHaveLength(1);
      // The queue and its policy share one GetQueueAttributes; every other read is of one thing.
      expect(ops.filter((op) => op === 'GetQueueAttributes')).toHaveLength(1);
      const counts = new Map<string, number>();
      for (const op of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
      // Two log groups, two rules (the schedule's and the history's) and their targets, two VPC attributes.
      const twice = ['DescribeLogGroups', 'DescribeVpcAttribute', 'ListTargetsByRule'];
      const tags = ops.filter((op) => op === 'ListTagsForResource');
      expect(tags).toHaveLength(5);
      for (const [op, n] of counts) if (op !== 'ListTagsForResource') expect(n, op).toBe(twice.includes(op) ? 2 : 1);
    }
    expect(f.core.mutatingCalls()).toEqual([]);
  });

  it('a node whose dependency changed is judged again on what the assessment read, not read again', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.core.resetCalls();
    await upOn(s);
    const noop = new Map<string, number>();
    for (const c of f.core.calls.filter((x) => !x.lock)) noop.set(c.op, (noop.get(c.op) ?? 0) + 1);
    // A tag for every resource: every taggable one is updated, and what lives in them (bucket settings,
    // inline policies, targets, the queue's policy, the VPC's attributes) is judged again on the first read.
    s.editConfig((t) => `${t}\ntags:\n  team: data\n`);
    f.core.resetCalls();
    const r = await upOn(s);
    expect(r.counts.failed).toBe(0);
    expect(r.counts.updated).toBeGreaterThan(20);
    const firstWrite = f.core.calls.findIndex((c) => c.mutating && !c.lock);
    expect(f.core.calls.slice(firstWrite).filter((c) => !c.mutating && !c.lock)).toEqual([]);
    // The same reads as a no-op run, plus the task definition's revision, described because the tags it
    // registers with changed (its recorded digest no longer matches).
    const reads = new Map<string, number>();
    for (const c of f.core.calls.filter((x) => !x.mutating && !x.lock)) reads.set(c.op, (reads.get(c.op) ?? 0) + 1);
    expect(Object.fromEntries(reads)).toEqual({ ...Object.fromEntries(noop), DescribeTaskDefinition: 1 });
  });

  it("job secrets and the region's Logs resource policies: read once per command, the preflight's answer serving the walk", async () => {
    const f = fresh();
    f.secretsManager.addSecret({ name: 'prod/db', value: { password: 'never-read' } });
    f.ssm.addParameter({ name: '/prod/api-key', value: 'never-read', type: 'SecureString' });
    const config = readFileSync(DEFAULT_CONFIG_PATH, 'utf8')
      .replace(/interfaceEndpoints: \[[^\]]*\]/, 'interfaceEndpoints: [ecr.api, ecr.dkr, logs, secretsmanager, ssm]')
      .replace(
        /^ {2}command: .*$/m,
        (line) =>
          `${line}\n  secrets:\n    DB_PASSWORD: secretsmanager:prod/db:password\n    API_KEY: ssm:/prod/api-key\n`,
      );
    const s = scratch(config);
    const runs: [string, () => Promise<unknown>][] = [
      ['up from empty', () => upOn(s)],
      ['no-op up', () => upOn(s)],
      [
        'no-op plan',
        () => runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() }),
      ],
    ];
    for (const [what, run] of runs) {
      f.core.resetCalls();
      await run();
      const firstWrite = f.core.calls.findIndex((c) => c.mutating && !c.lock);
      const reads = (op: string) => f.core.calls.filter((c) => c.op === op);
      // The preflight looks the secrets up; the task definition and the execution role's policy take its answer.
      expect(
        reads('DescribeSecret').filter((c) => c.input.SecretId === 'prod/db'),
        what,
      ).toHaveLength(1);
      expect(reads('DescribeParameters'), what).toHaveLength(1);
      expect(reads('DescribeResourcePolicies'), what).toHaveLength(1);
      if (firstWrite >= 0) {
        for (const op of ['DescribeSecret', 'DescribeParameters', 'DescribeResourcePolicies']) {
          expect(Math.max(...reads(op).map((c) => c.seq)), `${what}: ${op}`).toBeLessThan(firstWrite);
        }
      }
    }
  });
});
