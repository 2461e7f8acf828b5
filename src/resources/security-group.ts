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
import { awsErrorCode } from '../core/errors.js';
import type { Ctx, ResourceKind } from '../core/types.js';
import { K, type SgName } from './lib/keys.js';
import { atomPermission, change, deleteEc2, listTagged, networkBlockers, pickOne, retryWhileNotFound, ruleAtoms, tagSpecs, unlessNotFound, waitEndpointEnisReleased } from './lib/ec2.js';

/** A security group's settings; rules are atoms from `ruleAtoms` (e.g. `tcp 443..443 sg-0abc`). */
export interface SecurityGroupDesired {
  vpcId: string;
  name: string;
  description: string;
  ingress: string[];
  egress: string[];
}

const ALL_OUT = 'all * 0.0.0.0/0';

/** What AWS puts on every new VPC security group: CreateSecurityGroup takes no rules. */
const CREATED_WITH = { ingress: [] as string[], egress: [ALL_OUT] };

function observe(g: SecurityGroup): SecurityGroupDesired {
  return {
    vpcId: g.VpcId ?? '',
    name: g.GroupName ?? '',
    description: g.Description ?? '',
    ingress: ruleAtoms(g.IpPermissions),
    egress: ruleAtoms(g.IpPermissionsEgress),
  };
}

/**
 * Authorize what is missing, then revoke what is extra (in that order so egress never drops to nothing in
 * between). Duplicate and NotFound answers mean an earlier interrupted run already did it.
 */
async function convergeRules(ctx: Ctx, groupId: string, from: Pick<SecurityGroupDesired, 'ingress' | 'egress'>, to: Pick<SecurityGroupDesired, 'ingress' | 'egress'>): Promise<void> {
  for (const dir of ['ingress', 'egress'] as const) {
    const add = to[dir].filter((a) => !from[dir].includes(a)).map(atomPermission);
    const remove = from[dir].filter((a) => !to[dir].includes(a)).map(atomPermission);
    if (add.length) {
      const input = { GroupId: groupId, IpPermissions: add };
      await retryWhileNotFound(ctx, `${groupId} rules`, () =>
        (dir === 'ingress'
          ? ctx.aws.ec2.send(new AuthorizeSecurityGroupIngressCommand(input))
          : ctx.aws.ec2.send(new AuthorizeSecurityGroupEgressCommand(input))
        ).catch((err: unknown) => { if (awsErrorCode(err) !== 'InvalidPermission.Duplicate') throw err; }));
    }
    if (remove.length) {
      const input = { GroupId: groupId, IpPermissions: remove };
      await unlessNotFound(dir === 'ingress'
        ? ctx.aws.ec2.send(new RevokeSecurityGroupIngressCommand(input))
        : ctx.aws.ec2.send(new RevokeSecurityGroupEgressCommand(input)));
    }
  }
}

/**
 * The task group (egress only) and the endpoint group (HTTPS in from the task group only). Names are
 * unique per VPC, so a group is found by name and its ownership read from its tags.
 */
export const securityGroup: ResourceKind<SecurityGroupDesired, { which: SgName }> = {
  kind: 'ec2.security-group',
  label: 'Security group',
  dependsOn: ['ec2.vpc'],
  costly: false,

  nodes: () => [
    { key: K.securityGroup('task'), deps: [K.vpc], params: { which: 'task' } },
    { key: K.securityGroup('endpoint'), deps: [K.vpc, K.securityGroup('task')], params: { which: 'endpoint' } },
  ],

  desired(ctx, node) {
    const base = { vpcId: ctx.record(K.vpc).id, name: `${ctx.stack}-${node.params.which}`, egress: [ALL_OUT] };
    if (node.params.which === 'task') {
      return { ...base, description: `batchctl ${ctx.stack}: Fargate tasks, egress only`, ingress: [] };
    }
    return {
      ...base,
      description: `batchctl ${ctx.stack}: VPC interface endpoints, HTTPS from the tasks`,
      ingress: [`tcp 443..443 ${ctx.record(K.securityGroup('task')).id}`],
    };
  },

  async find(ctx, node, recorded) {
    if (recorded) {
      const out = await unlessNotFound(ctx.aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [recorded.id] })));
      const g = out?.SecurityGroups?.[0];
      if (g) return { record: { kind: 'ec2.security-group', id: g.GroupId! }, owned: true, observed: observe(g) };
    }
    const out = await ctx.aws.ec2.send(new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'vpc-id', Values: [ctx.record(K.vpc).id] },
        { Name: 'group-name', Values: [`${ctx.stack}-${node.params.which}`] },
      ],
    }));
    const found = pickOne(ctx, node.key, 'Group', out.SecurityGroups ?? []);
    if (!found) return undefined;
    return { record: { kind: 'ec2.security-group', id: found.item.GroupId! }, owned: found.owned, observed: observe(found.item) };
  },

  async create(ctx, node, d) {
    const out = await ctx.aws.ec2.send(new CreateSecurityGroupCommand({
      GroupName: d.name, Description: d.description, VpcId: d.vpcId, TagSpecifications: tagSpecs(ctx, 'security-group', node.key),
    }));
    await convergeRules(ctx, out.GroupId!, CREATED_WITH, d);
    return { kind: 'ec2.security-group', id: out.GroupId! };
  },

  diff: (d, o) => [
    ...change('vpcId', o.vpcId, d.vpcId, true),
    ...change('name', o.name, d.name, true),
    ...change('description', o.description, d.description, true),
    ...change('ingress', o.ingress, d.ingress),
    ...change('egress', o.egress, d.egress),
  ],

  async update(ctx, _node, found, d) {
    await convergeRules(ctx, found.record.id, found.observed, d);
  },

  async delete(ctx, record) {
    await waitEndpointEnisReleased(ctx, 'group-id', record.id);
    await deleteEc2(ctx, record.id, () => ctx.aws.ec2.send(new DeleteSecurityGroupCommand({ GroupId: record.id })), undefined, () =>
      networkBlockers(ctx, 'group-id', record.id));
  },

  list: (ctx) =>
    listTagged<SecurityGroup>(ctx, 'ec2.security-group', (g) => g.GroupId, async (q) => {
      const out = await ctx.aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: q.filters, NextToken: q.nextToken }));
      return { items: out.SecurityGroups, nextToken: out.NextToken };
    }),
};

