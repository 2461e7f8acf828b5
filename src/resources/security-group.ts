import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, ResourceKind } from '../engine/types.js';
import { K, type SgName } from '../model/keys.js';
import {
  atomPermission,
  change,
  convergeEc2Tags,
  deleteEc2,
  ec2Found,
  ec2OwnerOf,
  ec2Tags,
  findInStack,
  listTagged,
  networkBlockers,
  prefetchStack,
  retryWhileNotFound,
  ruleAtoms,
  tagSpecs,
  waitEndpointEnisReleased,
  type Ec2Describe,
} from './lib/ec2.js';
import { createUnique } from './lib/create.js';
import { hasTagChange, ownershipOf, resourceTags, tagChanges, tagRecord } from './lib/tags.js';
import { ownsTaskGroup } from '../model/network.js';
import { ifExists } from './lib/aws-calls.js';

/** Describe security groups, as `findInStack` and `ec2OwnerOf` want it. */
export const describeGroups =
  (ctx: Ctx): Ec2Describe<SecurityGroup> =>
  async (q) => {
    const out = await ctx.aws.ec2.send(
      new DescribeSecurityGroupsCommand({ GroupIds: q.ids, Filters: q.filters, NextToken: q.nextToken }),
    );
    return { items: out.SecurityGroups, nextToken: out.NextToken };
  };

/** The group of this name in the VPC, ours or not (names are unique per VPC). */
async function byName(ctx: Ctx, vpcId: string, name: string): Promise<SecurityGroup | undefined> {
  const out = await ctx.aws.ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'group-name', Values: [name] },
      ],
    }),
  );
  return out.SecurityGroups?.[0];
}

/** A security group's settings; rules are atoms from `ruleAtoms` (e.g. `tcp 443..443 sg-0abc`). */
export interface SecurityGroupDesired {
  vpcId: string;
  name: string;
  description: string;
  ingress: string[];
  egress: string[];
  tags: Record<string, string>;
}

const ALL_OUT = 'all * 0.0.0.0/0';

/** What AWS puts on every new VPC security group: CreateSecurityGroup takes no rules. */
const CREATED_WITH = { ingress: [] as string[], egress: [ALL_OUT] };

function observe(ctx: Ctx, g: SecurityGroup): SecurityGroupDesired {
  return {
    vpcId: g.VpcId ?? '',
    name: g.GroupName ?? '',
    description: g.Description ?? '',
    ingress: ruleAtoms(g.IpPermissions),
    egress: ruleAtoms(g.IpPermissionsEgress),
    tags: ec2Tags(ctx, g),
  };
}

/**
 * Authorize what is missing, then revoke what is extra (in that order so egress never drops to nothing in
 * between). Duplicate and NotFound answers mean an earlier interrupted run already did it.
 */
export async function convergeRules(
  ctx: Ctx,
  groupId: string,
  from: Pick<SecurityGroupDesired, 'ingress' | 'egress'>,
  to: Pick<SecurityGroupDesired, 'ingress' | 'egress'>,
): Promise<void> {
  for (const dir of ['ingress', 'egress'] as const) {
    const add = to[dir].filter((a) => !from[dir].includes(a)).map(atomPermission);
    const remove = from[dir].filter((a) => !to[dir].includes(a)).map(atomPermission);
    if (add.length) {
      const input = { GroupId: groupId, IpPermissions: add };
      await retryWhileNotFound(ctx, `${groupId} rules`, () =>
        (dir === 'ingress'
          ? ctx.aws.ec2.send(new AuthorizeSecurityGroupIngressCommand(input))
          : ctx.aws.ec2.send(new AuthorizeSecurityGroupEgressCommand(input))
        ).catch((err: unknown) => {
          if (awsErrorCode(err) !== 'InvalidPermission.Duplicate') throw err;
        }),
      );
    }
    if (remove.length) {
      const input = { GroupId: groupId, IpPermissions: remove };
      await ifExists(
        dir === 'ingress'
          ? ctx.aws.ec2.send(new RevokeSecurityGroupIngressCommand(input))
          : ctx.aws.ec2.send(new RevokeSecurityGroupEgressCommand(input)),
      );
    }
  }
}

/**
 * The task group (egress only, no inbound rule: in mode public too) and the endpoint group (whose inbound
 * rules, HTTPS from the tasks' groups only, are the `security-group/endpoint/ingress` node's:
 * security-group-ingress.ts). In mode existing the task group is yours when `securityGroupIds` is given.
 * Names are unique per VPC, so a group is found by name and its ownership read from its tags.
 */
export const securityGroup: ResourceKind<SecurityGroupDesired, { which: SgName }> = {
  kind: 'ec2.security-group',
  label: 'Security group',
  dependsOn: ['ec2.vpc', 'ec2.existing-vpc'],
  costly: false,

  nodes: (config) => [
    ...(ownsTaskGroup(config)
      ? [{ key: K.securityGroup('task'), deps: [K.vpc], partOf: [K.vpc], params: { which: 'task' as const } }]
      : []),
    // Only where interface endpoints are (none in mode public). Created alongside the task group: only its
    // inbound rule needs the task group's id, and that rule is a node of its own.
    ...(config.network.interfaceEndpoints.length
      ? [{ key: K.securityGroup('endpoint'), deps: [K.vpc], partOf: [K.vpc], params: { which: 'endpoint' as const } }]
      : []),
  ],

  prefetch: prefetchStack('SecurityGroup', describeGroups),

  desired(ctx, node, found) {
    const base = {
      vpcId: ctx.record(K.vpc).id,
      name: `${ctx.stack}-${node.params.which}`,
      egress: [ALL_OUT],
      tags: resourceTags(ctx, node.key),
    };
    if (node.params.which === 'task') {
      return { ...base, description: `batchctl ${ctx.stack}: Fargate tasks, egress only`, ingress: [] };
    }
    // The endpoint group's inbound rules are the ingress node's to converge: whatever they are, not this node's.
    return {
      ...base,
      description: `batchctl ${ctx.stack}: VPC interface endpoints, HTTPS from the tasks`,
      ingress: found?.observed.ingress ?? [],
    };
  },

  async find(ctx, node, recorded) {
    const vpcId = ctx.maybeRecord(K.vpc)?.id;
    const name = `${ctx.stack}-${node.params.which}`;
    const found = await findInStack(ctx, node.key, recorded, {
      type: 'SecurityGroup',
      describe: describeGroups(ctx),
      idOf: (g) => g.GroupId!,
      parent: { of: (g) => g.VpcId, id: vpcId },
      // A same-named group that is not ours would make CreateSecurityGroup fail: report it now.
      blocker: async () => (vpcId ? byName(ctx, vpcId, name) : undefined),
    });
    if (!found) return undefined;
    return ec2Found('ec2.security-group', found, (g) => g.GroupId!, observe(ctx, found.item));
  },

  async create(ctx, node, d) {
    // Names are unique per VPC: "duplicate" right after our own attempt (the SDK resent a call whose
    // answer was lost, or a racing run) is that group, adopted when it carries our tag. The VPC created
    // a moment ago may not be visible yet.
    const { id, adopted } = await createUnique<{ id: string; adopted?: SecurityGroup }>(
      'Security group',
      d.name,
      async () => ({
        id: (
          await retryWhileNotFound(ctx, `${node.key}'s VPC ${d.vpcId}`, () =>
            ctx.aws.ec2.send(
              new CreateSecurityGroupCommand({
                GroupName: d.name,
                Description: d.description,
                VpcId: d.vpcId,
                TagSpecifications: tagSpecs(ctx, 'security-group', node.key),
              }),
            ),
          )
        ).GroupId!,
        adopted: undefined,
      }),
      (err) => awsErrorCode(err) === 'InvalidGroup.Duplicate',
      async () => {
        const g = await byName(ctx, d.vpcId, d.name);
        return g && { ...ownershipOf(ctx, tagRecord(g.Tags)), value: { id: g.GroupId!, adopted: g } };
      },
    );
    // An adopted group may already carry some of the rules: converge from what it has (the endpoint group's
    // inbound rules are the ingress node's: left as they are).
    const from = adopted ? observe(ctx, adopted) : CREATED_WITH;
    await convergeRules(ctx, id, from, node.params.which === 'endpoint' ? { ...d, ingress: from.ingress } : d);
    return { kind: 'ec2.security-group', id };
  },

  diff: (d, o) => [
    ...change('vpcId', o.vpcId, d.vpcId, true),
    ...change('name', o.name, d.name, true),
    ...change('description', o.description, d.description, true),
    ...change('ingress', o.ingress, d.ingress),
    ...change('egress', o.egress, d.egress),
    ...tagChanges(d.tags, o.tags),
  ],

  async update(ctx, _node, found, d, changes) {
    if (hasTagChange(changes)) await convergeEc2Tags(ctx, found.record.id, d.tags, found.observed.tags);
    await convergeRules(ctx, found.record.id, found.observed, d);
  },

  async delete(ctx, record) {
    await waitEndpointEnisReleased(ctx, 'group-id', record.id);
    await deleteEc2(
      ctx,
      record.id,
      () => ctx.aws.ec2.send(new DeleteSecurityGroupCommand({ GroupId: record.id })),
      undefined,
      () => networkBlockers(ctx, 'group-id', record.id),
    );
  },

  ownerOf: (ctx, record) => ec2OwnerOf(ctx, record.id, describeGroups(ctx)),

  list: (ctx) =>
    listTagged<SecurityGroup>(ctx, 'ec2.security-group', 'SecurityGroup', (g) => g.GroupId, describeGroups(ctx)),
};
