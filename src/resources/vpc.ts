import {
  CreateVpcCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DeleteVpcCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  ModifyVpcAttributeCommand,
  type Vpc,
} from '@aws-sdk/client-ec2';
import type { Ctx, ResourceKind } from '../core/types.js';
import { K } from './lib/keys.js';
import { change, deleteEc2, findTagged, listTagged, retryWhileNotFound, tagSpecs, unlessNotFound } from './lib/ec2.js';

/** The VPC's settings. */
export interface VpcDesired {
  cidr: string;
  dnsSupport: boolean;
  dnsHostnames: boolean;
}

async function dnsAttribute(ctx: Ctx, vpcId: string, attr: 'enableDnsSupport' | 'enableDnsHostnames'): Promise<boolean> {
  const out = await ctx.aws.ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: attr }));
  return (attr === 'enableDnsSupport' ? out.EnableDnsSupport?.Value : out.EnableDnsHostnames?.Value) ?? false;
}

/**
 * Interface endpoints with private DNS need both attributes, and AWS refuses hostnames without support,
 * so support is always set first. ModifyVpcAttribute takes one attribute per call.
 */
async function setDns(ctx: Ctx, vpcId: string, d: Pick<VpcDesired, 'dnsSupport' | 'dnsHostnames'>, only?: Set<string>): Promise<void> {
  if (!only || only.has('dnsSupport')) {
    await ctx.aws.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsSupport: { Value: d.dnsSupport } }));
  }
  if (!only || only.has('dnsHostnames')) {
    await ctx.aws.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: d.dnsHostnames } }));
  }
}

/** What keeps a VPC from being deleted: its subnets and non-default security groups. */
async function vpcBlockers(ctx: Ctx, vpcId: string): Promise<string[]> {
  const filters = [{ Name: 'vpc-id', Values: [vpcId] }];
  const [subnets, groups] = await Promise.all([
    ctx.aws.ec2.send(new DescribeSubnetsCommand({ Filters: filters })),
    ctx.aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters })),
  ]);
  return [
    ...(subnets.Subnets ?? []).map((s) => `subnet ${s.SubnetId}`),
    ...(groups.SecurityGroups ?? []).filter((g) => g.GroupName !== 'default').map((g) => `security group ${g.GroupId}`),
  ];
}

/** The stack's VPC: private, DNS support and hostnames on. */
export const vpc: ResourceKind<VpcDesired> = {
  kind: 'ec2.vpc',
  label: 'VPC',
  dependsOn: [],
  costly: false,

  nodes: () => [{ key: K.vpc, deps: [], params: {} }],

  desired: (ctx) => ({ cidr: ctx.config.network.vpcCidr, dnsSupport: true, dnsHostnames: true }),

  async find(ctx, node, recorded) {
    const found = await findTagged<Vpc>(ctx, node.key, 'Vpc', recorded, async (q) =>
      (await ctx.aws.ec2.send(new DescribeVpcsCommand({ VpcIds: q.ids, Filters: q.filters }))).Vpcs);
    if (!found) return undefined;
    const id = found.item.VpcId!;
    const [dnsSupport, dnsHostnames] = await Promise.all([dnsAttribute(ctx, id, 'enableDnsSupport'), dnsAttribute(ctx, id, 'enableDnsHostnames')]);
    return {
      record: { kind: 'ec2.vpc', id },
      owned: found.owned,
      observed: { cidr: found.item.CidrBlock ?? '', dnsSupport, dnsHostnames },
    };
  },

  async create(ctx, node, desired) {
    const out = await ctx.aws.ec2.send(new CreateVpcCommand({ CidrBlock: desired.cidr, TagSpecifications: tagSpecs(ctx, 'vpc', node.key) }));
    const id = out.Vpc!.VpcId!;
    if (out.Vpc!.State !== 'available') {
      // Right after CreateVpc, DescribeVpcs may not know the id yet (eventual consistency): keep polling.
      await ctx.waitFor(`${node.key} pending -> available`, async () => {
        const res = await unlessNotFound(ctx.aws.ec2.send(new DescribeVpcsCommand({ VpcIds: [id] })));
        return res?.Vpcs?.[0]?.State === 'available' ? true : undefined;
      }, { budgetMs: 2 * 60_000, intervalMs: 2000 });
    }
    await retryWhileNotFound(ctx, `${node.key} DNS attributes`, () => setDns(ctx, id, desired));
    return { kind: 'ec2.vpc', id };
  },

  diff: (d, o) => [
    ...change('cidr', o.cidr, d.cidr, true),
    ...change('dnsSupport', o.dnsSupport, d.dnsSupport),
    ...change('dnsHostnames', o.dnsHostnames, d.dnsHostnames),
  ],

  async update(ctx, _node, found, desired, changes) {
    await setDns(ctx, found.record.id, desired, new Set(changes.map((c) => c.field)));
  },

  async delete(ctx, record) {
    await deleteEc2(ctx, record.id, () => ctx.aws.ec2.send(new DeleteVpcCommand({ VpcId: record.id })), undefined, () => vpcBlockers(ctx, record.id));
  },

  list: (ctx) =>
    listTagged<Vpc>(ctx, 'ec2.vpc', (v) => v.VpcId, async (q) => {
      const out = await ctx.aws.ec2.send(new DescribeVpcsCommand({ Filters: q.filters, NextToken: q.nextToken }));
      return { items: out.Vpcs, nextToken: out.NextToken };
    }),
};
