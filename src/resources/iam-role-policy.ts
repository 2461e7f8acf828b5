/**
 * The inline policy `<stack>-<role>` on each role: the role's only permissions (see lib/policies.ts).
 * Inline policies cannot be tagged; one belongs to us when its role does.
 */
import { DeleteRolePolicyCommand, GetRolePolicyCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { isNotFound } from '../core/errors.js';
import type { Ctx, ResourceKind } from '../core/types.js';
import { K, type RoleName } from './lib/keys.js';
import { bucketArn, canonicalPolicy, decodePolicy, samePolicy, type PolicyDocument } from './lib/policies.js';
import { stackInlinePolicy, stackRoleName, stackRoles, usesDeadLetterQueue } from './lib/scheduler.js';
import { LOCK_PREFIX } from './lib/guard.js';
import { foundWith, inheritedOwnership, ownershipOf, tagRecord } from './lib/tags.js';
import { getRole } from './iam-role.js';

/** Ours when its role is: the role's verdict from this walk, else its tags. */
const roleOwnership = (ctx: Ctx, r: RoleName | undefined, roleName: string) =>
  inheritedOwnership(ctx, r ? K.role(r) : '', roleName, async () => {
    const role = await getRole(ctx, roleName);
    return role && ownershipOf(ctx, tagRecord(role.Tags));
  });

export interface RolePolicyDesired {
  roleName: string;
  policyName: string;
  document: PolicyDocument;
}

export interface RolePolicyParams {
  role: RoleName;
}

const DEPS: Record<RoleName, string[]> = {
  execution: [K.role('execution'), K.repository, K.logGroup, K.secret],
  task: [K.role('task'), K.bucket],
  events: [K.role('events'), K.role('execution'), K.role('task'), K.cluster, K.taskDefinition],
  scheduler: [K.role('scheduler'), K.role('execution'), K.role('task'), K.cluster, K.taskDefinition],
};

const splitId = (id: string) => {
  const i = id.indexOf(':');
  return { RoleName: id.slice(0, i), PolicyName: id.slice(i + 1) };
};

/** The role's name: from its record when the role step has run, else from the config (plan before create). */
const roleNameFor = (ctx: Ctx, r: RoleName) => ctx.maybeRecord(K.role(r))?.id ?? stackRoleName(ctx, r);

/**
 * The role's document. With the duplicate-trigger guard on, the task role may also create the guard's
 * lock objects (and nothing else) even when its bucket access is read-only: without it every scheduled
 * run fails its claim with AccessDenied.
 */
function documentFor(ctx: Ctx, r: RoleName): PolicyDocument {
  const doc = stackInlinePolicy(ctx, r);
  if (r !== 'task' || !ctx.config.schedule.duplicateGuard) return doc;
  return {
    ...doc,
    Statement: [...doc.Statement, { Sid: 'RunClaims', Effect: 'Allow', Action: 's3:PutObject', Resource: `${bucketArn(ctx)}/${LOCK_PREFIX}*` }],
  };
}

/** The inline permissions policy of one of the stack's roles. */
export const iamRolePolicy: ResourceKind<RolePolicyDesired, RolePolicyParams> = {
  kind: 'iam.role-policy',
  label: 'IAM role policy',
  dependsOn: ['iam.role', 'ecr.repository', 'logs.log-group', 'secretsmanager.secret', 's3.bucket', 'ecs.cluster', 'ecs.task-definition', 'sqs.queue'],
  costly: false,

  nodes: (config) =>
    stackRoles(config).map((role) => ({
      key: K.rolePolicy(role),
      // The scheduler role's policy grants sqs:SendMessage on the dead-letter queue.
      deps: role === 'scheduler' && usesDeadLetterQueue(config) ? [...DEPS[role], K.deadLetterQueue] : DEPS[role],
      params: { role },
    })),

  desired: (ctx, node) => ({
    roleName: ctx.record(K.role(node.params.role)).id,
    policyName: `${ctx.stack}-${node.params.role}`,
    document: documentFor(ctx, node.params.role),
  }),

  async find(ctx, node, recorded) {
    const { RoleName, PolicyName } = recorded
      ? splitId(recorded.id)
      : { RoleName: roleNameFor(ctx, node.params.role), PolicyName: `${ctx.stack}-${node.params.role}` };
    try {
      const out = await ctx.aws.iam.send(new GetRolePolicyCommand({ RoleName, PolicyName }));
      // Not taggable: ours when its role is.
      return foundWith(await roleOwnership(ctx, node.params.role, RoleName), {
        record: { kind: 'iam.role-policy', id: `${RoleName}:${PolicyName}` },
        observed: { roleName: RoleName, policyName: PolicyName, document: decodePolicy(out.PolicyDocument) ?? { Version: '', Statement: [] } },
      });
    } catch (err) {
      // NoSuchEntity covers both a missing policy and a missing role.
      if (isNotFound(err)) return undefined;
      throw err;
    }
  },

  async create(ctx, _node, d) {
    await ctx.aws.iam.send(new PutRolePolicyCommand({ RoleName: d.roleName, PolicyName: d.policyName, PolicyDocument: JSON.stringify(d.document) }));
    return { kind: 'iam.role-policy', id: `${d.roleName}:${d.policyName}` };
  },

  diff(d, o) {
    const changes = [];
    if (d.roleName !== o.roleName || d.policyName !== o.policyName) {
      changes.push({ field: 'name', from: `${o.roleName}:${o.policyName}`, to: `${d.roleName}:${d.policyName}`, replace: true });
    }
    if (!samePolicy(d.document, o.document)) changes.push({ field: 'document', from: canonicalPolicy(o.document), to: canonicalPolicy(d.document) });
    return changes;
  },

  async update(ctx, _node, found, d) {
    const { RoleName, PolicyName } = splitId(found.record.id);
    // PutRolePolicy replaces the whole document in place.
    await ctx.aws.iam.send(new PutRolePolicyCommand({ RoleName, PolicyName, PolicyDocument: JSON.stringify(d.document) }));
  },

  async delete(ctx, record) {
    try {
      await ctx.aws.iam.send(new DeleteRolePolicyCommand(splitId(record.id)));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },

  ownerOf: (ctx, record) => roleOwnership(ctx, undefined, splitId(record.id).RoleName),
};
