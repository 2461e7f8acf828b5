import { DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import type { ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { ec2OwnerOf } from './lib/ec2.js';
import { ownershipOf, tagRecord } from './lib/tags.js';
import { ownsVpc } from '../model/network.js';
import { readOnly } from './lib/external.js';
import { describeVpcs } from './vpc.js';
import { ifExists } from './lib/aws-calls.js';

/** What is read of your VPC: enough to place our resources in it. */
export interface ExistingVpcObserved {
  vpcId: string;
  cidr: string;
}

/**
 * Your VPC (network mode `existing`), named by `network.vpcId`: read only. It takes the key of the VPC
 * batchctl creates in the other modes, so what batchctl puts inside (its security groups, endpoints)
 * reads the VPC id the same way in every mode.
 */
export const existingVpc: ResourceKind<ExistingVpcObserved, { vpcId: string }> = {
  kind: 'ec2.existing-vpc',
  label: 'VPC (yours)',
  dependsOn: [],
  costly: false,
  external: true,

  nodes: (config) => (ownsVpc(config) ? [] : [{ key: K.vpc, deps: [], params: { vpcId: config.network.vpcId! } }]),

  desired: (_ctx, node) => ({ vpcId: node.params.vpcId, cidr: '' }),

  async find(ctx, node) {
    const out = await ifExists(ctx.aws.ec2.send(new DescribeVpcsCommand({ VpcIds: [node.params.vpcId] })));
    const v = out?.Vpcs?.[0];
    if (!v?.VpcId) return undefined;
    return {
      record: { kind: 'ec2.existing-vpc', id: v.VpcId, attrs: { cidr: v.CidrBlock ?? '' } },
      ...ownershipOf(ctx, tagRecord(v.Tags)),
      observed: { vpcId: v.VpcId, cidr: v.CidrBlock ?? '' },
    };
  },

  ...readOnly,

  ownerOf: (ctx, record) => ec2OwnerOf(ctx, record.id, describeVpcs(ctx)),
};
