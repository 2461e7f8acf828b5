import { DescribeSubnetsCommand, type Subnet } from '@aws-sdk/client-ec2';
import type { Ctx, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { ec2OwnerOf } from './lib/ec2.js';
import { ownershipOf, tagRecord } from './lib/tags.js';
import { ownsVpc } from '../model/network.js';
import { readOnly } from './lib/external.js';
import { describeSubnets } from './vpc.js';

/** What is read of one of your subnets. */
export interface ExistingSubnetObserved {
  subnetId: string;
  vpcId: string;
  az: string;
}

/** Your subnets of the config, in one Describe per walk shared by every subnet node. */
function yourSubnets(ctx: Ctx): Promise<Subnet[]> {
  return ctx.memo('ec2:existing-subnets', async () => {
    const ids = ctx.config.network.subnetIds;
    // A filter, not SubnetIds: one missing id must not hide the others (SubnetIds fails the whole call).
    const out = await ctx.aws.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: ids }] }));
    return out.Subnets ?? [];
  });
}

/**
 * A subnet of yours the tasks run in (network mode `existing`, `network.subnetIds`): read only. Its
 * record carries its AZ, which interface endpoints need (one subnet per AZ).
 */
export const existingSubnet: ResourceKind<ExistingSubnetObserved, { subnetId: string }> = {
  kind: 'ec2.existing-subnet',
  label: 'Subnet (yours)',
  dependsOn: ['ec2.existing-vpc'],
  costly: false,
  external: true,

  nodes: (config) =>
    ownsVpc(config)
      ? []
      : config.network.subnetIds.map((id) => ({ key: K.existingSubnet(id), deps: [K.vpc], params: { subnetId: id } })),

  desired: (_ctx, node) => ({ subnetId: node.params.subnetId, vpcId: '', az: '' }),

  async find(ctx, node) {
    const s = (await yourSubnets(ctx)).find((x) => x.SubnetId === node.params.subnetId);
    if (!s) return undefined;
    return {
      record: {
        kind: 'ec2.existing-subnet',
        id: s.SubnetId!,
        attrs: { az: s.AvailabilityZone ?? '', vpcId: s.VpcId ?? '' },
      },
      ...ownershipOf(ctx, tagRecord(s.Tags)),
      observed: { subnetId: s.SubnetId!, vpcId: s.VpcId ?? '', az: s.AvailabilityZone ?? '' },
    };
  },

  ...readOnly,

  ownerOf: (ctx, record) => ec2OwnerOf(ctx, record.id, describeSubnets(ctx)),
};
