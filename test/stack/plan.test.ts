/**
 * `plan` on the fake: clean after `up` with no mutating call; drift made behind batchctl's back shows up
 * field by field, `up` repairs exactly that, and `plan` is clean again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloudWatchLogsClient, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client, RevokeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, upOn, type Scratch } from '../helpers/stack.js';
import { runPlan } from '../../src/stack/plan.js';
import { RecordingReporter } from '../../src/engine/reporter.js';

let fake: FakeAws;
afterEach(() => fake?.uninstall());

const plan = (s: Scratch) =>
  runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });

describe('plan', () => {
  it('on an empty account plans every resource as create, read-only', async () => {
    fake = createFakeAws();
    const s = scratch();
    const p = await plan(s);
    expect(p.counts.error).toBe(0);
    expect(p.counts.create).toBe(p.entries.length);
    expect(fake.core.mutatingCalls()).toEqual([]);
  });

  it('after up: no changes and no mutating call', async () => {
    fake = createFakeAws();
    const s = scratch();
    await upOn(s);
    fake.core.resetCalls();
    const p = await plan(s);
    expect(p.pending).toBe(false);
    expect(p.counts.unchanged).toBe(p.entries.length);
    expect(fake.core.mutatingCalls()).toEqual([]);
  });

  it('shows drift (retention changed, a security group rule removed); up repairs it; plan is clean again', async () => {
    fake = createFakeAws();
    const s = scratch();
    await upOn(s);
    const region = 'ap-northeast-1';
    await new CloudWatchLogsClient({ region }).send(
      new PutRetentionPolicyCommand({ logGroupName: '/ecs/SampleBatch', retentionInDays: 7 }),
    );
    const sgs = fake.inventory().filter((e) => e.type === 'ec2.security-group');
    expect(sgs.find((e) => e.key === 'security-group/endpoint')!.settings.ingress).toHaveLength(1);
    const state = JSON.parse((await import('node:fs')).readFileSync(s.statePath, 'utf8'));
    const endpointSg = state.resources['security-group/endpoint'].id;
    const taskSg = state.resources['security-group/task'].id;
    await new EC2Client({ region }).send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: endpointSg,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: taskSg }] }],
      }),
    );

    fake.core.resetCalls();
    const drifted = await plan(s);
    expect(fake.core.mutatingCalls()).toEqual([]);
    const changed = drifted.entries.filter((e) => e.action !== 'unchanged');
    // The endpoint group's inbound rules are a node of their own.
    expect(changed.map((e) => [e.key, e.action])).toEqual([
      ['log-group', 'update'],
      ['security-group/endpoint/ingress', 'update'],
    ]);
    const retention = changed[0]!.changes![0]!;
    expect([retention.from, retention.to]).toEqual([7, 365]);
    expect(JSON.stringify(changed[1]!.changes)).toContain('443');

    const repaired = await upOn(s);
    expect(
      repaired.events
        .filter((e) => e.action === 'updated')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['log-group', 'security-group/endpoint/ingress']);
    expect((await plan(s)).pending).toBe(false);
  });

  it('a change that needs replacement is shown as refused', async () => {
    fake = createFakeAws();
    const s = scratch();
    await upOn(s);
    s.editConfig((t) => t.replace('192.168.0.0/24', '192.168.4.0/24'));
    const p = await plan(s);
    const e = p.entries.find((x) => x.key === 'subnet/batch/ap-northeast-1a')!;
    expect(e.action).toBe('replace');
    expect(e.changes![0]).toMatchObject({ from: '192.168.0.0/24', to: '192.168.4.0/24', replace: true });
  });
});
