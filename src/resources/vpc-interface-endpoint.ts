import { CreateVpcEndpointCommand, ModifyVpcEndpointCommand, type VpcEndpoint } from '@aws-sdk/client-ec2';
import type { Ctx, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { clientToken, hasTagChange, resourceTags, tagChanges } from './lib/tags.js';
import {
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
import { endpointSubnetIds, endpointSubnetKeys, ownsVpc } from '../model/network.js';

/** An interface endpoint's settings (id lists sorted). */
export interface InterfaceEndpointDesired {
  type: string;
  vpcId: string;
  serviceName: string;
  subnetIds: string[];
  securityGroupIds: string[];
  privateDnsEnabled: boolean;
  /**
   * `available`, or the terminal state it ended in (`failed`, `rejected`): AWS never recovers those, so
   * they show as a replacement instead of passing as converged. Pending counts as available.
   */
  state: string;
  tags: Record<string, string>;
}

function observe(ctx: Ctx, ep: VpcEndpoint): InterfaceEndpointDesired {
  return {
    tags: ec2Tags(ctx, ep),
    type: ep.VpcEndpointType ?? '',
    vpcId: ep.VpcId ?? '',
    serviceName: ep.ServiceName ?? '',
    subnetIds: sorted(ep.SubnetIds),
    securityGroupIds: sorted(ep.Groups?.map((g) => g.GroupId)),
    privateDnsEnabled: ep.PrivateDnsEnabled ?? false,
    state: ['failed', 'rejected', 'expired'].includes((ep.State ?? '').toLowerCase())
      ? (ep.State ?? '').toLowerCase()
      : 'available',
  };
}

const BUDGET_MS = 10 * 60_000;

/**
 * One interface endpoint per AWS service the task reaches without a NAT (ECR API and registry, logs,
 * Secrets Manager...). Private DNS makes the service's usual hostname resolve to the endpoint. Billed per
 * hour and per subnet, hence costly.
 */
export const vpcInterfaceEndpoint: ResourceKind<InterfaceEndpointDesired, { service: string }> = {
  kind: 'ec2.vpc-interface-endpoint',
  label: 'Interface endpoint',
  dependsOn: ['ec2.vpc', 'ec2.existing-vpc', 'ec2.subnet', 'ec2.existing-subnet', 'ec2.security-group', 'ec2.vpc-dns'],
  costly: true,

  nodes: (config) =>
    config.network.interfaceEndpoints.map((service) => ({
      key: K.interfaceEndpoint(service),
      // AWS imposes all of them: the endpoint is created in the VPC, in those subnets, with that group, and
      // private DNS needs the VPC's DNS attributes on (ours: vpc/dns; yours: checked by the preflight).
      deps: [K.vpc, ...(ownsVpc(config) ? [K.vpcDns] : []), ...endpointSubnetKeys(config), K.securityGroup('endpoint')],
      partOf: [K.vpc],
      params: { service },
    })),

  prefetch: prefetchEndpoints,

  desired: async (ctx, node) => ({
    tags: resourceTags(ctx, node.key),
    type: 'Interface',
    vpcId: ctx.record(K.vpc).id,
    serviceName: await endpointServiceName(ctx, { short: node.params.service, type: 'Interface' }),
    subnetIds: endpointSubnetIds(ctx),
    securityGroupIds: [ctx.record(K.securityGroup('endpoint')).id],
    privateDnsEnabled: true,
    state: 'available',
  }),

  async find(ctx, node, recorded) {
    const found = await findEndpoint(ctx, node.key, recorded);
    if (!found) return undefined;
    return ec2Found('ec2.vpc-interface-endpoint', found, (e) => e.VpcEndpointId!, observe(ctx, found.item));
  },

  async create(ctx, node, d) {
    // Without a ClientToken (the SDK does not fill one in here) a retried or re-run create after a lost
    // response makes a second billed endpoint.
    const ClientToken = await clientToken(ctx, node.key);
    // Subnets and groups created a moment ago may not be visible yet (NotFound): the same token makes
    // the retry safe.
    const out = await retryWhileNotFound(ctx, `${node.key}'s VPC, subnets and security group`, () =>
      ctx.aws.ec2.send(
        new CreateVpcEndpointCommand({
          VpcEndpointType: 'Interface',
          VpcId: d.vpcId,
          ServiceName: d.serviceName,
          SubnetIds: d.subnetIds,
          SecurityGroupIds: d.securityGroupIds,
          PrivateDnsEnabled: d.privateDnsEnabled,
          ClientToken,
          TagSpecifications: tagSpecs(ctx, 'vpc-endpoint', node.key),
        }),
      ),
    );
    const id = out.VpcEndpoint!.VpcEndpointId!;
    await waitEndpointAvailable(ctx, node.key, id, BUDGET_MS);
    return { kind: 'ec2.vpc-interface-endpoint', id };
  },

  diff: (d, o) => [
    ...change('state', o.state, d.state, true),
    ...change('type', o.type, d.type, true),
    ...change('vpcId', o.vpcId, d.vpcId, true),
    ...change('serviceName', o.serviceName, d.serviceName, true),
    ...change('subnetIds', o.subnetIds, d.subnetIds),
    ...change('securityGroupIds', o.securityGroupIds, d.securityGroupIds),
    ...change('privateDnsEnabled', o.privateDnsEnabled, d.privateDnsEnabled),
    ...tagChanges(d.tags, o.tags),
  ],

  /** One ModifyVpcEndpoint; the endpoint is pending again while AWS moves its ENIs, so wait for it. */
  async update(ctx, node, found, d, changes) {
    if (hasTagChange(changes)) await convergeEc2Tags(ctx, found.record.id, d.tags, found.observed.tags);
    if (changes.every((c) => c.field === 'tags')) return;
    const o = found.observed;
    const minus = (a: string[], b: string[]) => a.filter((x) => !b.includes(x));
    const lists = {
      AddSubnetIds: minus(d.subnetIds, o.subnetIds),
      RemoveSubnetIds: minus(o.subnetIds, d.subnetIds),
      AddSecurityGroupIds: minus(d.securityGroupIds, o.securityGroupIds),
      RemoveSecurityGroupIds: minus(o.securityGroupIds, d.securityGroupIds),
    };
    await ctx.aws.ec2.send(
      new ModifyVpcEndpointCommand({
        VpcEndpointId: found.record.id,
        ...Object.fromEntries(Object.entries(lists).filter(([, v]) => v.length)),
        ...(o.privateDnsEnabled !== d.privateDnsEnabled ? { PrivateDnsEnabled: d.privateDnsEnabled } : {}),
      }),
    );
    await waitEndpointAvailable(ctx, node.key, found.record.id, BUDGET_MS);
  },

  delete: (ctx, record) => deleteEndpoint(ctx, record, BUDGET_MS),

  ownerOf: (ctx, record) => endpointOwnerOf(ctx, record.id),

  list: (ctx) => listEndpoints(ctx, 'ec2.vpc-interface-endpoint', 'Interface'),
};
