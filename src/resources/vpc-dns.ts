/**
 * The stack's VPC's DNS attributes, both on: interface endpoints with private DNS need them (CreateVpcEndpoint,
 * PrivateDnsEnabled: "you must set the following VPC attributes to true: enableDnsHostnames and
 * enableDnsSupport"). A node of their own, part of the VPC, so that what needs only the VPC (subnets, groups,
 * the route table) does not wait for them, and the endpoints do.
 *
 * ModifyVpcAttribute takes one attribute per call, and enables hostnames only where DNS support is on (API
 * reference). A new VPC has DNS support on already (VPC user guide, DNS attributes: enableDnsSupport defaults
 * to true), so on a new VPC both calls go together; on a VPC whose support was turned off, support first.
 */
import { DescribeVpcAttributeCommand, ModifyVpcAttributeCommand } from '@aws-sdk/client-ec2';
import type { Ctx, FieldChange, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { ownsVpc } from '../model/network.js';
import { ec2OwnerOf, retryWhileNotFound } from './lib/ec2.js';
import { foundWith, inheritedOwnership } from './lib/tags.js';
import { describeVpcs } from './vpc.js';
import { ifExists } from './lib/aws-calls.js';

export interface VpcDnsDesired {
  dnsSupport: boolean;
  dnsHostnames: boolean;
}

type Attribute = 'enableDnsSupport' | 'enableDnsHostnames';
const KIND = 'ec2.vpc-dns';

/** One attribute, read once per walk (the prefetch and the find share it); undefined when the VPC is gone. */
function attribute(ctx: Ctx, vpcId: string, attr: Attribute): Promise<boolean | undefined> {
  return ctx.memo(`ec2:vpc-attribute:${vpcId}:${attr}`, async () => {
    const out = await ifExists(ctx.aws.ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: attr })));
    if (!out) return undefined;
    return (attr === 'enableDnsSupport' ? out.EnableDnsSupport?.Value : out.EnableDnsHostnames?.Value) ?? false;
  });
}

const modify = (ctx: Ctx, VpcId: string, field: keyof VpcDnsDesired, Value: boolean) =>
  retryWhileNotFound(ctx, `VPC ${VpcId} DNS attributes`, () =>
    ctx.aws.ec2.send(
      new ModifyVpcAttributeCommand(
        field === 'dnsSupport' ? { VpcId, EnableDnsSupport: { Value } } : { VpcId, EnableDnsHostnames: { Value } },
      ),
    ),
  );

const recordOf = (vpcId: string): ResourceRecord => ({ kind: KIND, id: vpcId });

export const vpcDns: ResourceKind<VpcDnsDesired> = {
  kind: KIND,
  label: 'VPC DNS attributes',
  dependsOn: ['ec2.vpc'],
  costly: false,

  nodes: (config) => (ownsVpc(config) ? [{ key: K.vpcDns, deps: [K.vpc], partOf: [K.vpc], params: {} }] : []),

  desired: () => ({ dnsSupport: true, dnsHostnames: true }),

  // With the VPC recorded, its attributes are read in the walk's first round, alongside the VPC's lookup.
  prefetch(ctx) {
    const vpcId = ctx.maybeRecord(K.vpc)?.id;
    if (vpcId)
      for (const a of ['enableDnsSupport', 'enableDnsHostnames'] as const)
        attribute(ctx, vpcId, a).catch(() => undefined);
  },

  /** The attributes of the stack's VPC; they are ours when the VPC is (attributes carry no tags). */
  async find(ctx) {
    const vpcId = ctx.record(K.vpc).id;
    const [dnsSupport, dnsHostnames] = await Promise.all([
      attribute(ctx, vpcId, 'enableDnsSupport'),
      attribute(ctx, vpcId, 'enableDnsHostnames'),
    ]);
    if (dnsSupport === undefined || dnsHostnames === undefined) return undefined;
    const own = await inheritedOwnership(ctx, K.vpc, vpcId, () => ec2OwnerOf(ctx, vpcId, describeVpcs(ctx)));
    return foundWith(own, { record: recordOf(vpcId), observed: { dnsSupport, dnsHostnames } });
  },

  /** A new VPC's: support is on already, so both calls go together (hostnames does not wait for support). */
  async create(ctx, _node, d) {
    const vpcId = ctx.record(K.vpc).id;
    await Promise.all([
      modify(ctx, vpcId, 'dnsSupport', d.dnsSupport),
      modify(ctx, vpcId, 'dnsHostnames', d.dnsHostnames),
    ]);
    return recordOf(vpcId);
  },

  diff(d, o): FieldChange[] {
    return (['dnsSupport', 'dnsHostnames'] as const)
      .filter((f) => d[f] !== o[f])
      .map((f) => ({ field: f, from: o[f], to: d[f] }));
  },

  /** Support before hostnames when both must be turned on: AWS enables hostnames only where support is on. */
  async update(ctx, _node, found, d, changes) {
    const fields = new Set(changes.map((c) => c.field));
    if (fields.has('dnsSupport')) await modify(ctx, found.record.id, 'dnsSupport', d.dnsSupport);
    if (fields.has('dnsHostnames')) await modify(ctx, found.record.id, 'dnsHostnames', d.dnsHostnames);
    return found.record;
  },

  // The attributes end with their VPC.
  async delete() {},

  ownerOf: (ctx, record) => ec2OwnerOf(ctx, record.id, describeVpcs(ctx)),
};
