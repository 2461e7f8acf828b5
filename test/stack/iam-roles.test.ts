/**
 * The stack's roles and their policies are read in one call (GetAccountAuthorizationDetails, paged), and
 * what that read shows is judged as GetRole, ListAttachedRolePolicies and GetRolePolicy would show it: drift
 * and foreign roles alike. Where the account refuses the call (an SCP), each role is read on its own, with
 * the same plan.
 */
import { describe, expect, it } from 'vitest';
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { freshFakeAws, scratch, upOn, type Scratch } from '../helpers/stack.js';
import { runPlan } from '../../src/stack/plan.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { jobsConfig } from '../helpers/ctx.js';

const fresh = freshFakeAws();
const iam = () => new IAMClient({ region: 'ap-northeast-1' });
const READS = ['GetRole', 'GetRolePolicy', 'ListAttachedRolePolicies', 'ListRolePolicies'];

async function plan(s: Scratch, reporter = new RecordingReporter()) {
  return runPlan({ configPath: s.configPath, statePath: s.statePath, reporter });
}
const changed = (p: Awaited<ReturnType<typeof plan>>) =>
  p.entries
    .filter((e) => e.action !== 'unchanged')
    .map((e) => `${e.action} ${e.key} ${(e.changes ?? []).map((c) => c.field).join(',')}`.trim());

describe("the stack's roles, read in one call", () => {
  it('a no-op plan reads every role and policy with one GetAccountAuthorizationDetails, none role by role', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.core.resetCalls();
    const p = await plan(s);
    expect(p.pending).toBe(false);
    expect(f.core.calls.filter((c) => c.service === 'iam').map((c) => c.op)).toEqual([
      'GetAccountAuthorizationDetails',
    ]);
  });

  it('drift is found as before: a policy attached by hand, an inline policy edited, a trust policy changed', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    await iam().send(
      new AttachRolePolicyCommand({
        RoleName: 'sample-batch-task',
        PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );
    await iam().send(
      new PutRolePolicyCommand({
        RoleName: 'sample-batch-execution',
        PolicyName: 'sample-batch-execution',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    );
    await iam().send(
      new UpdateAssumeRolePolicyCommand({
        RoleName: 'sample-batch-events',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    f.core.resetCalls();
    const p = await plan(s);
    expect(changed(p)).toEqual([
      'update role/task managedPolicies',
      'update role/events trustPolicy',
      'update role-policy/execution document',
    ]);
    expect(f.core.calls.filter((c) => READS.includes(c.op))).toEqual([]);
    await upOn(s);
    expect((await plan(s)).pending).toBe(false);
    expect([...f.iam.roles.get('sample-batch-task')!.attached]).toEqual([]);
  });

  it('a role of our name that is not ours is refused, as before', async () => {
    fresh();
    const s = scratch();
    await iam().send(
      new CreateRoleCommand({
        RoleName: 'sample-batch-task',
        Tags: [{ Key: 'batchctl:stack', Value: 'other' }],
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    const p = await plan(s);
    expect(p.conflicts.map((e) => e.key)).toEqual(['role/task']);
    expect(String(p.entries.find((e) => e.key === 'role/task')!.error)).toMatch(/carries the tag of stack 'other'/);
  });

  it('an account with more roles than a page holds is read page after page, to the same plan', async () => {
    const f = fresh();
    const s = scratch(jobsConfig(3));
    await upOn(s);
    const roles = f.iam.roles.size;
    f.iam.detailsPageCap = 2;
    f.core.resetCalls();
    const p = await plan(s);
    expect(p.pending).toBe(false);
    expect(f.core.calls.filter((c) => c.op === 'GetAccountAuthorizationDetails')).toHaveLength(Math.ceil(roles / 2));
    expect(f.core.calls.filter((c) => READS.includes(c.op))).toEqual([]);
  });

  it('refused (an SCP denies it): each role is read on its own, with the same plan, and one warning', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    await iam().send(
      new AttachRolePolicyCommand({
        RoleName: 'sample-batch-task',
        PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      }),
    );
    const withSnapshot = changed(await plan(s));
    f.core.inject({
      kind: 'error',
      match: (c) => c.op === 'GetAccountAuthorizationDetails',
      code: 'AccessDenied',
      status: 403,
      times: Infinity,
      message: 'denied by an SCP',
    });
    f.core.resetCalls();
    const reporter = new RecordingReporter();
    expect(changed(await plan(s, reporter))).toEqual(withSnapshot);
    expect(withSnapshot).toEqual(['update role/task managedPolicies']);
    expect(f.core.count({ op: 'GetAccountAuthorizationDetails' })).toBe(1);
    expect(f.core.count({ op: 'GetRole' })).toBe(3);
    expect(f.core.count({ op: 'GetRolePolicy' })).toBe(3);
    expect(reporter.warnings.filter((w) => /GetAccountAuthorizationDetails is not allowed/.test(w))).toHaveLength(1);
  });
});
