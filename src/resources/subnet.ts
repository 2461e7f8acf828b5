import {
  CreateSubnetCommand,
  DeleteSubnetCommand,
  DescribeSubnetsCommand,
  ModifySubnetAttributeCommand,
  type Subnet,
} from '@aws-sdk/client-ec2';
import type { ResourceKind } from '../core/types.js';
import { K, type SubnetGroup } from './lib/keys.js';
import { change, deleteEc2, findTagged, listTagged, networkBlockers, retryWhileNotFound, tagSpecs, unlessNotFound, waitEndpointEnisReleased } from './lib/ec2.js';

/** One subnet's settings. */
export interface SubnetDesired {
  vpcId: string;
  cidr: string;
  az: string;
  mapPublicIpOnLaunch: boolean;
}

/** Which subnet a node is. */
export interface SubnetParams {
  group: SubnetGroup;
  az: string;
  cidr: string;
}

/** A private subnet: batch subnets run the tasks, endpoint subnets hold the interface endpoints' ENIs. */
export const subnet: ResourceKind<SubnetDesired, SubnetParams> = {
  kind: 'ec2.subnet',
  label: 'Subnet',
  dependsOn: ['ec2.vpc'],
  costly: false,

  nodes: (config) =>
    (['batch', 'endpoint'] as const).flatMap((group) =>
      (group === 'batch' ? config.network.batchSubnets : config.network.endpointSubnets).map((s) => ({
        key: K.subnet(group, s.az),
        deps: [K.vpc],
        params: { group, az: s.az, cidr: s.cidr },
      })),
    ),

  desired: (ctx, node) => ({ vpcId: ctx.record(K.vpc).id, cidr: node.params.cidr, az: node.params.az, mapPublicIpOnLaunch: false }),

  async find(ctx, node, recorded) {
    const found = await findTagged<Subnet>(ctx, node.key, 'Subnet', recorded, async (q) =>
      (await ctx.aws.ec2.send(new DescribeSubnetsCommand({ SubnetIds: q.ids, Filters: q.filters }))).Subnets);
    if (!found) return undefined;
    const s = found.item;
    return {
      record: { kind: 'ec2.subnet', id: s.SubnetId!, attrs: { az: s.AvailabilityZone ?? '' } },
      owned: found.owned,
      observed: { vpcId: s.VpcId ?? '', cidr: s.CidrBlock ?? '', az: s.AvailabilityZone ?? '', mapPublicIpOnLaunch: s.MapPublicIpOnLaunch ?? false },
    };
  },

  async create(ctx, node, d) {
    const out = await ctx.aws.ec2.send(new CreateSubnetCommand({
      VpcId: d.vpcId, CidrBlock: d.cidr, AvailabilityZone: d.az, TagSpecifications: tagSpecs(ctx, 'subnet', node.key),
    }));
    const id = out.Subnet!.SubnetId!;
    let s = out.Subnet!;
    if (s.State !== 'available') {
      s = await ctx.waitFor(`${node.key} pending -> available`, async () => {
        const res = await unlessNotFound(ctx.aws.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [id] })));
        const got = res?.Subnets?.[0];
        return got?.State === 'available' ? got : undefined;
      }, { budgetMs: 2 * 60_000, intervalMs: 2000 });
    }
    // New subnets in a non-default VPC do not map public IPs, but say so explicitly if AWS ever differs.
    if ((s.MapPublicIpOnLaunch ?? false) !== d.mapPublicIpOnLaunch) {
      await retryWhileNotFound(ctx, `${node.key} attributes`, () =>
        ctx.aws.ec2.send(new ModifySubnetAttributeCommand({ SubnetId: id, MapPublicIpOnLaunch: { Value: d.mapPublicIpOnLaunch } })));
    }
    return { kind: 'ec2.subnet', id, attrs: { az: d.az } };
  },

  diff: (d, o) => [
    ...change('vpcId', o.vpcId, d.vpcId, true),
    ...change('cidr', o.cidr, d.cidr, true),
    ...change('az', o.az, d.az, true),
    ...change('mapPublicIpOnLaunch', o.mapPublicIpOnLaunch, d.mapPublicIpOnLaunch),
  ],

  async update(ctx, _node, found, d) {
    await ctx.aws.ec2.send(new ModifySubnetAttributeCommand({ SubnetId: found.record.id, MapPublicIpOnLaunch: { Value: d.mapPublicIpOnLaunch } }));
  },

  async delete(ctx, record) {
    await waitEndpointEnisReleased(ctx, 'subnet-id', record.id);
    await deleteEc2(ctx, record.id, () => ctx.aws.ec2.send(new DeleteSubnetCommand({ SubnetId: record.id })), undefined, () =>
      networkBlockers(ctx, 'subnet-id', record.id));
  },

  list: (ctx) =>
    listTagged<Subnet>(ctx, 'ec2.subnet', (s) => s.SubnetId, async (q) => {
      const out = await ctx.aws.ec2.send(new DescribeSubnetsCommand({ Filters: q.filters, NextToken: q.nextToken }));
      return { items: out.Subnets, nextToken: out.NextToken };
    }),
};
