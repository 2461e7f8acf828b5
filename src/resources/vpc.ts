import {
  CreateVpcCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DeleteVpcCommand,
  DescribeVpcsCommand,
  type Subnet,
  type Vpc,
} from '@aws-sdk/client-ec2';
import type { Ctx, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import {
  change,
  convergeEc2Tags,
  deleteEc2,
  ec2Found,
  ec2OwnerOf,
  ec2Tags,
  findInStack,
  listTagged,
  lookupCreated,
  prefetchStack,
  stackItems,
  tagSpecs,
  type Ec2Describe,
} from './lib/ec2.js';
import { createOnce } from './lib/create.js';
import { hasTagChange, resourceTags, tagChanges } from './lib/tags.js';
import { ownsVpc } from '../model/network.js';
import { ifExists } from './lib/aws-calls.js';

/** The VPC's settings (its DNS attributes are the `vpc/dns` node's: vpc-dns.ts). */
export interface VpcDesired {
  cidr: string;
  tags: Record<string, string>;
}

/** Describe VPCs, as `findInStack` and `ec2OwnerOf` want it. */
export const describeVpcs =
  (ctx: Ctx): Ec2Describe<Vpc> =>
  async (q) => {
    const out = await ctx.aws.ec2.send(
      new DescribeVpcsCommand({ VpcIds: q.ids, Filters: q.filters, NextToken: q.nextToken }),
    );
    return { items: out.Vpcs, nextToken: out.NextToken };
  };

/** The stack's subnets (shared with the subnet nodes' lookups). */
export const describeSubnets =
  (ctx: Ctx): Ec2Describe<Subnet> =>
  async (q) => {
    const out = await ctx.aws.ec2.send(
      new DescribeSubnetsCommand({ SubnetIds: q.ids, Filters: q.filters, NextToken: q.nextToken }),
    );
    return { items: out.Subnets, nextToken: out.NextToken };
  };

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

/**
 * Of two VPCs carrying our tags (two runs raced), keep the one holding more of our subnets, then the
 * lowest id (EC2 reports no creation time for VPCs): every run orders them alike.
 */
async function rankVpcs(ctx: Ctx, vpcs: Vpc[]): Promise<Vpc[]> {
  const subnets = await stackItems(ctx, 'Subnet', describeSubnets(ctx));
  const held = (v: Vpc) => subnets.filter((s) => s.VpcId === v.VpcId).length;
  return [...vpcs].sort((a, b) => held(b) - held(a) || (a.VpcId ?? '').localeCompare(b.VpcId ?? ''));
}

/** The stack's VPC (modes private-endpoints and public). */
export const vpc: ResourceKind<VpcDesired> = {
  kind: 'ec2.vpc',
  label: 'VPC',
  dependsOn: [],
  costly: false,

  nodes: (config) => (ownsVpc(config) ? [{ key: K.vpc, deps: [], params: {} }] : []),

  desired: (ctx, node) => ({ cidr: ctx.config.network.vpcCidr, tags: resourceTags(ctx, node.key) }),

  prefetch: prefetchStack('Vpc', describeVpcs),

  async find(ctx, node, recorded) {
    const found = await findInStack(ctx, node.key, recorded, {
      type: 'Vpc',
      describe: describeVpcs(ctx),
      idOf: (v) => v.VpcId!,
      rank: (v) => rankVpcs(ctx, v),
    });
    if (!found) return undefined;
    return ec2Found('ec2.vpc', found, (v) => v.VpcId!, {
      cidr: found.item.CidrBlock ?? '',
      tags: ec2Tags(ctx, found.item),
    });
  },

  async create(ctx, node, desired) {
    // CreateVpc takes no idempotency token: sent once, and looked up by its tags if the answer is lost.
    const id = await createOnce(
      ctx,
      `${node.key} (CreateVpc)`,
      async () =>
        (
          await ctx.aws.once.ec2.send(
            new CreateVpcCommand({ CidrBlock: desired.cidr, TagSpecifications: tagSpecs(ctx, 'vpc', node.key) }),
          )
        ).Vpc!.VpcId!,
      () => lookupCreated(ctx, node.key, describeVpcs(ctx), (v) => v.VpcId),
    );
    // CreateVpc answers `pending`; what goes into the VPC waits until it is `available`, as every tool
    // creating VPCs does. Right after CreateVpc, DescribeVpcs may not know the id yet (eventual
    // consistency): keep polling.
    await ctx.waitFor(
      `${node.key} pending -> available`,
      async () => {
        const res = await ifExists(ctx.aws.ec2.send(new DescribeVpcsCommand({ VpcIds: [id] })));
        return res?.Vpcs?.[0]?.State === 'available' ? true : undefined;
      },
      { budgetMs: 2 * 60_000, intervalMs: 2000 },
    );
    return { kind: 'ec2.vpc', id };
  },

  diff: (d, o) => [...change('cidr', o.cidr, d.cidr, true), ...tagChanges(d.tags, o.tags)],

  async update(ctx, _node, found, desired, changes) {
    if (hasTagChange(changes)) await convergeEc2Tags(ctx, found.record.id, desired.tags, found.observed.tags);
  },

  async delete(ctx, record) {
    await deleteEc2(
      ctx,
      record.id,
      () => ctx.aws.ec2.send(new DeleteVpcCommand({ VpcId: record.id })),
      undefined,
      () => vpcBlockers(ctx, record.id),
    );
  },

  ownerOf: (ctx, record) => ec2OwnerOf(ctx, record.id, describeVpcs(ctx)),

  list: (ctx) => listTagged<Vpc>(ctx, 'ec2.vpc', 'Vpc', (v) => v.VpcId, describeVpcs(ctx)),
};
