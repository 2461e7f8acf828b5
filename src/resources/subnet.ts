import {
  CreateSubnetCommand,
  DescribeSubnetsCommand,
  DeleteSubnetCommand,
  ModifySubnetAttributeCommand,
  type Subnet,
} from '@aws-sdk/client-ec2';
import { awsErrorCode } from '../base/errors.js';
import type { ResourceKind } from '../engine/types.js';
import { K, type SubnetGroup } from '../model/keys.js';
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
  networkBlockers,
  prefetchStack,
  retryWhileNotFound,
  tagSpecs,
  waitEndpointEnisReleased,
} from './lib/ec2.js';
import { createOnce } from './lib/create.js';
import { hasTagChange, resourceTags, tagChanges } from './lib/tags.js';
import { describeSubnets } from './vpc.js';
import { ifExists } from './lib/aws-calls.js';

/** One subnet's settings. */
export interface SubnetDesired {
  vpcId: string;
  cidr: string;
  az: string;
  mapPublicIpOnLaunch: boolean;
  tags: Record<string, string>;
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
        partOf: [K.vpc],
        params: { group, az: s.az, cidr: s.cidr },
      })),
    ),

  desired: (ctx, node) => ({
    vpcId: ctx.record(K.vpc).id,
    cidr: node.params.cidr,
    az: node.params.az,
    mapPublicIpOnLaunch: false,
    tags: resourceTags(ctx, node.key),
  }),

  prefetch: prefetchStack('Subnet', describeSubnets),

  async find(ctx, node, recorded) {
    const found = await findInStack(ctx, node.key, recorded, {
      type: 'Subnet',
      describe: describeSubnets(ctx),
      idOf: (s) => s.SubnetId!,
      parent: { of: (s) => s.VpcId, id: ctx.maybeRecord(K.vpc)?.id },
    });
    if (!found) return undefined;
    const s = found.item;
    return ec2Found(
      'ec2.subnet',
      found,
      (x) => x.SubnetId!,
      {
        vpcId: s.VpcId ?? '',
        cidr: s.CidrBlock ?? '',
        az: s.AvailabilityZone ?? '',
        mapPublicIpOnLaunch: s.MapPublicIpOnLaunch ?? false,
        tags: ec2Tags(ctx, s),
      },
      { az: s.AvailabilityZone ?? '' },
    );
  },

  async create(ctx, node, d) {
    // CreateSubnet takes no idempotency token: sent once, looked up by its tags if the answer is lost. A
    // CIDR already taken in the VPC by a subnet of ours (a racing run) is that subnet: adopted.
    const lookup = () =>
      lookupCreated(ctx, node.key, describeSubnets(ctx), (x) => (x.VpcId === d.vpcId ? x.SubnetId : undefined));
    let answered: Subnet | undefined;
    const id = await createOnce(
      ctx,
      `${node.key} (CreateSubnet)`,
      async () => {
        try {
          // The VPC created a moment ago may not be visible yet.
          const out = await retryWhileNotFound(ctx, `${node.key}'s VPC ${d.vpcId}`, () =>
            ctx.aws.once.ec2.send(
              new CreateSubnetCommand({
                VpcId: d.vpcId,
                CidrBlock: d.cidr,
                AvailabilityZone: d.az,
                TagSpecifications: tagSpecs(ctx, 'subnet', node.key),
              }),
            ),
          );
          answered = out.Subnet;
          return out.Subnet!.SubnetId!;
        } catch (err) {
          const ours = awsErrorCode(err) === 'InvalidSubnet.Conflict' ? await lookup() : undefined;
          if (ours) return ours;
          throw err;
        }
      },
      lookup,
    );
    // CreateSubnet may answer `pending`: only then is the subnet polled until it is available.
    const s =
      answered?.SubnetId === id && answered.State === 'available'
        ? answered
        : await ctx.waitFor(
            `${node.key} pending -> available`,
            async () => {
              const res = await ifExists(ctx.aws.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [id] })));
              const got = res?.Subnets?.[0];
              return got?.State === 'available' ? got : undefined;
            },
            { budgetMs: 2 * 60_000, intervalMs: 2000 },
          );
    // New subnets in a non-default VPC do not map public IPs, but say so explicitly if AWS ever differs.
    if ((s.MapPublicIpOnLaunch ?? false) !== d.mapPublicIpOnLaunch) {
      await retryWhileNotFound(ctx, `${node.key} attributes`, () =>
        ctx.aws.ec2.send(
          new ModifySubnetAttributeCommand({ SubnetId: id, MapPublicIpOnLaunch: { Value: d.mapPublicIpOnLaunch } }),
        ),
      );
    }
    return { kind: 'ec2.subnet', id, attrs: { az: d.az } };
  },

  diff: (d, o) => [
    ...change('vpcId', o.vpcId, d.vpcId, true),
    ...change('cidr', o.cidr, d.cidr, true),
    ...change('az', o.az, d.az, true),
    ...change('mapPublicIpOnLaunch', o.mapPublicIpOnLaunch, d.mapPublicIpOnLaunch),
    ...tagChanges(d.tags, o.tags),
  ],

  async update(ctx, _node, found, d, changes) {
    if (changes.some((c) => c.field === 'mapPublicIpOnLaunch')) {
      await ctx.aws.ec2.send(
        new ModifySubnetAttributeCommand({
          SubnetId: found.record.id,
          MapPublicIpOnLaunch: { Value: d.mapPublicIpOnLaunch },
        }),
      );
    }
    if (hasTagChange(changes)) await convergeEc2Tags(ctx, found.record.id, d.tags, found.observed.tags);
  },

  async delete(ctx, record) {
    await waitEndpointEnisReleased(ctx, 'subnet-id', record.id);
    await deleteEc2(
      ctx,
      record.id,
      () => ctx.aws.ec2.send(new DeleteSubnetCommand({ SubnetId: record.id })),
      undefined,
      () => networkBlockers(ctx, 'subnet-id', record.id),
    );
  },

  ownerOf: (ctx, record) => ec2OwnerOf(ctx, record.id, describeSubnets(ctx)),

  list: (ctx) => listTagged<Subnet>(ctx, 'ec2.subnet', 'Subnet', (s) => s.SubnetId, describeSubnets(ctx)),
};
