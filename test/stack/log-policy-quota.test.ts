/**
 * CloudWatch Logs allows 10 account-level resource policies per region, never raised, and other services
 * take them too. Every batchctl stack of a region shares ONE (`batchctl-history`): with all 10 taken by
 * others, `plan` and `up` say so before any write (exit 2), naming the quota and the policies; with 9
 * taken, two stacks both come up. The shared policy stays while another stack's history needs it, comes
 * back if a `down` raced another stack's `up`, and replaces the per-stack policy of before.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  CloudWatchLogsClient,
  DeleteResourcePolicyCommand,
  DescribeResourcePoliciesCommand,
  PutResourcePolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { freshFakeAws, scratch, upOn, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { runDown } from '../../src/stack/down.js';
import { runStatus } from '../../src/runs/status.js';
import { runPlan } from '../../src/stack/plan.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import type { FakeAws } from '../fake-aws/index.js';

const fresh = freshFakeAws();
const io = captureCli();
const cli = (s: Scratch, ...args: string[]) => io.run('-c', s.configPath, '--state', s.statePath, ...args);
const REGION = 'ap-northeast-1';
const ACCOUNT = '123456789012';
const SHARED = 'batchctl-history';

/** A second stack in the same account and region. */
const otherStack = () =>
  scratch(
    readFileSync(DEFAULT_CONFIG_PATH, 'utf8')
      .replaceAll('sample-batch', 'other-batch')
      .replaceAll('SampleBatch', 'OtherBatch'),
  );

const down = (s: Scratch, reporter = new RecordingReporter()) =>
  runDown({ configPath: s.configPath, statePath: s.statePath, reporter, yes: true, interactive: false });

/** Whether EventBridge may deliver the history rule's events of `stack` to its group now. */
function admitted(f: FakeAws, stack: string): boolean {
  const group = `/aws/events/batchctl/${stack}/history`;
  const rule = `arn:aws:events:${REGION}:${ACCOUNT}:rule/${stack}-history`;
  return (
    f.logs.admits('events.amazonaws.com', 'logs:CreateLogStream', group, 'probe', rule) &&
    f.logs.admits('events.amazonaws.com', 'logs:PutLogEvents', group, 'probe', rule)
  );
}

describe("the region's 10 resource-policy slots", () => {
  it('all 10 taken by others: plan and up exit 2 before any write, naming the quota and the policies holding the slots', async () => {
    const f = fresh();
    const names = f.logs.addForeignPolicies(10);
    const s = scratch();
    f.core.resetCalls();
    expect(await cli(s, 'plan')).toBe(2);
    const said = io.err.join('');
    expect(said).toMatch(
      /^error: CloudWatch Logs allows 10 resource policies per account in ap-northeast-1 \(a quota AWS does not raise\), and all 10 are taken: /,
    );
    for (const n of names) expect(said).toContain(n);
    expect(said).toContain('batchctl needs one, batchctl-history, shared by every batchctl stack of the region');
    expect(said).toMatch(
      /\nhint: free a slot: delete a policy nobody needs \(`aws logs delete-resource-policy --policy-name <name> --region ap-northeast-1`\)/,
    );
    expect(await cli(s, 'up', '--yes')).toBe(2);
    expect(io.err.join('')).toContain('and all 10 are taken');
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(f.inventory().filter((e) => e.type !== 'logs.resource-policy')).toEqual([]);
  });

  it("9 taken: two stacks both come up on the one shared policy; each stack's history is admitted", async () => {
    const f = fresh();
    f.logs.addForeignPolicies(9);
    const a = scratch();
    const b = otherStack();
    expect((await upOn(a)).counts.failed).toBe(0);
    expect((await upOn(b)).counts.failed).toBe(0);
    expect(f.logs.resourcePolicies.size).toBe(10);
    expect(f.logs.resourcePolicies.has(SHARED)).toBe(true);
    expect(admitted(f, 'sample-batch')).toBe(true);
    expect(admitted(f, 'other-batch')).toBe(true);
    // Both converged: nothing to write for either.
    f.core.resetCalls();
    await upOn(a);
    await upOn(b);
    expect(f.core.mutatingCalls()).toEqual([]);
    // Full now, and both plans and status say it (the note of a region short of slots).
    const status = await runStatus({
      configPath: a.configPath,
      statePath: a.statePath,
      reporter: new RecordingReporter(),
    });
    const node = status.resources.find((r) => r.key === 'history/log-policy')!;
    expect(node.notes).toEqual([
      expect.stringMatching(
        /^10 of the region's 10 CloudWatch Logs resource-policy slots are taken \(batchctl-history, other-service-1, .*\); batchctl-history is one, shared by every batchctl stack of the region$/,
      ),
    ]);
    expect(await cli(a, 'plan')).toBe(0);
    expect(io.out.join('') + io.err.join('')).toMatch(
      /10 of the region's 10 CloudWatch Logs resource-policy slots are taken/,
    );
  });

  it("down keeps the policy while another stack's history needs it; the last stack's down deletes it", async () => {
    const f = fresh();
    const a = scratch();
    const b = otherStack();
    await upOn(a);
    await upOn(b);
    const reporter = new RecordingReporter();
    expect((await down(a, reporter)).failures).toEqual([]);
    expect(f.logs.resourcePolicies.has(SHARED)).toBe(true);
    expect(reporter.infos).toContain(
      `kept the Logs resource policy ${SHARED}: the history of stack other-batch still needs it`,
    );
    expect(admitted(f, 'other-batch')).toBe(true);
    expect((await down(b)).failures).toEqual([]);
    expect(f.logs.resourcePolicies.size).toBe(0);
  });

  it("a down that races another stack's up (its group created once the down had looked): the policy comes back", async () => {
    const f = fresh();
    const a = scratch();
    await upOn(a);
    // The other stack's up creates its group just as the down deletes the policy (after it listed the groups).
    f.core.observers.push((call) => {
      if (call.op === 'DeleteResourcePolicy' && call.input.policyName === SHARED) {
        const g = '/aws/events/batchctl/other-batch/history';
        f.logs.groups.set(g, {
          name: g,
          createdAt: Date.now(),
          tags: { 'batchctl:stack': 'other-batch' },
          streams: new Map(),
        });
      }
    });
    const reporter = new RecordingReporter();
    f.core.resetCalls();
    expect((await down(a, reporter)).failures).toEqual([]);
    expect(
      f.core
        .mutatingCalls()
        .filter((c) => c.service === 'logs' && /ResourcePolicy/.test(c.op))
        .map((c) => c.op),
    ).toEqual(['DeleteResourcePolicy', 'PutResourcePolicy']);
    expect(f.logs.resourcePolicies.has(SHARED)).toBe(true);
    expect(admitted(f, 'other-batch')).toBe(true);
    expect(reporter.infos).toContain(
      `put the Logs resource policy ${SHARED} back: stack other-batch came up meanwhile`,
    );
  });

  it('the per-stack policy of before is replaced by the shared one, also with all 10 slots taken (ours among them)', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    // As batchctl wrote it before: this stack's own policy, naming only its group; and no shared one.
    const group = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/events/batchctl/sample-batch/history`;
    const legacy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'HistoryStreams',
          Effect: 'Allow',
          Principal: { Service: ['delivery.logs.amazonaws.com', 'events.amazonaws.com'] },
          Action: 'logs:CreateLogStream',
          Resource: [`${group}:*`],
        },
      ],
    });
    f.logs.resourcePolicies.clear();
    f.logs.resourcePolicies.set('batchctl-sample-batch-history', {
      name: 'batchctl-sample-batch-history',
      document: legacy,
      lastUpdatedTime: Date.now(),
    });
    f.logs.addForeignPolicies(9);
    const plan = await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
    expect(plan.entries.find((e) => e.key === 'history/log-policy')).toMatchObject({ action: 'create' });
    f.core.resetCalls();
    expect((await upOn(s)).counts.failed).toBe(0);
    // The old one makes way first (no slot free), then the shared one.
    expect(f.core.mutatingCalls().map((c) => `${c.op} ${c.input.policyName}`)).toEqual([
      'DeleteResourcePolicy batchctl-sample-batch-history',
      `PutResourcePolicy ${SHARED}`,
    ]);
    expect(f.logs.resourcePolicies.size).toBe(10);
    expect(admitted(f, 'sample-batch')).toBe(true);

    // With the shared one there already (another stack's up made it), the old one is a change of its own.
    f.logs.resourcePolicies.delete('other-service-1');
    f.logs.resourcePolicies.set('batchctl-sample-batch-history', {
      name: 'batchctl-sample-batch-history',
      document: legacy,
      lastUpdatedTime: Date.now(),
    });
    const again = await runPlan({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
    });
    expect(again.entries.find((e) => e.key === 'history/log-policy')).toMatchObject({
      action: 'update',
      changes: [expect.objectContaining({ field: 'legacyPolicy' })],
    });
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls().map((c) => `${c.op} ${c.input.policyName}`)).toEqual([
      'DeleteResourcePolicy batchctl-sample-batch-history',
    ]);
  });

  it("another stack's old policy, or one of our name that names anything else, is never touched", async () => {
    const f = fresh();
    const s = scratch();
    const foreign = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'logs:PutLogEvents',
          Resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/events/other:*`,
        },
      ],
    });
    f.logs.resourcePolicies.set(SHARED, { name: SHARED, document: foreign, lastUpdatedTime: Date.now() });
    f.core.resetCalls();
    // Refused before the first write: not ours.
    expect(await cli(s, 'up', '--yes')).toBe(2);
    expect(io.err.join('')).toMatch(/Logs resource policy batchctl-history \(history\/log-policy\) already exists/);
    expect(f.logs.resourcePolicies.get(SHARED)!.document).toBe(foreign);
    expect(f.core.mutatingCalls().filter((c) => /ResourcePolicy/.test(c.op))).toEqual([]);
  });

  it('log-group-scoped policies of others use no slot', async () => {
    const f = fresh();
    f.logs.addForeignPolicies(9);
    const logs = new CloudWatchLogsClient({ region: REGION });
    // Five groups with their own resource-scoped policy (as vended logs create them).
    for (let k = 0; k < 5; k++) {
      const name = `/aws/vendedlogs/x${k}`;
      f.logs.groups.set(name, { name, createdAt: Date.now(), tags: {}, streams: new Map() });
      await logs.send(
        new PutResourcePolicyCommand({
          resourceArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`,
          policyDocument: '{"Version":"2012-10-17","Statement":[]}',
        }),
      );
    }
    expect((await upOn(scratch())).counts.failed).toBe(0);
    expect(f.logs.resourcePolicies.size).toBe(10);
    expect(f.logs.groupPolicies.size).toBe(5);
  });
});

describe('the fake models resource policies as the API model says', () => {
  it("a log group's own policy: a revision each write must name; no name with it; listed only when asked for its scope", async () => {
    const f = fresh();
    const logs = new CloudWatchLogsClient({ region: REGION });
    const name = '/aws/events/x';
    f.logs.groups.set(name, { name, createdAt: Date.now(), tags: {}, streams: new Map() });
    const resourceArn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`;
    const doc = '{"Version":"2012-10-17","Statement":[]}';
    const first = await logs.send(new PutResourcePolicyCommand({ resourceArn, policyDocument: doc }));
    expect(first.resourcePolicy).toMatchObject({ policyScope: 'RESOURCE', resourceArn });
    // Written on an old read: refused, not overwriting.
    await expect(logs.send(new PutResourcePolicyCommand({ resourceArn, policyDocument: doc }))).rejects.toMatchObject({
      name: 'OperationAbortedException',
    });
    await expect(
      logs.send(new PutResourcePolicyCommand({ resourceArn, policyDocument: doc, expectedRevisionId: 'stale' })),
    ).rejects.toMatchObject({ name: 'OperationAbortedException' });
    const second = await logs.send(
      new PutResourcePolicyCommand({ resourceArn, policyDocument: doc, expectedRevisionId: first.revisionId }),
    );
    expect(second.revisionId).not.toBe(first.revisionId);
    await expect(
      logs.send(new PutResourcePolicyCommand({ resourceArn, policyName: 'n', policyDocument: doc })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    // The default scope is ACCOUNT: the group's policy is not among those.
    expect((await logs.send(new DescribeResourcePoliciesCommand({}))).resourcePolicies).toEqual([]);
    expect(
      (await logs.send(new DescribeResourcePoliciesCommand({ policyScope: 'RESOURCE', resourceArn }))).resourcePolicies,
    ).toEqual([expect.objectContaining({ resourceArn, revisionId: second.revisionId, policyScope: 'RESOURCE' })]);
    await expect(
      logs.send(new DeleteResourcePolicyCommand({ resourceArn, expectedRevisionId: first.revisionId })),
    ).rejects.toMatchObject({ name: 'OperationAbortedException' });
    await logs.send(new DeleteResourcePolicyCommand({ resourceArn, expectedRevisionId: second.revisionId }));
    expect(f.logs.groupPolicies.size).toBe(0);
    // Account-level: the 11th is refused.
    f.logs.addForeignPolicies(10);
    await expect(
      logs.send(new PutResourcePolicyCommand({ policyName: 'eleventh', policyDocument: doc })),
    ).rejects.toMatchObject({ name: 'LimitExceededException', message: 'Resource limit exceeded.' });
  });
});
