/**
 * Network modes end to end on the fake AWS, asserted on the fake's state: `public` (an internet gateway,
 * a default route, tasks with a public IP, no interface endpoint), the in-place switch between
 * `private-endpoints` and `public` with a task able to start at every AWS call of it, `existing` (your
 * VPC: nothing of it created, changed or deleted, `down` leaves it exactly as found), the preflight of
 * `existing`, and the refusal to switch to or from it.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { CreateVpcEndpointCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { FakeAws } from '../fake-aws/index.js';
import { freshFakeAws, scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import { existingNetwork, userNetwork, userNetworkState } from '../helpers/network.js';
import { runDown } from '../../src/stack/down.js';
import { runPlan } from '../../src/stack/plan.js';
import { runStatus } from '../../src/runs/status.js';
import { renderStatus } from '../../src/cli/commands/status.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { exitCodeFor } from '../../src/cli/lib/errors.js';
import { runNow } from '../../src/runs/run-now.js';
import { ConfigError } from '../../src/base/errors.js';

const fresh = freshFakeAws();
const TAG = 'batchctl:stack';

const setMode = (s: Scratch, mode: string) => s.editConfig((t) => t.replace(/^ {2}mode: .*$/m, `  mode: ${mode}`));
const plan = (s: Scratch) =>
  runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
const downOn = (s: Scratch) =>
  runDown({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter: new RecordingReporter(),
    interactive: false,
    yes: true,
  });
const stateOf = (s: Scratch) =>
  JSON.parse(readFileSync(s.statePath, 'utf8')).resources as Record<string, { kind: string; id: string }>;

/** The network configuration the schedule's target starts tasks with (rule engine). */
function targetNetwork(f: FakeAws): { subnets: string[]; securityGroups: string[]; assignPublicIp: string } {
  const vpc = f.eventBridge.rules.get('sample-batch')!.targets.get('batch')!.EcsParameters!.NetworkConfiguration!
    .awsvpcConfiguration!;
  return {
    subnets: vpc.Subnets ?? [],
    securityGroups: vpc.SecurityGroups ?? [],
    assignPublicIp: vpc.AssignPublicIp ?? 'DISABLED',
  };
}

/** Why a task the schedule starts now could not pull its image, read its secret or ship its logs. */
const runProblem = (f: FakeAws) => f.ec2.taskNetworkProblem(targetNetwork(f));

/** Run `check` before every call the fake receives, so it sees the state between every two mutations. */
function beforeEveryCall(f: FakeAws, check: () => void): void {
  f.core.inject({
    kind: 'crash',
    times: Number.POSITIVE_INFINITY,
    match: () => {
      check();
      return false;
    },
  });
}

async function refused(p: Promise<unknown>): Promise<ConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect(exitCodeFor(err)).toBe(2);
  return err as ConfigError;
}

/** A stack up in mode public. */
async function publicStack(): Promise<{ f: FakeAws; s: Scratch }> {
  const f = fresh();
  const s = scratch();
  setMode(s, 'public');
  await upOn(s);
  return { f, s };
}

const ours = <T extends { tags: Record<string, string> }>(m: Map<string, T>) =>
  [...m.values()].filter((x) => x.tags[TAG] === 'sample-batch');
const interfaceEndpoints = (f: FakeAws) =>
  [...f.ec2.endpoints.values()].filter((e) => e.type === 'Interface' && e.state !== 'deleted');

describe('mode public', () => {
  it('an internet gateway and a default route, tasks with a public IP and a group with no inbound rule, zero interface endpoints', async () => {
    const f = fresh();
    const s = scratch();
    setMode(s, 'public');
    const report = await upOn(s);
    expect(report.counts.failed).toBe(0);
    const [vpc] = ours(f.ec2.vpcs);
    const [igw] = ours(f.ec2.internetGateways);
    expect(igw).toMatchObject({ vpcId: vpc!.id, tags: { 'batchctl:logical': 'internet-gateway' } });
    const [rt] = ours(f.ec2.routeTables);
    expect(rt!.routes).toContainEqual({ dest: '0.0.0.0/0', target: igw!.id });
    expect(rt!.associations.map((a) => a.subnetId).sort()).toEqual(targetNetwork(f).subnets);
    expect(targetNetwork(f).assignPublicIp).toBe('ENABLED');
    const [task] = ours(f.ec2.securityGroups);
    expect(ours(f.ec2.securityGroups)).toHaveLength(1);
    expect(task!.ingress).toEqual([]);
    expect(targetNetwork(f).securityGroups).toEqual([task!.id]);
    expect(interfaceEndpoints(f)).toEqual([]);
    expect(f.ec2.networkInterfaceCount()).toBe(0);
    // The free S3 gateway endpoint stays: the bucket and the image layers never cross the internet.
    expect([...f.ec2.endpoints.values()].map((e) => e.type)).toEqual(['Gateway']);
    expect(runProblem(f)).toBeUndefined();
    // Without the public IP the gateway is useless: the same subnets would not reach ECR.
    expect(f.ec2.taskNetworkProblem({ ...targetNetwork(f), assignPublicIp: 'DISABLED' })).toMatch(
      /no ecr\.api, ecr\.dkr, logs, secretsmanager/,
    );

    f.core.resetCalls();
    const again = await upOn(s);
    expect(again.counts.unchanged).toBe(again.events.length);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect((await plan(s)).pending).toBe(false);
  });

  it('run-now starts a task that holds a public IP; a switch to private-endpoints meanwhile detaches the gateway once it stops', async () => {
    vi.useFakeTimers({
      now: Date.parse('2026-11-28T00:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
    });
    const f = fresh();
    const s = scratch();
    setMode(s, 'public');
    await settleWithFakeTimers(upOn(s));
    f.ecr.addImage('sample-batch', 'latest');
    f.ecs.taskTimings = { provisioningMs: 1000, pendingMs: 1000, runningMs: 120_000 };
    const run = await runNow({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      wait: false,
    });
    const [vpc] = ours(f.ec2.vpcs);
    await vi.advanceTimersByTimeAsync(5000);
    expect(f.ecs.publicAddressesIn(vpc!.id)).toBe(1);
    expect(run.taskArn).toBeDefined();

    setMode(s, 'private-endpoints');
    const report = await settleWithFakeTimers(upOn(s));
    expect(report.counts.failed).toBe(0);
    // AWS refused the detach while the task held its address; it went through once the task stopped.
    const detaches = f.core.calls.filter((c) => c.op === 'DetachInternetGateway');
    expect(detaches.some((c) => c.error === 'DependencyViolation')).toBe(true);
    expect(detaches.at(-1)!.error).toBeUndefined();
    expect(f.ec2.internetGateways.size).toBe(0);
    expect(report.reporter.progress.some((p) => /DependencyViolation/.test(p.message))).toBe(true);
  });

  for (const op of ['CreateInternetGateway', 'AttachInternetGateway', 'CreateRoute']) {
    it(`${op} applied but its answer lost: one up still ends with one gateway, attached, and one route`, async () => {
      const f = fresh();
      const s = scratch();
      setMode(s, 'public');
      const lost = f.core.loseResponse(op);
      const report = await upOn(s);
      expect(lost.times).toBe(0);
      expect(report.counts.failed).toBe(0);
      expect(f.ec2.internetGateways.size).toBe(1);
      const [rt] = ours(f.ec2.routeTables);
      expect(rt!.routes.filter((r) => r.dest === '0.0.0.0/0')).toHaveLength(1);
      expect(runProblem(f)).toBeUndefined();
    });
  }

  it("a run stopped between the gateway's create and its attach: the next up attaches it, no second gateway", async () => {
    const f = fresh();
    const s = scratch();
    setMode(s, 'public');
    f.core.inject({ kind: 'crash', match: (c) => c.op === 'CreateInternetGateway' });
    await upOn(s).catch(() => {});
    expect([...f.ec2.internetGateways.values()].map((g) => g.vpcId)).toEqual([undefined]);
    const report = await upOn(s);
    expect(report.events.find((e) => e.key === 'internet-gateway')).toMatchObject({
      action: 'updated',
      changes: ['vpcId'],
    });
    expect(f.ec2.internetGateways.size).toBe(1);
    expect(runProblem(f)).toBeUndefined();
  });

  it('a second gateway with our tags (two runs raced): the one attached is kept, the other deleted once the stack converged', async () => {
    const { f, s } = await publicStack();
    const [kept] = ours(f.ec2.internetGateways);
    const ec2 = new EC2Client({ region: 'ap-northeast-1' });
    const { CreateInternetGatewayCommand } = await import('@aws-sdk/client-ec2');
    const dup = (
      await ec2.send(
        new CreateInternetGatewayCommand({
          TagSpecifications: [
            {
              ResourceType: 'internet-gateway',
              Tags: [
                { Key: TAG, Value: 'sample-batch' },
                { Key: 'batchctl:logical', Value: 'internet-gateway' },
              ],
            },
          ],
        }),
      )
    ).InternetGateway!.InternetGatewayId!;
    const report = await upOn(s);
    expect(report.events.find((e) => e.action === 'deleted')).toMatchObject({
      key: `internet-gateway#${dup}`,
      message: `duplicate of ${kept!.id} (internet-gateway)`,
    });
    expect([...f.ec2.internetGateways.keys()]).toEqual([kept!.id]);
  });

  it('drift: the default route sent elsewhere and the gateway detached are put back by up', async () => {
    const { f, s } = await publicStack();
    const [igw] = ours(f.ec2.internetGateways);
    const [rt] = ours(f.ec2.routeTables);
    const [vpc] = ours(f.ec2.vpcs);
    igw!.vpcId = undefined;
    rt!.routes.find((r) => r.dest === '0.0.0.0/0')!.target = 'igw-0someoneelse000';
    expect(runProblem(f)).toBeDefined();
    const p = await plan(s);
    expect(p.entries.filter((e) => e.action === 'update').map((e) => [e.key, e.changes?.map((c) => c.field)])).toEqual([
      ['internet-gateway', ['vpcId']],
      ['route/internet', ['target']],
    ]);
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['AttachInternetGateway', 'ReplaceRoute']);
    expect(igw!.vpcId).toBe(vpc!.id);
    expect(runProblem(f)).toBeUndefined();
  });

  it('down removes the route, the gateway and the VPC; nothing of ours is left', async () => {
    const { f, s } = await publicStack();
    const report = await downOn(s);
    expect(report.failures).toEqual([]);
    expect(report.events.filter((e) => e.action === 'deleted').map((e) => e.key)).toEqual(
      expect.arrayContaining(['route/internet', 'internet-gateway', 'vpc']),
    );
    expect(f.ec2.internetGateways.size).toBe(0);
    expect(ours(f.ec2.vpcs)).toEqual([]);
    expect(stateOf(s)).toEqual({});
  });
});

describe('switching private-endpoints <-> public in place', () => {
  it("plan shows the whole switch: the gateway and route created, the target's public IP, the endpoints and their group deleted", async () => {
    fresh();
    const s = scratch();
    await upOn(s);
    setMode(s, 'public');
    const p = await plan(s);
    const by = (action: string) =>
      p.entries
        .filter((e) => e.action === action)
        .map((e) => e.key)
        .sort();
    expect(by('create')).toEqual(['internet-gateway', 'route/internet']);
    expect(by('update')).toEqual(['schedule-target']);
    expect(p.entries.find((e) => e.key === 'schedule-target')!.changes).toEqual([
      expect.objectContaining({ field: 'ecs.assignPublicIp', from: 'DISABLED', to: 'ENABLED' }),
    ]);
    expect(by('delete')).toEqual([
      'security-group/endpoint',
      'security-group/endpoint/ingress',
      'vpc-endpoint/ecr.api',
      'vpc-endpoint/ecr.dkr',
      'vpc-endpoint/logs',
      'vpc-endpoint/secretsmanager',
    ]);
    expect(by('replace')).toEqual([]);
    expect(p.conflicts).toEqual([]);
  });

  it('private-endpoints -> public -> private-endpoints: one up each, the same VPC and subnets, a run could start at every AWS call', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const ids = () => ({
      vpc: ours(f.ec2.vpcs).map((v) => v.id),
      subnets: ours(f.ec2.subnets)
        .map((x) => x.id)
        .sort(),
    });
    const before = ids();
    expect(before.subnets).toHaveLength(4);

    // Why this is the invariant: the target changes its public IP only once the new way out works (it
    // depends on the route, or on the endpoints), and the old way out goes only after everything
    // converged (the engine's prune). A moment without either would be a scheduled run that fails.
    const paths = new Set<string>();
    beforeEveryCall(f, () => {
      expect(runProblem(f)).toBeUndefined();
      const net = targetNetwork(f);
      paths.add(net.assignPublicIp === 'ENABLED' ? 'internet' : 'endpoints');
    });

    setMode(s, 'public');
    const toPublic = await upOn(s);
    expect(toPublic.counts.failed).toBe(0);
    expect(
      toPublic.events
        .filter((e) => e.action === 'created')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['internet-gateway', 'route/internet']);
    expect(toPublic.events.filter((e) => e.action === 'updated').map((e) => e.key)).toEqual(['schedule-target']);
    expect(
      toPublic.events
        .filter((e) => e.action === 'deleted')
        .map((e) => e.key)
        .sort(),
    ).toEqual([
      'security-group/endpoint',
      'security-group/endpoint/ingress',
      'vpc-endpoint/ecr.api',
      'vpc-endpoint/ecr.dkr',
      'vpc-endpoint/logs',
      'vpc-endpoint/secretsmanager',
    ]);
    expect(interfaceEndpoints(f)).toEqual([]);
    expect(targetNetwork(f).assignPublicIp).toBe('ENABLED');
    expect(ids()).toEqual(before);

    setMode(s, 'private-endpoints');
    const back = await upOn(s);
    expect(back.counts.failed).toBe(0);
    expect(
      back.events
        .filter((e) => e.action === 'deleted')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['internet-gateway', 'route/internet']);
    expect(f.ec2.internetGateways.size).toBe(0);
    expect(interfaceEndpoints(f).map((e) => e.state)).toEqual(['available', 'available', 'available', 'available']);
    expect(targetNetwork(f).assignPublicIp).toBe('DISABLED');
    expect(ids()).toEqual(before);
    expect([...paths].sort()).toEqual(['endpoints', 'internet']);

    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
  });

  it('with endpoints slow to become available, the target keeps its public IP until they are', async () => {
    vi.useFakeTimers({
      now: Date.parse('2026-11-28T00:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
    });
    const f = fresh();
    const s = scratch();
    setMode(s, 'public');
    await settleWithFakeTimers(upOn(s));
    f.ec2.endpointPendingMs = 90_000;
    f.ec2.endpointDeletingMs = 30_000;
    f.ec2.eniReleaseMs = 60_000;
    f.core.resetCalls();
    let checks = 0;
    beforeEveryCall(f, () => {
      checks++;
      expect(runProblem(f)).toBeUndefined();
    });
    setMode(s, 'private-endpoints');
    const back = await settleWithFakeTimers(upOn(s));
    expect(back.counts.failed).toBe(0);
    expect(checks).toBeGreaterThan(20);
    const order = f.core.mutatingCalls().map((c) => c.op);
    expect(order.indexOf('PutTargets')).toBeGreaterThan(order.lastIndexOf('CreateVpcEndpoint'));
    expect(order.indexOf('DeleteRoute')).toBeGreaterThan(order.indexOf('PutTargets'));
  });

  it('switching to or from existing is refused with zero writes', async () => {
    const f = fresh();
    // The dead-letter queue's name is free again at once after down (SQS holds it 60 s: not what this is about).
    f.sqs.deletedNameHoldMs = 0;
    const s = scratch();
    await upOn(s);
    const net = await userNetwork(f);
    const privateConfig = readFileSync(s.configPath, 'utf8');
    s.editConfig((t) => existingNetwork(t, { vpcId: net.vpcId, subnetIds: net.privateSubnets }));
    f.core.resetCalls();
    const toExisting = await refused(upOn(s));
    expect(toExisting.details.join('\n')).toMatch(
      /network\.mode {2}stack sample-batch has its own VPC vpc-\w+ \(mode private-endpoints or public\): switching to existing would move the job to another VPC/,
    );
    expect(f.core.mutatingCalls()).toEqual([]);
    await refused(plan(s));

    // The other way: a stack in your VPC cannot move to a VPC of its own in place.
    s.editConfig(() => privateConfig);
    await downOn(s);
    const t = scratch(existingNetwork(privateConfig, { vpcId: net.vpcId, subnetIds: net.privateSubnets }));
    await upOn(t);
    t.editConfig(() => privateConfig);
    f.core.resetCalls();
    const fromExisting = await refused(upOn(t));
    expect(fromExisting.details.join('\n')).toMatch(
      new RegExp(
        `stack sample-batch runs in your VPC ${net.vpcId} \\(mode existing\\): switching to private-endpoints would move the job`,
      ),
    );
    expect(f.core.mutatingCalls()).toEqual([]);
  });
});

describe('mode existing', () => {
  it('creates no VPC, subnet, route table or gateway; tasks run in your subnets; down leaves them exactly as found', async () => {
    const f = fresh();
    const net = await userNetwork(f);
    const s = scratch();
    s.editConfig((t) => existingNetwork(t, { vpcId: net.vpcId, subnetIds: net.privateSubnets }));
    const counts = () => [
      f.ec2.vpcs.size,
      f.ec2.subnets.size,
      f.ec2.routeTables.size,
      f.ec2.internetGateways.size,
      f.ec2.natGateways.size,
    ];
    const found = userNetworkState(f, net.vpcId);
    const [vpcs, subnets, tables, igws, nats] = counts();

    const report = await upOn(s);
    expect(report.counts.failed).toBe(0);
    expect(counts()).toEqual([vpcs, subnets, tables, igws, nats]);
    expect(report.events.filter((e) => e.kind.startsWith('ec2.') && e.action === 'created').map((e) => e.key)).toEqual([
      'security-group/task',
    ]);
    expect(
      report.events.filter((e) => e.key === 'vpc' || e.key.startsWith('subnet/')).map((e) => [e.key, e.action]),
    ).toEqual([
      ['vpc', 'unchanged'],
      [`subnet/existing/${net.privateSubnets[0]}`, 'unchanged'],
      [`subnet/existing/${net.privateSubnets[1]}`, 'unchanged'],
    ]);
    const [group] = ours(f.ec2.securityGroups);
    expect(group).toMatchObject({ vpcId: net.vpcId, ingress: [] });
    expect(targetNetwork(f)).toEqual({
      subnets: [...net.privateSubnets].sort(),
      securityGroups: [group!.id],
      assignPublicIp: 'DISABLED',
    });
    expect(runProblem(f)).toBeUndefined();
    expect(interfaceEndpoints(f)).toEqual([]);
    expect(userNetworkState(f, net.vpcId)).toEqual(found);
    // Nothing of yours carries a tag of ours.
    expect(f.ec2.vpcs.get(net.vpcId)!.tags).toEqual({});

    // plan and status show your VPC and subnets as yours.
    const p = await plan(s);
    expect(p.pending).toBe(false);
    expect(p.entries.filter((e) => e.external).map((e) => [e.key, e.label, e.record?.id])).toEqual([
      ['vpc', 'VPC (yours)', net.vpcId],
      [`subnet/existing/${net.privateSubnets[0]}`, 'Subnet (yours)', net.privateSubnets[0]],
      [`subnet/existing/${net.privateSubnets[1]}`, 'Subnet (yours)', net.privateSubnets[1]],
    ]);
    const st = await runStatus({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
    const text = renderStatus(st, { verbose: true }).join('\n');
    expect(text).toMatch(new RegExp(`yours +VPC \\(yours\\) +vpc +${net.vpcId}`));
    // Quiet, your VPC is healthy like the rest (a count), and the network line says whose it is.
    const quiet = renderStatus(st).join('\n');
    expect(quiet).not.toMatch(/VPC \(yours\)/);
    expect(quiet).toContain(`Network: existing: your VPC ${net.vpcId} (read only: batchctl never changes it)`);
    expect(text).toContain(`Network: existing: your VPC ${net.vpcId} (read only: batchctl never changes it)`);
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);

    const down = await downOn(s);
    expect(down.failures).toEqual([]);
    expect(down.targets.map((t) => t.key)).not.toContain('vpc');
    expect(down.targets.some((t) => t.key.startsWith('subnet/'))).toBe(false);
    expect(ours(f.ec2.securityGroups)).toEqual([]);
    expect(userNetworkState(f, net.vpcId)).toEqual(found);
    expect(counts()).toEqual([vpcs, subnets, tables, igws, nats]);
    expect(stateOf(s)).toEqual({});
  });

  it('your groups and the endpoints you list: no task group, the endpoint group lets HTTPS in from yours, one subnet per AZ; a subnet dropped moves the endpoint', async () => {
    const f = fresh();
    const net = await userNetwork(f);
    const ec2 = new EC2Client({ region: 'ap-northeast-1' });
    const { CreateSecurityGroupCommand } = await import('@aws-sdk/client-ec2');
    const yours = (
      await ec2.send(new CreateSecurityGroupCommand({ VpcId: net.vpcId, GroupName: 'jobs', Description: 'your jobs' }))
    ).GroupId!;
    const s = scratch();
    s.editConfig((t) =>
      existingNetwork(t, {
        vpcId: net.vpcId,
        subnetIds: [...net.privateSubnets, net.publicSubnet].slice(0, 2),
        extra: [`securityGroupIds: [${yours}]`, 'interfaceEndpoints: [logs]'],
      }),
    );
    const found = userNetworkState(f, net.vpcId);
    await upOn(s);
    const groups = ours(f.ec2.securityGroups);
    expect(groups.map((g) => g.tags['batchctl:logical'])).toEqual(['security-group/endpoint']);
    expect(groups[0]!.ingress.map((r) => [r.protocol, r.from, r.peer])).toEqual([['tcp', 443, yours]]);
    const [logs] = interfaceEndpoints(f);
    expect(logs).toMatchObject({
      vpcId: net.vpcId,
      privateDns: true,
      subnetIds: [...net.privateSubnets].sort(),
      tags: { [TAG]: 'sample-batch' },
    });
    expect(targetNetwork(f).securityGroups).toEqual([yours]);
    expect(userNetworkState(f, net.vpcId)).toEqual(found);

    s.editConfig((t) =>
      t.replace(`subnetIds: [${net.privateSubnets.join(', ')}]`, `subnetIds: [${net.privateSubnets[0]}]`),
    );
    f.core.resetCalls();
    const again = await upOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['ModifyVpcEndpoint', 'PutTargets']);
    expect(logs!.subnetIds).toEqual([net.privateSubnets[0]]);
    // Your dropped subnet: forgotten by the state, untouched in AWS.
    expect(again.events.some((e) => e.key === `subnet/existing/${net.privateSubnets[1]}`)).toBe(false);
    expect(Object.keys(stateOf(s))).not.toContain(`subnet/existing/${net.privateSubnets[1]}`);
    expect(userNetworkState(f, net.vpcId)).toEqual(found);

    await downOn(s);
    expect(interfaceEndpoints(f)).toEqual([]);
    expect(ours(f.ec2.securityGroups)).toEqual([]);
    expect(f.ec2.securityGroups.has(yours)).toBe(true);
    expect(userNetworkState(f, net.vpcId)).toEqual(found);
  });

  it('public subnets of yours: refused without assignPublicIp (and told why), started with a public IP with it', async () => {
    const f = fresh();
    const net = await userNetwork(f, { nat: false });
    const s = scratch();
    s.editConfig((t) => existingNetwork(t, { vpcId: net.vpcId, subnetIds: [net.publicSubnet] }));
    const err = await refused(upOn(s));
    expect(err.details.join('\n')).toContain(
      `${net.publicSubnet} routes 0.0.0.0/0 to the internet gateway ${net.igwId}, which tasks reach only with a public IP, and has no ecr.api, ecr.dkr, logs or secretsmanager endpoint and no S3 gateway endpoint on its route table ${net.publicRouteTable} (image layers come from S3): set network.assignPublicIp: true`,
    );
    expect(
      f.core
        .mutatingCalls()
        .filter((c) => c.service === 'ec2' && !/Vpc|Subnet|RouteTable|Route|InternetGateway/.test(c.op)),
    ).toEqual([]);

    s.editConfig((t) => t.replace('  subnetIds:', '  assignPublicIp: true\n  subnetIds:'));
    await upOn(s);
    expect(targetNetwork(f).assignPublicIp).toBe('ENABLED');
    expect(runProblem(f)).toBeUndefined();
  });
});

describe('preflight of mode existing', () => {
  it('refuses subnets with no way to ECR, naming each subnet and what is missing, before the first write', async () => {
    const f = fresh();
    const net = await userNetwork(f, { nat: false });
    const s = scratch();
    s.editConfig((t) => existingNetwork(t, { vpcId: net.vpcId, subnetIds: net.privateSubnets }));
    f.core.resetCalls();
    const err = await refused(upOn(s));
    expect(f.core.mutatingCalls()).toEqual([]);
    const lines = err.details.join('\n');
    for (const id of net.privateSubnets) {
      expect(lines).toContain(
        `network.subnetIds.${net.privateSubnets.indexOf(id)}  ${id}: no route to a NAT or internet gateway and no ecr.api, ecr.dkr, logs or secretsmanager endpoint and no S3 gateway endpoint on its route table ${net.privateRouteTable} (image layers come from S3)`,
      );
    }
    await refused(plan(s));

    // Endpoints listed for the four services, and your S3 gateway endpoint on the table: accepted.
    s.editConfig((t) => t.replace('  subnetIds:', '  interfaceEndpoints: [ecr.api, ecr.dkr, logs]\n  subnetIds:'));
    const ec2 = new EC2Client({ region: 'ap-northeast-1' });
    await ec2.send(
      new CreateVpcEndpointCommand({
        VpcId: net.vpcId,
        VpcEndpointType: 'Gateway',
        ServiceName: 'com.amazonaws.ap-northeast-1.s3',
        RouteTableIds: [net.privateRouteTable],
      }),
    );
    const missingOne = await refused(upOn(s));
    expect(missingOne.details.join('\n')).toContain(
      `${net.privateSubnets[0]}: no route to a NAT or internet gateway and no secretsmanager endpoint`,
    );
    s.editConfig((t) => t.replace('[ecr.api, ecr.dkr, logs]', '[ecr.api, ecr.dkr, logs, secretsmanager]'));
    const up = await upOn(s);
    expect(up.counts.failed).toBe(0);
    expect(interfaceEndpoints(f)).toHaveLength(4);
    expect(runProblem(f)).toBeUndefined();
  });

  it('a job secret from Parameter Store needs ssm too: refused without its endpoint, accepted with it', async () => {
    const f = fresh();
    const net = await userNetwork(f, { nat: false });
    f.ssm.addParameter({ name: '/prod/api-key', value: 'k' });
    const s = scratch();
    s.editConfig((t) =>
      existingNetwork(t, {
        vpcId: net.vpcId,
        subnetIds: net.privateSubnets,
        extra: ['interfaceEndpoints: [ecr.api, ecr.dkr, logs, secretsmanager]'],
      }).replace(
        '  command: [node, dist/main.js]\n',
        '  command: [node, dist/main.js]\n  secrets: { API_KEY: ssm:/prod/api-key }\n',
      ),
    );
    const ec2 = new EC2Client({ region: 'ap-northeast-1' });
    await ec2.send(
      new CreateVpcEndpointCommand({
        VpcId: net.vpcId,
        VpcEndpointType: 'Gateway',
        ServiceName: 'com.amazonaws.ap-northeast-1.s3',
        RouteTableIds: [net.privateRouteTable],
      }),
    );
    f.core.resetCalls();
    const err = await refused(upOn(s));
    expect(err.details.join('\n')).toContain(
      `${net.privateSubnets[0]}: no route to a NAT or internet gateway and no ssm endpoint`,
    );
    expect(f.core.mutatingCalls()).toEqual([]);
    s.editConfig((t) =>
      t.replace('[ecr.api, ecr.dkr, logs, secretsmanager]', '[ecr.api, ecr.dkr, logs, secretsmanager, ssm]'),
    );
    expect((await upOn(s)).counts.failed).toBe(0);
    expect(runProblem(f)).toBeUndefined();
  });

  it('a default route to a NAT gateway that is gone (a blackhole) is no way out', async () => {
    const f = fresh();
    const net = await userNetwork(f);
    f.ec2.natGateways.get(net.natId!)!.state = 'deleted';
    const s = scratch();
    s.editConfig((t) => existingNetwork(t, { vpcId: net.vpcId, subnetIds: [net.privateSubnets[0]!] }));
    expect((await refused(upOn(s))).details.join('\n')).toContain(
      `${net.privateSubnets[0]}: no route to a NAT or internet gateway (its default route to ${net.natId} is a blackhole: that gateway is gone) and no ecr.api`,
    );
  });

  it('your VPC and subnets must exist and belong together; a NAT subnet with assignPublicIp, DNS off with endpoints, your own endpoint listed again', async () => {
    const f = fresh();
    const net = await userNetwork(f, { dnsHostnames: false });
    const other = await userNetwork(f);
    const s = scratch();
    s.editConfig((t) => existingNetwork(t, { vpcId: 'vpc-0123456789abcdef0', subnetIds: net.privateSubnets }));
    expect((await refused(upOn(s))).details.join('\n')).toContain(
      'network.vpcId  vpc-0123456789abcdef0 does not exist in ap-northeast-1 (account 123456789012)',
    );

    s.editConfig((t) =>
      existingNetwork(t, {
        vpcId: net.vpcId,
        subnetIds: [net.privateSubnets[0]!, other.privateSubnets[0]!, 'subnet-0123456789abcdef0'],
        extra: ['assignPublicIp: true', 'interfaceEndpoints: [sts]'],
      }),
    );
    const lines = (await refused(upOn(s))).details.join('\n');
    expect(lines).toContain(
      `network.subnetIds.1  ${other.privateSubnets[0]} is in ${other.vpcId}, not in network.vpcId (${net.vpcId})`,
    );
    expect(lines).toContain('network.subnetIds.2  subnet-0123456789abcdef0 does not exist in ap-northeast-1');
    expect(lines).toContain(
      `network.subnetIds.0  ${net.privateSubnets[0]} has no route to an internet gateway (0.0.0.0/0 goes to ${net.natId}), so the public IP network.assignPublicIp gives tasks is billed and never used`,
    );
    expect(lines).toContain(
      `interface endpoints with private DNS need DNS support and DNS hostnames on ${net.vpcId}, and batchctl never changes your VPC`,
    );

    // An endpoint of yours for a service listed: the private DNS names would clash.
    const ec2 = new EC2Client({ region: 'ap-northeast-1' });
    await ec2.send(
      new CreateVpcEndpointCommand({
        VpcId: other.vpcId,
        VpcEndpointType: 'Interface',
        ServiceName: 'com.amazonaws.ap-northeast-1.sts',
        SubnetIds: [other.privateSubnets[0]!],
        PrivateDnsEnabled: true,
      }),
    );
    const t = scratch();
    t.editConfig((x) =>
      existingNetwork(x, { vpcId: other.vpcId, subnetIds: other.privateSubnets, extra: ['interfaceEndpoints: [sts]'] }),
    );
    expect((await refused(upOn(t))).details.join('\n')).toMatch(
      /network\.interfaceEndpoints\.0 {2}your VPC already has the sts endpoint vpce-\w+ with private DNS: remove sts from interfaceEndpoints \(tasks use yours\)/,
    );
  });
});
