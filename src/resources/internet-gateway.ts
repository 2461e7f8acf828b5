import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  DeleteInternetGatewayCommand,
  DescribeInternetGatewaysCommand,
  DetachInternetGatewayCommand,
  type InternetGateway,
} from '@aws-sdk/client-ec2';
import { awsErrorCode } from '../base/errors.js';
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
  retryWhileNotFound,
  tagSpecs,
  type Ec2Describe,
} from './lib/ec2.js';
import { createOnce } from './lib/create.js';
import { hasTagChange, resourceTags, tagChanges } from './lib/tags.js';
import { needsInternetGateway } from '../model/network.js';
import { ifExists, unlessGone } from './lib/aws-calls.js';

/** The gateway's settings: the VPC it is attached to ('' when detached). */
export interface InternetGatewayDesired {
  vpcId: string;
  tags: Record<string, string>;
}

export const describeInternetGateways =
  (ctx: Ctx): Ec2Describe<InternetGateway> =>
  async (q) => {
    const out = await ctx.aws.ec2.send(
      new DescribeInternetGatewaysCommand({ InternetGatewayIds: q.ids, Filters: q.filters, NextToken: q.nextToken }),
    );
    return { items: out.InternetGateways, nextToken: out.NextToken };
  };

/**
 * The VPC a gateway is attached to (or attaching to), '' when it is detached. EC2 reports an internet
 * gateway's attachment as `available`, a state its own type does not list.
 */
function attachedVpc(igw: InternetGateway): string {
  return igw.Attachments?.find((a) => ['available', 'attached', 'attaching'].includes(String(a.State)))?.VpcId ?? '';
}

/**
 * Attach, treating "already attached to this VPC" as done: AttachInternetGateway takes no token, so the
 * SDK's resend of a call whose answer was lost meets the attachment the first call made. The gateway and
 * VPC created a moment ago may not be visible yet (NotFound).
 */
async function attach(ctx: Ctx, key: string, igwId: string, vpcId: string): Promise<void> {
  try {
    await retryWhileNotFound(ctx, `${key}: gateway ${igwId} and VPC ${vpcId}`, () =>
      ctx.aws.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId })),
    );
  } catch (err) {
    if (awsErrorCode(err) !== 'Resource.AlreadyAssociated') throw err;
    const out = await ctx.aws.ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [igwId] }));
    if (attachedVpc(out.InternetGateways?.[0] ?? {}) !== vpcId) throw err;
  }
}

/**
 * Detach, retrying while AWS refuses because addresses in the VPC still use the gateway (a task started
 * with a public IP a moment ago): DependencyViolation until it stops.
 */
async function detach(ctx: Ctx, igwId: string, vpcId: string): Promise<void> {
  await deleteEc2(
    ctx,
    `${igwId} (detaching from ${vpcId})`,
    async () => {
      try {
        await ctx.aws.ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
      } catch (err) {
        if (awsErrorCode(err) === 'Gateway.NotAttached') return;
        throw err;
      }
    },
    10 * 60_000,
  );
}

/**
 * The internet gateway of mode `public`: the tasks' way out, with the default route and their public IP.
 * Free; what is billed is the public IPv4 address of each running task.
 */
export const internetGateway: ResourceKind<InternetGatewayDesired> = {
  kind: 'ec2.internet-gateway',
  label: 'Internet gateway',
  dependsOn: ['ec2.vpc'],
  costly: false,

  nodes: (config) => (needsInternetGateway(config) ? [{ key: K.internetGateway, deps: [K.vpc], params: {} }] : []),

  prefetch: prefetchStack('InternetGateway', describeInternetGateways),

  desired: (ctx, node) => ({ vpcId: ctx.record(K.vpc).id, tags: resourceTags(ctx, node.key) }),

  async find(ctx, node, recorded) {
    const vpcId = ctx.maybeRecord(K.vpc)?.id;
    // A detached gateway of ours is still this node's (an attach that failed): no parent filter. Of two
    // (a race), keep the one attached to our VPC, then the lowest id (EC2 reports no creation time).
    const found = await findInStack(ctx, node.key, recorded, {
      type: 'InternetGateway',
      describe: describeInternetGateways(ctx),
      idOf: (g) => g.InternetGatewayId!,
      rank: (gs) =>
        [...gs].sort(
          (a, b) =>
            Number(attachedVpc(b) === vpcId) - Number(attachedVpc(a) === vpcId) ||
            (a.InternetGatewayId ?? '').localeCompare(b.InternetGatewayId ?? ''),
        ),
    });
    if (!found) return undefined;
    return ec2Found('ec2.internet-gateway', found, (g) => g.InternetGatewayId!, {
      vpcId: attachedVpc(found.item),
      tags: ec2Tags(ctx, found.item),
    });
  },

  async create(ctx, node, d) {
    // CreateInternetGateway takes no idempotency token: sent once, looked up by its tags if the answer is lost.
    const id = await createOnce(
      ctx,
      `${node.key} (CreateInternetGateway)`,
      async () =>
        (
          await ctx.aws.once.ec2.send(
            new CreateInternetGatewayCommand({ TagSpecifications: tagSpecs(ctx, 'internet-gateway', node.key) }),
          )
        ).InternetGateway!.InternetGatewayId!,
      () => lookupCreated(ctx, node.key, describeInternetGateways(ctx), (g) => g.InternetGatewayId),
    );
    await attach(ctx, node.key, id, d.vpcId);
    return { kind: 'ec2.internet-gateway', id };
  },

  diff: (d, o) => [...change('vpcId', o.vpcId, d.vpcId), ...tagChanges(d.tags, o.tags)],

  /** Attaches a gateway left detached (a run stopped between create and attach), or moves it back to our VPC. */
  async update(ctx, node, found, d, changes) {
    if (hasTagChange(changes)) await convergeEc2Tags(ctx, found.record.id, d.tags, found.observed.tags);
    if (found.observed.vpcId === d.vpcId) return;
    if (found.observed.vpcId) await detach(ctx, found.record.id, found.observed.vpcId);
    await attach(ctx, node.key, found.record.id, d.vpcId);
  },

  /** Detach from every VPC, then delete. */
  async delete(ctx, record) {
    const InternetGatewayId = record.id;
    const read = new DescribeInternetGatewaysCommand({ InternetGatewayIds: [InternetGatewayId] });
    const out = await ifExists(ctx.aws.ec2.send(read));
    const igw = out?.InternetGateways?.[0];
    if (!igw) return;
    for (const a of igw.Attachments ?? []) if (a.VpcId && a.State !== 'detached') await detach(ctx, record.id, a.VpcId);
    const remove = () => unlessGone(ctx.aws.ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId })));
    await deleteEc2(ctx, record.id, remove);
  },

  ownerOf: (ctx, record) => ec2OwnerOf(ctx, record.id, describeInternetGateways(ctx)),

  list: (ctx) =>
    listTagged<InternetGateway>(
      ctx,
      'ec2.internet-gateway',
      'InternetGateway',
      (g) => g.InternetGatewayId,
      describeInternetGateways(ctx),
    ),
};
