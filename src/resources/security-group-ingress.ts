/**
 * The endpoint group's inbound rules: HTTPS from the tasks' security groups, nothing else. A node of its own,
 * part of the endpoint group: the two groups are created together, and only this rule waits for the task
 * group (AuthorizeSecurityGroupIngress names its id). The schedule's target waits for it: a run needs it to
 * reach the endpoints; the endpoints themselves do not (AWS creates them without it). Rules carry no tags of
 * ours: they are ours when their group is.
 */
import { DescribeSecurityGroupsCommand, RevokeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import type { FieldChange, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { taskGroupIds, taskGroupKeys } from '../model/network.js';
import { change, ec2OwnerOf, prefetchStack, ruleAtoms, stackItems } from './lib/ec2.js';
import { foundWith, inheritedOwnership, ownershipOf, tagRecord } from './lib/tags.js';
import { convergeRules, describeGroups } from './security-group.js';
import { ifExists } from './lib/aws-calls.js';

export interface IngressDesired {
  groupId: string;
  /** Atoms as `ruleAtoms` writes them, e.g. `tcp 443..443 sg-0abc`. */
  rules: string[];
}

const KIND = 'ec2.security-group-ingress';
const GROUP = K.securityGroup('endpoint');
const recordOf = (groupId: string): ResourceRecord => ({ kind: KIND, id: groupId });
const only = (ingress: string[]) => ({ ingress, egress: [] });

export const securityGroupIngress: ResourceKind<IngressDesired> = {
  kind: KIND,
  label: 'Security group rules',
  dependsOn: ['ec2.security-group'],
  costly: false,

  nodes: (config) =>
    config.network.interfaceEndpoints.length
      ? [{ key: K.endpointIngress, deps: [GROUP, ...taskGroupKeys(config)], partOf: [GROUP], params: {} }]
      : [],

  prefetch: prefetchStack('SecurityGroup', describeGroups),

  desired: (ctx) => ({
    groupId: ctx.record(GROUP).id,
    rules: taskGroupIds(ctx)
      .map((id) => `tcp 443..443 ${id}`)
      .sort(),
  }),

  /** The group's inbound rules, from the walk's listing of the stack's groups (or described, when it lags). */
  async find(ctx) {
    const groupId = ctx.record(GROUP).id;
    const g =
      (await stackItems(ctx, 'SecurityGroup', describeGroups(ctx))).find((x) => x.GroupId === groupId) ??
      (await ifExists(ctx.aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }))))
        ?.SecurityGroups?.[0];
    if (!g) return undefined;
    const own = await inheritedOwnership(ctx, GROUP, groupId, async () => ownershipOf(ctx, tagRecord(g.Tags)));
    return foundWith(own, { record: recordOf(groupId), observed: { groupId, rules: ruleAtoms(g.IpPermissions) } });
  },

  /** A new group has no inbound rule (CreateSecurityGroup takes none). */
  async create(ctx, _node, d) {
    await convergeRules(ctx, d.groupId, only([]), only(d.rules));
    return recordOf(d.groupId);
  },

  diff: (d, o): FieldChange[] => [
    ...change('groupId', o.groupId, d.groupId, true),
    ...change('rules', o.rules, d.rules),
  ],

  /** Authorizes what is missing, then revokes what is extra (a rule someone added lets more in). */
  async update(ctx, _node, found, d) {
    await convergeRules(ctx, found.record.id, only(found.observed.rules), only(d.rules));
    return found.record;
  },

  async delete(ctx, record) {
    const g = (await ifExists(ctx.aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [record.id] }))))
      ?.SecurityGroups?.[0];
    if (g?.IpPermissions?.length)
      await ifExists(
        ctx.aws.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: record.id, IpPermissions: g.IpPermissions })),
      );
  },

  ownerOf: (ctx, record) => ec2OwnerOf(ctx, record.id, describeGroups(ctx)),
};
