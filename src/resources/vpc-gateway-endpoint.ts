import { CreateVpcEndpointCommand, ModifyVpcEndpointCommand, type VpcEndpoint } from '@aws-sdk/client-ec2';
import type { Ctx, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { clientToken, hasTagChange, resourceTags, tagChanges } from './lib/tags.js';
import {
  canonicalPolicy,
  change,
  convergeEc2Tags,
  deleteEndpoint,
  ec2Found,
  ec2Tags,
  endpointOwnerOf,
  findEndpoint,
  listEndpoints,
  prefetchEndpoints,
  retryWhileNotFound,
  sorted,
  tagSpecs,
  waitEndpointAvailable,
} from './lib/ec2.js';
import { endpointServiceName } from './lib/endpoint-services.js';

/** The S3 gateway endpoint's settings; `policy` is canonical JSON. */
export interface GatewayEndpointDesired {
  type: string;
  vpcId: string;
  serviceName: string;
  routeTableIds: string[];
  policy: string;
  tags: Record<string, string>;
}

/**
 * Only our bucket, plus ECR's layer bucket: with no NAT, image layers are downloaded from S3 through
 * this endpoint, and a policy without that bucket makes every image pull fail.
 */
function endpointPolicy(ctx: Ctx): string {
  const bucket = ctx.config.bucket.name!;
  return canonicalPolicy({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'StackBucket',
        Effect: 'Allow',
        Principal: '*',
        Action: ['s3:ListBucket', 's3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:GetBucketLocation'],
        Resource: [`arn:${ctx.partition}:s3:::${bucket}`, `arn:${ctx.partition}:s3:::${bucket}/*`],
      },
      {
        Sid: 'EcrImageLayers',
        Effect: 'Allow',
        Principal: '*',
        Action: ['s3:GetObject'],
        Resource: [`arn:${ctx.partition}:s3:::prod-${ctx.region}-starport-layer-bucket/*`],
      },
    ],
  });
}

function observe(ctx: Ctx, ep: VpcEndpoint): GatewayEndpointDesired {
  return {
    tags: ec2Tags(ctx, ep),
    type: ep.VpcEndpointType ?? '',
    vpcId: ep.VpcId ?? '',
    serviceName: ep.ServiceName ?? '',
    routeTableIds: sorted(ep.RouteTableIds),
    policy: canonicalPolicy(ep.PolicyDocument),
  };
}

/** The free S3 gateway endpoint on the batch route table. */
export const vpcGatewayEndpoint: ResourceKind<GatewayEndpointDesired> = {
  kind: 'ec2.vpc-gateway-endpoint',
  label: 'S3 gateway endpoint',
  dependsOn: ['ec2.vpc', 'ec2.route-table'],
  costly: false,

  // In the VPC, on the route table (AWS imposes both). Its policy names the bucket by its configured name, so
  // the bucket need not exist first.
  nodes: (config) =>
    config.network.s3Gateway
      ? [{ key: K.gatewayEndpoint, deps: [K.vpc, K.routeTable], partOf: [K.vpc], params: {} }]
      : [],

  prefetch: prefetchEndpoints,

  desired: async (ctx, node) => ({
    tags: resourceTags(ctx, node.key),
    type: 'Gateway',
    vpcId: ctx.record(K.vpc).id,
    serviceName: await endpointServiceName(ctx, { short: 's3', type: 'Gateway' }),
    routeTableIds: [ctx.record(K.routeTable).id],
    policy: endpointPolicy(ctx),
  }),

  async find(ctx, node, recorded) {
    const found = await findEndpoint(ctx, node.key, recorded);
    if (!found) return undefined;
    return ec2Found('ec2.vpc-gateway-endpoint', found, (e) => e.VpcEndpointId!, observe(ctx, found.item));
  },

  async create(ctx, node, d) {
    // CreateVpcEndpoint is idempotent only with a ClientToken, which the SDK does not fill in for it.
    const ClientToken = await clientToken(ctx, node.key);
    // The route table created a moment ago may not be visible yet (NotFound): the same token makes the
    // retry safe.
    const out = await retryWhileNotFound(ctx, `${node.key}'s VPC and route table`, () =>
      ctx.aws.ec2.send(
        new CreateVpcEndpointCommand({
          VpcEndpointType: 'Gateway',
          VpcId: d.vpcId,
          ServiceName: d.serviceName,
          RouteTableIds: d.routeTableIds,
          PolicyDocument: d.policy,
          ClientToken,
          TagSpecifications: tagSpecs(ctx, 'vpc-endpoint', node.key),
        }),
      ),
    );
    const id = out.VpcEndpoint!.VpcEndpointId!;
    if (out.VpcEndpoint!.State?.toLowerCase() !== 'available')
      await waitEndpointAvailable(ctx, node.key, id, 2 * 60_000);
    return { kind: 'ec2.vpc-gateway-endpoint', id };
  },

  diff: (d, o) => [
    ...change('type', o.type, d.type, true),
    ...change('vpcId', o.vpcId, d.vpcId, true),
    ...change('serviceName', o.serviceName, d.serviceName, true),
    ...change('routeTableIds', o.routeTableIds, d.routeTableIds),
    ...change('policy', o.policy, d.policy),
    ...tagChanges(d.tags, o.tags),
  ],

  async update(ctx, _node, found, d, changes) {
    if (hasTagChange(changes)) await convergeEc2Tags(ctx, found.record.id, d.tags, found.observed.tags);
    if (changes.every((c) => c.field === 'tags')) return;
    const add = d.routeTableIds.filter((r) => !found.observed.routeTableIds.includes(r));
    const remove = found.observed.routeTableIds.filter((r) => !d.routeTableIds.includes(r));
    await ctx.aws.ec2.send(
      new ModifyVpcEndpointCommand({
        VpcEndpointId: found.record.id,
        ...(add.length ? { AddRouteTableIds: add } : {}),
        ...(remove.length ? { RemoveRouteTableIds: remove } : {}),
        ...(found.observed.policy !== d.policy ? { PolicyDocument: d.policy } : {}),
      }),
    );
  },

  delete: (ctx, record) => deleteEndpoint(ctx, record, 2 * 60_000),

  ownerOf: (ctx, record) => endpointOwnerOf(ctx, record.id),

  list: (ctx) => listEndpoints(ctx, 'ec2.vpc-gateway-endpoint', 'Gateway'),
};
