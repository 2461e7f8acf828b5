import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  CreateVpcEndpointCommand,
  DeleteSecurityGroupCommand,
  DeleteTagsCommand,
  DeleteVpcCommand,
  DescribeAvailabilityZonesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeVpcsCommand,
  ModifyVpcAttributeCommand,
  ModifyVpcEndpointCommand,
  ModifySubnetAttributeCommand,
  ReplaceRouteTableAssociationCommand,
  RevokeSecurityGroupEgressCommand,
} from '@aws-sdk/client-ec2';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { defaultConfig, testCtx } from '../helpers/ctx.js';
import { settleWithFakeTimers } from '../helpers/stack.js';
import type { Ctx, ResourceKind, ResourceRecord } from '../../src/engine/types.js';
import type { StackConfig } from '../../src/config/schema.js';
import { K } from '../../src/model/keys.js';
import { canonicalPolicy, ruleAtoms } from '../../src/resources/lib/ec2.js';
import { vpc } from '../../src/resources/vpc.js';
import { vpcDns } from '../../src/resources/vpc-dns.js';
import { securityGroupIngress } from '../../src/resources/security-group-ingress.js';
import { subnet } from '../../src/resources/subnet.js';
import { routeTable } from '../../src/resources/route-table.js';
import { routeTableAssociation } from '../../src/resources/route-table-association.js';
import { securityGroup } from '../../src/resources/security-group.js';
import { vpcGatewayEndpoint } from '../../src/resources/vpc-gateway-endpoint.js';
import { vpcInterfaceEndpoint } from '../../src/resources/vpc-interface-endpoint.js';
import { kindSteps } from '../helpers/kinds.js';

const KINDS: ResourceKind[] = [
  vpc,
  vpcDns,
  subnet,
  routeTable,
  routeTableAssociation,
  securityGroup,
  securityGroupIngress,
  vpcGatewayEndpoint,
  vpcInterfaceEndpoint,
];

let fake: FakeAws;
let records: Map<string, ResourceRecord>;
let ctx: Ctx;

async function setup(config?: StackConfig) {
  fake = createFakeAws();
  records = new Map();
  const cfg = config ?? defaultConfig(fake.core.account);
  // The bucket is another engineer's kind; the gateway endpoint only reads its name.
  records.set(K.bucket, { kind: 's3.bucket', id: cfg.bucket.name! });
  ctx = await testCtx(fake, { config: cfg, records });
}

beforeEach(() => setup());
afterEach(() => {
  fake.uninstall();
  vi.useRealTimers();
});

const { node, converge, findAndDiff } = kindSteps(() => ({ ctx, records }));

/** Every network node, in dependency order. */
function allNodes(): [ResourceKind, string][] {
  return KINDS.flatMap((k) => k.nodes(ctx.config).map((n) => [k, n.key] as [ResourceKind, string]));
}

async function upAll(): Promise<void> {
  for (const [kind, key] of allNodes()) await converge(kind, key);
}

async function upTo(...keys: string[]): Promise<void> {
  for (const [kind, key] of allNodes()) {
    if (records.has(key)) continue;
    await converge(kind, key);
    if (keys.every((k) => records.has(k))) return;
  }
}

/** Find and diff, with the record by default, without it when `recorded` is null. */
async function findAgain(kind: ResourceKind, key: string, recorded?: ResourceRecord | null) {
  const { found, changes } = await findAndDiff(kind, key, recorded);
  return { found, diff: changes };
}

const ec2 = () => ctx.aws.ec2;
const stackTags = (key: string) => ({
  'batchctl:stack': 'sample-batch',
  'batchctl:logical': key,
  Name: `sample-batch-${key.replaceAll('/', '-')}`,
});

describe('vpc', () => {
  it('is missing, then created with our tags, its DNS attributes on (their own node), then found converged', async () => {
    expect(await vpc.find(ctx, node(vpc, K.vpc), undefined)).toBeUndefined();
    const rec = await converge(vpc, K.vpc);
    const v = fake.ec2.vpcs.get(rec.id)!;
    // A new VPC resolves DNS already; hostnames are the DNS node's to turn on.
    expect(v).toMatchObject({ cidr: '192.168.0.0/16', dnsSupport: true, dnsHostnames: false });
    expect(v.tags).toEqual(stackTags('vpc'));
    fake.core.resetCalls();
    fake.core.latencyMs = 20;
    // The engine creates the node of a VPC it just created without a look (it is part of the VPC).
    const dns = node(vpcDns, K.vpcDns);
    records.set(K.vpcDns, await vpcDns.create(ctx, dns, await vpcDns.desired(ctx, dns)));
    fake.core.latencyMs = 0;
    expect(v).toMatchObject({ dnsSupport: true, dnsHostnames: true });
    // Both attribute calls go together: a new VPC's support is on, so hostnames need not wait for it.
    const [a, b] = fake.core.mutatingCalls();
    expect([a?.op, b?.op]).toEqual(['ModifyVpcAttribute', 'ModifyVpcAttribute']);
    expect(b!.startedAt).toBeLessThan(a!.endedAt!);

    const again = await findAgain(vpc, K.vpc);
    expect(again.found).toMatchObject({ owned: true, record: { id: rec.id } });
    expect(again.diff).toEqual([]);
    expect((await findAgain(vpcDns, K.vpcDns)).diff).toEqual([]);
    // One read for the VPC, one per DNS attribute.
    fake.core.resetCalls();
    await findAgain(vpc, K.vpc);
    expect(fake.core.count({ mutating: false })).toBe(1);
    await findAgain(vpcDns, K.vpcDns);
    expect(fake.core.count({ mutating: false })).toBe(3);
  });

  it('is found by tags when the state is lost or the recorded id is stale', async () => {
    const rec = await converge(vpc, K.vpc);
    expect((await findAgain(vpc, K.vpc, null)).found?.record.id).toBe(rec.id);
    expect((await findAgain(vpc, K.vpc, { kind: 'ec2.vpc', id: 'vpc-0000000000000dead' })).found?.record.id).toBe(
      rec.id,
    );
  });

  it("never adopts an untagged VPC or another stack's", async () => {
    await ec2().send(new CreateVpcCommand({ CidrBlock: '192.168.0.0/16' }));
    await ec2().send(
      new CreateVpcCommand({
        CidrBlock: '192.168.0.0/16',
        TagSpecifications: [
          {
            ResourceType: 'vpc',
            Tags: [
              { Key: 'batchctl:stack', Value: 'other' },
              { Key: 'batchctl:logical', Value: 'vpc' },
            ],
          },
        ],
      }),
    );
    expect(await vpc.find(ctx, node(vpc, K.vpc), undefined)).toBeUndefined();
  });

  it('finds a VPC once it carries our tags (CreateTags), and loses it when they go (DeleteTags)', async () => {
    const id = (await ec2().send(new CreateVpcCommand({ CidrBlock: '192.168.0.0/16' }))).Vpc!.VpcId!;
    await ec2().send(
      new CreateTagsCommand({
        Resources: [id],
        Tags: [
          { Key: 'batchctl:stack', Value: 'sample-batch' },
          { Key: 'batchctl:logical', Value: 'vpc' },
        ],
      }),
    );
    expect((await vpc.find(ctx, node(vpc, K.vpc), undefined))?.record.id).toBe(id);
    await ec2().send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'batchctl:logical' }] }));
    expect(await vpc.find(ctx, node(vpc, K.vpc), undefined)).toBeUndefined();
    await expect(
      ec2().send(new CreateTagsCommand({ Resources: ['vpc-0000000000000dead'], Tags: [{ Key: 'a', Value: 'b' }] })),
    ).rejects.toMatchObject({ name: 'InvalidVpcID.NotFound' });
  });

  it('of two VPCs carrying the same tags (a race or a crashed run) keeps the one with our subnets, else the oldest, and names the other a duplicate', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 2; n++) {
      ids.push(
        (
          await ec2().send(
            new CreateVpcCommand({
              CidrBlock: '192.168.0.0/16',
              TagSpecifications: [
                {
                  ResourceType: 'vpc',
                  Tags: [
                    { Key: 'batchctl:stack', Value: 'sample-batch' },
                    { Key: 'batchctl:logical', Value: 'vpc' },
                  ],
                },
              ],
            }),
          )
        ).Vpc!.VpcId!,
      );
    }
    // Whatever the state says: two state files must pick the same one.
    for (const recorded of [undefined, { kind: 'ec2.vpc', id: ids[1]! }]) {
      const found = await vpc.find(ctx, node(vpc, K.vpc), recorded);
      expect(found).toMatchObject({
        owned: true,
        record: { id: ids[0] },
        duplicates: [{ kind: 'ec2.vpc', id: ids[1] }],
      });
    }
    // The second one holds a subnet of ours: it is kept.
    await ec2().send(
      new CreateSubnetCommand({
        VpcId: ids[1],
        CidrBlock: '192.168.0.0/24',
        AvailabilityZone: 'ap-northeast-1a',
        TagSpecifications: [
          {
            ResourceType: 'subnet',
            Tags: [
              { Key: 'batchctl:stack', Value: 'sample-batch' },
              { Key: 'batchctl:logical', Value: K.subnet('batch', 'ap-northeast-1a') },
            ],
          },
        ],
      }),
    );
    expect(await vpc.find(ctx, node(vpc, K.vpc), undefined)).toMatchObject({
      record: { id: ids[1] },
      duplicates: [{ id: ids[0] }],
    });
  });

  it('converges DNS hostnames; a CIDR change needs replacement', async () => {
    const rec = await converge(vpc, K.vpc);
    await converge(vpcDns, K.vpcDns);
    await ec2().send(new ModifyVpcAttributeCommand({ VpcId: rec.id, EnableDnsHostnames: { Value: false } }));
    const { diff } = await findAgain(vpcDns, K.vpcDns);
    expect(diff).toEqual([{ field: 'dnsHostnames', from: false, to: true }]);
    fake.core.resetCalls();
    await converge(vpcDns, K.vpcDns);
    expect(fake.core.mutatingCalls().map((c) => c.op)).toEqual(['ModifyVpcAttribute']);
    expect(fake.ec2.vpcs.get(rec.id)!.dnsHostnames).toBe(true);

    expect(vpc.diff({ cidr: '10.0.0.0/16', tags: {} }, { cidr: '192.168.0.0/16', tags: {} })).toEqual([
      { field: 'cidr', from: '192.168.0.0/16', to: '10.0.0.0/16', replace: true },
    ]);
  });

  it('turns DNS support on before hostnames when both are off (AWS enables hostnames only with support)', async () => {
    const rec = await converge(vpc, K.vpc);
    await converge(vpcDns, K.vpcDns);
    await ec2().send(new ModifyVpcAttributeCommand({ VpcId: rec.id, EnableDnsHostnames: { Value: false } }));
    await ec2().send(new ModifyVpcAttributeCommand({ VpcId: rec.id, EnableDnsSupport: { Value: false } }));
    fake.core.resetCalls();
    fake.core.latencyMs = 20;
    await converge(vpcDns, K.vpcDns);
    fake.core.latencyMs = 0;
    const [a, b] = fake.core.mutatingCalls();
    expect([a?.input.EnableDnsSupport, b?.input.EnableDnsHostnames]).toEqual([{ Value: true }, { Value: true }]);
    expect(b!.startedAt).toBeGreaterThanOrEqual(a!.endedAt!);
    expect(fake.ec2.vpcs.get(rec.id)).toMatchObject({ dnsSupport: true, dnsHostnames: true });
  });

  it('is deleted, and deleting it again is fine', async () => {
    const rec = await converge(vpc, K.vpc);
    await vpc.delete(ctx, rec);
    expect(fake.ec2.vpcs.size).toBe(0);
    // The implicit main route table and default group go with it.
    expect(fake.ec2.routeTables.size + fake.ec2.securityGroups.size).toBe(0);
    await vpc.delete(ctx, rec);
  });

  it('waits out a DependencyViolation while dependants disappear, then reports it if it stays', async () => {
    vi.useFakeTimers();
    const rec = await converge(vpc, K.vpc);
    const sub = await converge(subnet, K.subnet('batch', 'ap-northeast-1a'));
    const pending = vpc.delete(ctx, rec);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(fake.ec2.vpcs.has(rec.id)).toBe(true);
    await subnet.delete(ctx, sub);
    await vi.advanceTimersByTimeAsync(10_000);
    await pending;
    expect(fake.ec2.vpcs.has(rec.id)).toBe(false);

    const rec2 = await converge(vpc, K.vpc);
    await converge(subnet, K.subnet('batch', 'ap-northeast-1a'));
    const stuck = vpc.delete(ctx, rec2).catch((e: Error) => e);
    await vi.advanceTimersByTimeAsync(6 * 60_000);
    expect(await stuck).toMatchObject({ name: 'DependencyViolation' });
  });
});

describe('subnet', () => {
  const key = K.subnet('endpoint', 'ap-northeast-1c');

  it('has one node per configured subnet, all depending on the VPC', () => {
    expect(subnet.nodes(ctx.config).map((n) => [n.key, n.deps])).toEqual([
      ['subnet/batch/ap-northeast-1a', ['vpc']],
      ['subnet/batch/ap-northeast-1c', ['vpc']],
      ['subnet/endpoint/ap-northeast-1a', ['vpc']],
      ['subnet/endpoint/ap-northeast-1c', ['vpc']],
    ]);
  });

  it('is created private in its AZ and found again, by record or by tags', async () => {
    await converge(vpc, K.vpc);
    expect(await subnet.find(ctx, node(subnet, key), undefined)).toBeUndefined();
    const rec = await converge(subnet, key);
    expect(rec).toEqual({ kind: 'ec2.subnet', id: rec.id, attrs: { az: 'ap-northeast-1c' } });
    expect(fake.ec2.subnets.get(rec.id)).toMatchObject({
      vpcId: records.get(K.vpc)!.id,
      cidr: '192.168.3.0/24',
      az: 'ap-northeast-1c',
      mapPublicIpOnLaunch: false,
      tags: stackTags(key),
    });
    const again = await findAgain(subnet, key);
    expect(again.found?.owned).toBe(true);
    expect(again.diff).toEqual([]);
    expect((await findAgain(subnet, key, null)).found?.record).toEqual(rec);
  });

  it('converges MapPublicIpOnLaunch; CIDR and AZ changes need replacement', async () => {
    await converge(vpc, K.vpc);
    const rec = await converge(subnet, key);
    await ec2().send(new ModifySubnetAttributeCommand({ SubnetId: rec.id, MapPublicIpOnLaunch: { Value: true } }));
    expect((await findAgain(subnet, key)).diff).toEqual([{ field: 'mapPublicIpOnLaunch', from: true, to: false }]);
    await converge(subnet, key);
    expect(fake.ec2.subnets.get(rec.id)!.mapPublicIpOnLaunch).toBe(false);

    ctx.config.network.endpointSubnets[1] = { az: 'ap-northeast-1c', cidr: '192.168.4.0/24' };
    const found = await subnet.find(ctx, node(subnet, key), rec);
    const diff = subnet.diff(await subnet.desired(ctx, node(subnet, key)), found!.observed);
    expect(diff.map((c) => [c.field, c.replace])).toEqual([['cidr', true]]);
    expect(
      subnet.diff({ ...found!.observed, az: 'ap-northeast-1d' }, found!.observed).map((c) => [c.field, c.replace]),
    ).toEqual([['az', true]]);
  });

  it('fails like EC2 on an unknown AZ and an overlapping CIDR', async () => {
    await converge(vpc, K.vpc);
    ctx.config.network.batchSubnets[0] = { az: 'ap-northeast-1b', cidr: '192.168.0.0/24' };
    await expect(converge(subnet, K.subnet('batch', 'ap-northeast-1b'))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await converge(subnet, key);
    await expect(
      ec2().send(
        new CreateSubnetCommand({
          VpcId: records.get(K.vpc)!.id,
          CidrBlock: '192.168.3.128/25',
          AvailabilityZone: 'ap-northeast-1a',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidSubnet.Conflict' });
    await expect(
      ec2().send(
        new CreateSubnetCommand({
          VpcId: records.get(K.vpc)!.id,
          CidrBlock: '10.0.0.0/24',
          AvailabilityZone: 'ap-northeast-1a',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidSubnet.Range' });
    const zones = await ec2().send(new DescribeAvailabilityZonesCommand({}));
    expect(zones.AvailabilityZones?.map((z) => z.ZoneName)).toEqual([
      'ap-northeast-1a',
      'ap-northeast-1c',
      'ap-northeast-1d',
    ]);
  });

  it('is deleted (twice is fine)', async () => {
    await converge(vpc, K.vpc);
    const rec = await converge(subnet, key);
    await subnet.delete(ctx, rec);
    expect(fake.ec2.subnets.has(rec.id)).toBe(false);
    await subnet.delete(ctx, rec);
  });
});

describe('route table and associations', () => {
  it('creates a table with only the local route and finds it converged', async () => {
    await converge(vpc, K.vpc);
    expect(await routeTable.find(ctx, node(routeTable, K.routeTable), undefined)).toBeUndefined();
    const rec = await converge(routeTable, K.routeTable);
    const rt = fake.ec2.routeTables.get(rec.id)!;
    expect(rt.routes).toEqual([{ dest: '192.168.0.0/16', target: 'local' }]);
    expect(rt.tags).toEqual(stackTags('route-table'));
    expect((await findAgain(routeTable, K.routeTable)).diff).toEqual([]);
    expect((await findAgain(routeTable, K.routeTable, null)).found?.record.id).toBe(rec.id);
  });

  it('removes an internet route someone added; a VPC change needs replacement', async () => {
    await converge(vpc, K.vpc);
    const rec = await converge(routeTable, K.routeTable);
    // Someone's gateway (not tagged ours), attached to our VPC, and a default route to it.
    const igw = (await ec2().send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2().send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: records.get(K.vpc)!.id }));
    await ec2().send(
      new CreateRouteCommand({ RouteTableId: rec.id, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }),
    );
    expect((await findAgain(routeTable, K.routeTable)).diff).toEqual([
      { field: 'extraRoutes', from: [`0.0.0.0/0 -> ${igw}`], to: [] },
    ]);
    await converge(routeTable, K.routeTable);
    expect(fake.ec2.routeTables.get(rec.id)!.routes).toEqual([{ dest: '192.168.0.0/16', target: 'local' }]);
    expect(
      routeTable.diff({ vpcId: 'vpc-b', extraRoutes: [], tags: {} }, { vpcId: 'vpc-a', extraRoutes: [], tags: {} })[0]
        ?.replace,
    ).toBe(true);
  });

  for (const [op, kind, key] of [
    ['AssociateRouteTable', routeTableAssociation, K.routeTableAssociation('ap-northeast-1a')],
    ['CreateVpcEndpoint', vpcGatewayEndpoint, K.gatewayEndpoint],
  ] as const) {
    it(`${op} a moment after the route table's create (EC2 eventual consistency): NotFound is retried, the call made once`, async () => {
      vi.useFakeTimers({ now: Date.parse('2026-11-28T00:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      await settleWithFakeTimers(upTo(K.vpc, K.subnet('batch', 'ap-northeast-1a')));
      fake.ec2.referenceLagMs = 10_000;
      await settleWithFakeTimers(converge(routeTable, K.routeTable));
      const started = Date.now();
      await settleWithFakeTimers(converge(kind as ResourceKind, key));
      const calls = fake.core.calls.filter((c) => c.op === op);
      expect(calls.filter((c) => c.error === 'InvalidRouteTableID.NotFound').length).toBeGreaterThan(0);
      expect(calls.filter((c) => !c.error)).toHaveLength(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    });
  }

  it('associates each batch subnet, finds the association through the subnet, deletes it', async () => {
    await upTo(K.routeTable, K.subnet('batch', 'ap-northeast-1a'));
    const key = K.routeTableAssociation('ap-northeast-1a');
    expect(node(routeTableAssociation, key).deps).toEqual([K.routeTable, K.subnet('batch', 'ap-northeast-1a')]);
    expect(await routeTableAssociation.find(ctx, node(routeTableAssociation, key), undefined)).toBeUndefined();
    const rec = await converge(routeTableAssociation, key);
    const rt = fake.ec2.routeTables.get(records.get(K.routeTable)!.id)!;
    expect(rt.associations).toEqual([
      { id: rec.id, subnetId: records.get(K.subnet('batch', 'ap-northeast-1a'))!.id, main: false },
    ]);
    const again = await findAgain(routeTableAssociation, key, null);
    expect(again.found).toMatchObject({ owned: true, record: { id: rec.id } });
    expect(again.diff).toEqual([]);
    fake.core.resetCalls();
    await findAgain(routeTableAssociation, key);
    expect(fake.core.count()).toBe(1);

    await routeTableAssociation.delete(ctx, rec);
    expect(rt.associations).toEqual([]);
    await routeTableAssociation.delete(ctx, rec);
  });

  it('moves the subnet off another route table of our VPC, ours or not', async () => {
    await upTo(K.routeTable, K.subnet('batch', 'ap-northeast-1a'));
    const key = K.routeTableAssociation('ap-northeast-1a');
    const ours = await ec2().send(
      new CreateRouteTableCommand({
        VpcId: records.get(K.vpc)!.id,
        TagSpecifications: [
          {
            ResourceType: 'route-table',
            Tags: [
              { Key: 'batchctl:stack', Value: 'sample-batch' },
              { Key: 'batchctl:logical', Value: 'old' },
            ],
          },
        ],
      }),
    );
    const oldId = ours.RouteTable!.RouteTableId!;
    const subnetId = records.get(K.subnet('batch', 'ap-northeast-1a'))!.id;
    await routeTableAssociation.create(ctx, node(routeTableAssociation, key), { routeTableId: oldId, subnetId });
    const { found, diff } = await findAgain(routeTableAssociation, key, null);
    expect(found?.owned).toBe(true);
    expect(diff).toEqual([{ field: 'routeTableId', from: oldId, to: records.get(K.routeTable)!.id }]);
    fake.core.resetCalls();
    const rec = await converge(routeTableAssociation, key);
    expect(fake.core.mutatingCalls().map((c) => c.op)).toEqual(['ReplaceRouteTableAssociation']);
    expect(fake.ec2.routeTables.get(records.get(K.routeTable)!.id)!.associations.map((a) => a.id)).toEqual([rec.id]);
    expect(fake.ec2.routeTables.get(oldId)!.associations).toEqual([]);

    const foreign = await ec2().send(new CreateRouteTableCommand({ VpcId: records.get(K.vpc)!.id }));
    await ec2().send(
      new ReplaceRouteTableAssociationCommand({
        AssociationId: rec.id,
        RouteTableId: foreign.RouteTable!.RouteTableId!,
      }),
    );
    // Our subnet on a table of our VPC that is not ours (the main table, one added by hand): still our
    // subnet's association, so it is drift that `up` moves back, without touching that table.
    const again = await findAgain(routeTableAssociation, key, null);
    expect(again.found?.owned).toBe(true);
    expect(again.diff).toEqual([
      { field: 'routeTableId', from: foreign.RouteTable!.RouteTableId!, to: records.get(K.routeTable)!.id },
    ]);
  });
});

describe('security groups', () => {
  const task = K.securityGroup('task');
  const endpoint = K.securityGroup('endpoint');

  it('creates the task group egress-only and the endpoint group, then its rule: HTTPS from the task group', async () => {
    await converge(vpc, K.vpc);
    expect(await securityGroup.find(ctx, node(securityGroup, task), undefined)).toBeUndefined();
    const t = await converge(securityGroup, task);
    const e = await converge(securityGroup, endpoint);
    const tg = fake.ec2.securityGroups.get(t.id)!;
    const eg = fake.ec2.securityGroups.get(e.id)!;
    expect(tg).toMatchObject({
      name: 'sample-batch-task',
      vpcId: records.get(K.vpc)!.id,
      ingress: [],
      tags: stackTags(task),
    });
    expect(tg.egress.map((r) => [r.protocol, r.peer])).toEqual([['-1', '0.0.0.0/0']]);
    expect(eg.ingress).toEqual([]);
    expect(eg.egress.map((r) => [r.protocol, r.peer])).toEqual([['-1', '0.0.0.0/0']]);
    // Both groups need only the VPC; the rule between them needs both.
    expect(node(securityGroup, endpoint).deps).toEqual([K.vpc]);
    expect(node(securityGroupIngress, K.endpointIngress)).toMatchObject({ deps: [endpoint, task], partOf: [endpoint] });
    await converge(securityGroupIngress, K.endpointIngress);
    expect(eg.ingress.map((r) => [r.protocol, r.from, r.to, r.peer])).toEqual([['tcp', 443, 443, t.id]]);

    for (const [kind, key] of [
      [securityGroup, task],
      [securityGroup, endpoint],
      [securityGroupIngress, K.endpointIngress],
    ] as const) {
      const again = await findAgain(kind, key);
      expect(again.found?.owned).toBe(true);
      expect(again.diff).toEqual([]);
    }
    fake.core.resetCalls();
    await findAgain(securityGroup, endpoint);
    expect(fake.core.count()).toBe(1);
    expect((await findAgain(securityGroup, task, null)).found?.record.id).toBe(t.id);
  });

  it('finds an untagged group of the same name but does not own it', async () => {
    await converge(vpc, K.vpc);
    await ec2().send(
      new CreateSecurityGroupCommand({
        VpcId: records.get(K.vpc)!.id,
        GroupName: 'sample-batch-task',
        Description: 'someone else',
      }),
    );
    const found = await securityGroup.find(ctx, node(securityGroup, task), undefined);
    expect(found?.owned).toBe(false);
    // Never adopted, and never suggested for re-tagging when another stack's.
    await expect(
      securityGroup.create(ctx, node(securityGroup, task), await securityGroup.desired(ctx, node(securityGroup, task))),
    ).rejects.toMatchObject({
      name: 'UserError',
      message: expect.stringMatching(
        /Security group sample-batch-task was created by someone else .*has no batchctl:stack tag/,
      ),
    });
  });

  it('converges rules changed by hand; a description change needs replacement', async () => {
    await upTo(endpoint, K.endpointIngress);
    const e = records.get(endpoint)!;
    await ec2().send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: e.id,
        IpPermissions: [{ IpProtocol: '6', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    await ec2().send(
      new RevokeSecurityGroupEgressCommand({
        GroupId: e.id,
        IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    // Inbound rules are the rule node's; the group's own are its other settings.
    expect((await findAgain(securityGroupIngress, K.endpointIngress)).diff).toEqual([
      {
        field: 'rules',
        from: [`tcp 22..22 0.0.0.0/0`, `tcp 443..443 ${records.get(task)!.id}`],
        to: [`tcp 443..443 ${records.get(task)!.id}`],
      },
    ]);
    expect((await findAgain(securityGroup, endpoint)).diff).toEqual([
      { field: 'egress', from: [], to: ['all * 0.0.0.0/0'] },
    ]);
    await converge(securityGroup, endpoint);
    await converge(securityGroupIngress, K.endpointIngress);
    expect((await findAgain(securityGroupIngress, K.endpointIngress)).diff).toEqual([]);
    const g = fake.ec2.securityGroups.get(e.id)!;
    expect(g.ingress.map((r) => r.from)).toEqual([443]);
    expect(g.egress.map((r) => r.peer)).toEqual(['0.0.0.0/0']);
    expect((await findAgain(securityGroup, endpoint)).diff).toEqual([]);

    const found = await securityGroup.find(ctx, node(securityGroup, task), records.get(task));
    const changed = { ...(await securityGroup.desired(ctx, node(securityGroup, task))), description: 'new words' };
    expect(securityGroup.diff(changed, found!.observed)).toEqual([
      { field: 'description', from: found!.observed.description, to: 'new words', replace: true },
    ]);
  });

  it('treats a rule already authorized by an interrupted run as done', async () => {
    await upTo(endpoint);
    const e = records.get(endpoint)!;
    await ec2().send(
      new RevokeSecurityGroupEgressCommand({
        GroupId: e.id,
        IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    const found = (await securityGroup.find(ctx, node(securityGroup, endpoint), e))!;
    await ec2().send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: e.id,
        IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    const desired = await securityGroup.desired(ctx, node(securityGroup, endpoint));
    // The stale observation says egress is missing: re-adding what is already there must not fail.
    await securityGroup.update!(
      ctx,
      node(securityGroup, endpoint),
      found,
      desired,
      securityGroup.diff(desired, found.observed),
    );
    expect(fake.core.calls.at(-1)).toMatchObject({
      op: 'AuthorizeSecurityGroupEgress',
      error: 'InvalidPermission.Duplicate',
    });
    expect(fake.ec2.securityGroups.get(e.id)!.egress).toHaveLength(1);
  });

  it('is deleted; a group another group references cannot be', async () => {
    await upTo(endpoint, K.endpointIngress);
    await expect(ec2().send(new DeleteSecurityGroupCommand({ GroupId: records.get(task)!.id }))).rejects.toMatchObject({
      name: 'DependencyViolation',
    });
    // The rule goes first (down walks the graph reversed), then the groups.
    await securityGroupIngress.delete(ctx, records.get(K.endpointIngress)!);
    expect(fake.ec2.securityGroups.get(records.get(endpoint)!.id)!.ingress).toEqual([]);
    await securityGroupIngress.delete(ctx, records.get(K.endpointIngress)!);
    await securityGroup.delete(ctx, records.get(endpoint)!);
    await securityGroup.delete(ctx, records.get(task)!);
    expect([...fake.ec2.securityGroups.values()].filter((g) => !g.isDefault)).toEqual([]);
    await securityGroup.delete(ctx, records.get(task)!);
  });

  it('normalises permissions: protocol numbers, merged peers, descriptions', () => {
    expect(
      ruleAtoms([
        {
          IpProtocol: '6',
          FromPort: 443,
          ToPort: 443,
          IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'x' }, { CidrIp: '10.1.0.0/16' }],
        },
        { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: 'sg-1', UserId: '1' }] },
      ]),
    ).toEqual(['all * sg-1', 'tcp 443..443 10.0.0.0/8', 'tcp 443..443 10.1.0.0/16']);
  });
});

describe('S3 gateway endpoint', () => {
  it('exists only when configured', () => {
    const cfg = defaultConfig();
    cfg.network.s3Gateway = false;
    expect(vpcGatewayEndpoint.nodes(cfg)).toEqual([]);
    // The bucket is named in its policy by its configured name: AWS does not need it first.
    expect(vpcGatewayEndpoint.nodes(defaultConfig())[0]).toMatchObject({
      key: 'vpc-endpoint/s3',
      deps: [K.vpc, K.routeTable],
    });
  });

  it('is created on the route table with a policy for our bucket and ECR layers, and found converged', async () => {
    await upTo(K.routeTable);
    expect(await vpcGatewayEndpoint.find(ctx, node(vpcGatewayEndpoint, K.gatewayEndpoint), undefined)).toBeUndefined();
    const rec = await converge(vpcGatewayEndpoint, K.gatewayEndpoint);
    const ep = fake.ec2.endpoints.get(rec.id)!;
    const rtId = records.get(K.routeTable)!.id;
    expect(ep).toMatchObject({
      type: 'Gateway',
      serviceName: 'com.amazonaws.ap-northeast-1.s3',
      routeTableIds: [rtId],
      state: 'available',
      tags: stackTags('vpc-endpoint/s3'),
    });
    expect(ep.clientToken).toMatch(/^[0-9a-f]{64}$/);
    const policy = JSON.parse(ep.policy);
    const bucket = ctx.config.bucket.name!;
    expect(policy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }),
        expect.objectContaining({
          Action: ['s3:GetObject'],
          Resource: ['arn:aws:s3:::prod-ap-northeast-1-starport-layer-bucket/*'],
        }),
      ]),
    );
    expect(policy.Statement.find((st: { Sid: string }) => st.Sid === 'StackBucket').Action).toEqual([
      's3:DeleteObject',
      's3:GetBucketLocation',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
    expect(fake.ec2.routeTables.get(rtId)!.routes.map((r) => r.target)).toEqual(['local', rec.id]);
    // The endpoint's route is its own, not an "extra" route the route table would remove.
    expect((await findAgain(routeTable, K.routeTable)).diff).toEqual([]);

    const again = await findAgain(vpcGatewayEndpoint, K.gatewayEndpoint, null);
    expect(again.found).toMatchObject({ owned: true, record: { id: rec.id } });
    expect(again.diff).toEqual([]);
  });

  it('converges a policy reset by hand; a service change needs replacement', async () => {
    await upTo(K.gatewayEndpoint);
    const rec = records.get(K.gatewayEndpoint)!;
    await ec2().send(new ModifyVpcEndpointCommand({ VpcEndpointId: rec.id, ResetPolicy: true }));
    const { diff } = await findAgain(vpcGatewayEndpoint, K.gatewayEndpoint);
    expect(diff?.map((c) => c.field)).toEqual(['policy']);
    await converge(vpcGatewayEndpoint, K.gatewayEndpoint);
    expect(canonicalPolicy(fake.ec2.endpoints.get(rec.id)!.policy)).toBe(
      (await vpcGatewayEndpoint.desired(ctx, node(vpcGatewayEndpoint, K.gatewayEndpoint))).policy,
    );
    const d = await vpcGatewayEndpoint.desired(ctx, node(vpcGatewayEndpoint, K.gatewayEndpoint));
    expect(vpcGatewayEndpoint.diff({ ...d, serviceName: 'com.amazonaws.ap-northeast-1.dynamodb' }, d)[0]).toMatchObject(
      { field: 'serviceName', replace: true },
    );
  });

  it('is deleted with its route', async () => {
    await upTo(K.gatewayEndpoint);
    const rec = records.get(K.gatewayEndpoint)!;
    await vpcGatewayEndpoint.delete(ctx, rec);
    expect(fake.ec2.endpoints.get(rec.id)?.state ?? 'deleted').toBe('deleted');
    expect(fake.ec2.routeTables.get(records.get(K.routeTable)!.id)!.routes.map((r) => r.target)).toEqual(['local']);
    expect(await vpcGatewayEndpoint.find(ctx, node(vpcGatewayEndpoint, K.gatewayEndpoint), rec)).toBeUndefined();
    await vpcGatewayEndpoint.delete(ctx, rec);
  });
});

describe('interface endpoints', () => {
  const logs = K.interfaceEndpoint('logs');

  it('has one costly node per service, after the VPC DNS attributes, both endpoint subnets and the endpoint group', () => {
    expect(vpcInterfaceEndpoint.costly).toBe(true);
    expect(vpcInterfaceEndpoint.nodes(ctx.config).map((n) => n.key)).toEqual([
      'vpc-endpoint/ecr.api',
      'vpc-endpoint/ecr.dkr',
      'vpc-endpoint/logs',
      'vpc-endpoint/secretsmanager',
    ]);
    expect(node(vpcInterfaceEndpoint, logs).deps).toEqual([
      K.vpc,
      K.vpcDns,
      K.subnet('endpoint', 'ap-northeast-1a'),
      K.subnet('endpoint', 'ap-northeast-1c'),
      K.securityGroup('endpoint'),
    ]);
  });

  it('is created, waits while pending, and is found converged with one ENI per subnet', async () => {
    vi.useFakeTimers();
    await upTo(K.securityGroup('endpoint'), K.subnet('endpoint', 'ap-northeast-1c'));
    expect(await vpcInterfaceEndpoint.find(ctx, node(vpcInterfaceEndpoint, logs), undefined)).toBeUndefined();
    fake.ec2.endpointPendingMs = 40_000;
    let done = false;
    const creating = converge(vpcInterfaceEndpoint, logs).then((r) => {
      done = true;
      return r;
    });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(15_000);
    const rec = await creating;
    const progress = (ctx.reporter as unknown as { progress: { message: string }[] }).progress.map((p) => p.message);
    expect(progress[0]).toContain('vpc-endpoint/logs pending -> available');

    const ep = fake.ec2.endpoints.get(rec.id)!;
    const subnets = [K.subnet('endpoint', 'ap-northeast-1a'), K.subnet('endpoint', 'ap-northeast-1c')]
      .map((k) => records.get(k)!.id)
      .sort();
    expect(ep).toMatchObject({
      type: 'Interface',
      serviceName: 'com.amazonaws.ap-northeast-1.logs',
      state: 'available',
      privateDns: true,
      subnetIds: subnets,
      groupIds: [records.get(K.securityGroup('endpoint'))!.id],
      tags: stackTags(logs),
    });
    expect(ep.clientToken).toMatch(/^[0-9a-f]{64}$/);
    expect(
      [...fake.ec2.enis.values()]
        .filter((e) => e.endpointId === rec.id)
        .map((e) => e.subnetId)
        .sort(),
    ).toEqual(subnets);

    const again = await findAgain(vpcInterfaceEndpoint, logs, null);
    expect(again.found).toMatchObject({ owned: true, record: { id: rec.id } });
    expect(again.diff).toEqual([]);
  });

  it('re-running a create with the same token returns the same endpoint (no second bill)', async () => {
    await upTo(K.securityGroup('endpoint'), K.subnet('endpoint', 'ap-northeast-1c'));
    const n = node(vpcInterfaceEndpoint, logs);
    const d = await vpcInterfaceEndpoint.desired(ctx, n);
    const a = await vpcInterfaceEndpoint.create(ctx, n, d);
    const b = await vpcInterfaceEndpoint.create(ctx, n, d);
    expect(b.id).toBe(a.id);
    expect(fake.ec2.endpoints.size).toBe(1);
  });

  it('converges subnets, groups and private DNS in one call; service and VPC changes need replacement', async () => {
    await upTo(K.securityGroup('endpoint'), K.subnet('endpoint', 'ap-northeast-1c'));
    const rec = await converge(vpcInterfaceEndpoint, logs);
    const sub1c = records.get(K.subnet('endpoint', 'ap-northeast-1c'))!.id;
    await ec2().send(
      new ModifyVpcEndpointCommand({
        VpcEndpointId: rec.id,
        RemoveSubnetIds: [sub1c],
        AddSecurityGroupIds: [records.get(K.securityGroup('task'))!.id],
        PrivateDnsEnabled: false,
      }),
    );
    const { diff } = await findAgain(vpcInterfaceEndpoint, logs);
    expect(diff?.map((c) => c.field)).toEqual(['subnetIds', 'securityGroupIds', 'privateDnsEnabled']);
    fake.core.resetCalls();
    await converge(vpcInterfaceEndpoint, logs);
    expect(fake.core.mutatingCalls().map((c) => c.op)).toEqual(['ModifyVpcEndpoint']);
    const ep = fake.ec2.endpoints.get(rec.id)!;
    expect(ep.subnetIds).toContain(sub1c);
    expect(ep.groupIds).toEqual([records.get(K.securityGroup('endpoint'))!.id]);
    expect(ep.privateDns).toBe(true);
    expect((await findAgain(vpcInterfaceEndpoint, logs)).diff).toEqual([]);

    const d = await vpcInterfaceEndpoint.desired(ctx, node(vpcInterfaceEndpoint, logs));
    expect(
      vpcInterfaceEndpoint.diff({ ...d, serviceName: 'x', vpcId: 'vpc-x' }, d).map((c) => [c.field, c.replace]),
    ).toEqual([
      ['vpcId', true],
      ['serviceName', true],
    ]);
  });

  it('fails clearly when the endpoint ends failed', async () => {
    await upTo(K.securityGroup('endpoint'), K.subnet('endpoint', 'ap-northeast-1c'));
    fake.ec2.failingServices.add('com.amazonaws.ap-northeast-1.logs');
    await expect(converge(vpcInterfaceEndpoint, logs)).rejects.toThrow(
      /vpc-endpoint\/logs .* is failed: Client::ServiceUnavailable/,
    );
    // On the next run the failed endpoint is not passed off as converged.
    const { diff } = await findAgain(vpcInterfaceEndpoint, logs, null);
    expect(diff).toEqual([{ field: 'state', from: 'failed', to: 'available', replace: true }]);
  });

  it('needs DNS hostnames in the VPC for private DNS (AWS refuses otherwise)', async () => {
    await upTo(K.securityGroup('endpoint'), K.subnet('endpoint', 'ap-northeast-1c'));
    await ec2().send(
      new ModifyVpcAttributeCommand({ VpcId: records.get(K.vpc)!.id, EnableDnsHostnames: { Value: false } }),
    );
    await expect(converge(vpcInterfaceEndpoint, logs)).rejects.toMatchObject({ name: 'InvalidParameter' });
  });

  it('is deleted and waited for; deleted endpoints are absent; subnets and groups wait for the ENIs', async () => {
    vi.useFakeTimers();
    await upTo(K.securityGroup('endpoint'), K.subnet('endpoint', 'ap-northeast-1c'));
    const rec = await converge(vpcInterfaceEndpoint, logs);
    fake.ec2.endpointDeletingMs = 20_000;
    fake.ec2.eniReleaseMs = 60_000;
    let gone = false;
    const deleting = vpcInterfaceEndpoint.delete(ctx, rec).then(() => {
      gone = true;
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(gone).toBe(false);
    expect(fake.ec2.endpoints.get(rec.id)!.state).toBe('deleting');
    expect(await vpcInterfaceEndpoint.find(ctx, node(vpcInterfaceEndpoint, logs), rec)).toBeUndefined();
    await vi.advanceTimersByTimeAsync(15_000);
    await deleting;
    expect(fake.ec2.endpoints.get(rec.id)!.state).toBe('deleted');
    expect(fake.ec2.enis.size).toBe(2);

    const sub = records.get(K.subnet('endpoint', 'ap-northeast-1a'))!;
    let subnetGone = false;
    const deletingSubnet = subnet.delete(ctx, sub).then(() => {
      subnetGone = true;
    });
    const deletingGroup = securityGroup.delete(ctx, records.get(K.securityGroup('endpoint'))!);
    await vi.advanceTimersByTimeAsync(40_000);
    expect(subnetGone).toBe(false);
    expect(fake.ec2.subnets.has(sub.id)).toBe(true);
    await vi.advanceTimersByTimeAsync(30_000);
    await deletingSubnet;
    await deletingGroup;
    expect(fake.ec2.subnets.has(sub.id)).toBe(false);
    expect(fake.ec2.securityGroups.has(records.get(K.securityGroup('endpoint'))!.id)).toBe(false);
    const left = await ec2().send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [records.get(K.vpc)!.id] }] }),
    );
    expect(left.NetworkInterfaces).toEqual([]);
    await vpcInterfaceEndpoint.delete(ctx, rec);
  });
});

describe('the whole network', () => {
  it('converges, a second run is read-only and cheap, and the inventory matches the article', async () => {
    await upAll();
    fake.core.resetCalls();
    await upAll();
    expect(fake.core.mutatingCalls()).toEqual([]);
    expect(fake.core.count({ mutating: false }) / allNodes().length).toBeLessThanOrEqual(2);

    const inv = fake.ec2.inventory();
    const byKey = Object.fromEntries(inv.map((e) => [e.key, e]));
    expect(Object.keys(byKey).sort()).toEqual([
      'route-table',
      'security-group/endpoint',
      'security-group/task',
      'subnet/batch/ap-northeast-1a',
      'subnet/batch/ap-northeast-1c',
      'subnet/endpoint/ap-northeast-1a',
      'subnet/endpoint/ap-northeast-1c',
      'vpc',
      'vpc-endpoint/ecr.api',
      'vpc-endpoint/ecr.dkr',
      'vpc-endpoint/logs',
      'vpc-endpoint/s3',
      'vpc-endpoint/secretsmanager',
    ]);
    expect(byKey['route-table']!.settings.associations).toEqual([
      '<subnet/batch/ap-northeast-1a>',
      '<subnet/batch/ap-northeast-1c>',
    ]);
    expect(byKey['security-group/endpoint']!.settings.ingress).toEqual(['tcp 443..443 <security-group/task>']);
    expect(byKey['vpc']!.settings).toMatchObject({
      cidr: '192.168.0.0/16',
      enableDnsSupport: true,
      enableDnsHostnames: true,
    });
    const iface = inv.filter((e) => e.type === 'ec2.vpc-endpoint' && e.settings.type === 'Interface');
    expect(iface.map((e) => e.settings.serviceName)).toEqual(
      ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager'].map((x) => `com.amazonaws.ap-northeast-1.${x}`),
    );
    for (const e of iface) {
      expect(e.settings).toMatchObject({
        state: 'available',
        privateDnsEnabled: true,
        networkInterfaces: 2,
        securityGroups: ['<security-group/endpoint>'],
        subnets: ['<subnet/endpoint/ap-northeast-1a>', '<subnet/endpoint/ap-northeast-1c>'],
      });
    }
    // 8 billed ENIs: 4 interface endpoints x 2 AZs.
    expect(fake.ec2.networkInterfaceCount()).toBe(8);
    expect(byKey['vpc-endpoint/s3']!.settings).toMatchObject({ type: 'Gateway', routeTables: ['<route-table>'] });
    expect(byKey['route-table']!.settings.routes).toEqual([
      '192.168.0.0/16 -> local',
      expect.stringMatching(/^pl-[0-9a-f]+ -> <vpc-endpoint\/s3>$/),
    ]);

    // A second stack built the same way has the same inventory (no run-specific ids leak into it).
    const first = fake.inventory();
    fake.uninstall();
    await setup();
    await upAll();
    expect(fake.inventory()).toEqual(first);
  });

  it('tears down in reverse order', async () => {
    await upAll();
    for (const [kind, key] of allNodes().reverse()) await kind.delete(ctx, records.get(key)!);
    expect(fake.ec2.inventory()).toEqual([]);
    expect((await ec2().send(new DescribeVpcsCommand({}))).Vpcs).toEqual([]);
    await expect(ec2().send(new DeleteVpcCommand({ VpcId: records.get(K.vpc)!.id }))).rejects.toMatchObject({
      name: 'InvalidVpcID.NotFound',
    });
  });

  it('rejects an unknown filter name like EC2 does', async () => {
    await expect(
      ec2().send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag-value-typo', Values: ['x'] }] })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(
      ec2().send(new CreateVpcEndpointCommand({ VpcId: 'vpc-nope', ServiceName: 'x', VpcEndpointType: 'Interface' })),
    ).rejects.toMatchObject({ name: 'InvalidVpcID.NotFound' });
  });
});
