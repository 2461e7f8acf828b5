/**
 * The stack's three IAM roles (ECS task execution, ECS task, and the trigger's: EventBridge or Scheduler). Permissions live in each
 * role's inline policy (iam-role-policy.ts); by default no managed policy is attached at all, and any
 * attachment found on the role is drift that `up` detaches.
 */
import {
  AttachRolePolicyCommand, CreateRoleCommand, DeleteRoleCommand, DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand, DetachRolePolicyCommand, GetRoleCommand, ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand, PutRolePermissionsBoundaryCommand, TagRoleCommand, UpdateAssumeRolePolicyCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { isNotFound } from '../core/errors.js';
import type { Ctx, FieldChange, ResourceKind, ResourceRecord } from '../core/types.js';
import { K, type RoleName } from './lib/keys.js';
import { canonicalPolicy, decodePolicy, samePolicy, type PolicyDocument } from './lib/policies.js';
import { stackRoleName, stackRoles, stackTrustPolicy } from './lib/scheduler.js';
import { isOurs, resourceTags, tagList, tagRecord } from './lib/tags.js';

export interface RoleDesired {
  name: string;
  trustPolicy: PolicyDocument;
  /** Managed policy ARNs, sorted. Empty by default: permissions come from the inline policy. */
  managedPolicies: string[];
  permissionsBoundary?: string;
  tags: Record<string, string>;
}

export interface RoleParams {
  role: RoleName;
}

const DESCRIPTION: Record<RoleName, string> = {
  execution: 'ECS task execution role: pulls the image, writes logs, reads the secret',
  task: 'ECS task role: the batch job itself',
  events: 'EventBridge role: starts the scheduled ECS task',
  scheduler: 'EventBridge Scheduler role: starts the scheduled ECS task, writes failed invocations to the dead-letter queue',
};

async function getRole(ctx: Ctx, name: string): Promise<Role | undefined> {
  try {
    return (await ctx.aws.iam.send(new GetRoleCommand({ RoleName: name }))).Role;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Every page of a role's attached managed policies (a role can have up to 20). */
async function attachedPolicies(ctx: Ctx, name: string): Promise<string[]> {
  const arns: string[] = [];
  let Marker: string | undefined;
  do {
    const out = await ctx.aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name, Marker }));
    arns.push(...(out.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? ''));
    Marker = out.IsTruncated ? out.Marker : undefined;
  } while (Marker);
  return arns.sort();
}

/** An IAM role of the stack. */
export const iamRole: ResourceKind<RoleDesired, RoleParams> = {
  kind: 'iam.role',
  label: 'IAM role',
  dependsOn: [],
  costly: false,

  nodes: (config) => stackRoles(config).map((role) => ({ key: K.role(role), deps: [], params: { role } })),

  desired: (ctx, node) => ({
    name: stackRoleName(ctx, node.params.role),
    trustPolicy: stackTrustPolicy(ctx, node.params.role),
    managedPolicies: [],
    permissionsBoundary: ctx.config.iam.permissionsBoundary,
    tags: resourceTags(ctx, node.key),
  }),

  async find(ctx, node, recorded) {
    let role = recorded ? await getRole(ctx, recorded.id) : undefined;
    const viaRecord = !!role;
    const name = stackRoleName(ctx, node.params.role);
    if (!role && recorded?.id !== name) role = await getRole(ctx, name);
    if (!role?.RoleName || !role.Arn) return undefined;
    const tags = tagRecord(role.Tags);
    return {
      record: { kind: 'iam.role', id: role.RoleName, arn: role.Arn },
      owned: viaRecord || isOurs(ctx, tags),
      observed: {
        name: role.RoleName,
        trustPolicy: decodePolicy(role.AssumeRolePolicyDocument) ?? { Version: '2012-10-17', Statement: [] },
        managedPolicies: await attachedPolicies(ctx, role.RoleName),
        permissionsBoundary: role.PermissionsBoundary?.PermissionsBoundaryArn,
        tags,
      },
    };
  },

  async create(ctx, node, d) {
    const out = await ctx.aws.iam.send(
      new CreateRoleCommand({
        RoleName: d.name,
        AssumeRolePolicyDocument: JSON.stringify(d.trustPolicy),
        Description: DESCRIPTION[node.params.role],
        PermissionsBoundary: d.permissionsBoundary,
        Tags: tagList(d.tags),
      }),
    );
    for (const PolicyArn of d.managedPolicies) await ctx.aws.iam.send(new AttachRolePolicyCommand({ RoleName: d.name, PolicyArn }));
    // IAM itself is eventually consistent too: wait until a read sees the role. Other services see it
    // later still; the engine retries their steps on the errors isIamPropagationError recognises.
    const role = await ctx.waitFor(`IAM role ${d.name}`, () => getRole(ctx, d.name), { budgetMs: 60_000, intervalMs: 2000 });
    return { kind: 'iam.role', id: d.name, arn: role.Arn ?? out.Role?.Arn };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    if (!samePolicy(d.trustPolicy, o.trustPolicy)) {
      changes.push({ field: 'trustPolicy', from: canonicalPolicy(o.trustPolicy), to: canonicalPolicy(d.trustPolicy) });
    }
    const want = [...d.managedPolicies].sort();
    const have = [...o.managedPolicies].sort();
    if (JSON.stringify(want) !== JSON.stringify(have)) changes.push({ field: 'managedPolicies', from: have, to: want });
    if ((d.permissionsBoundary ?? null) !== (o.permissionsBoundary ?? null)) {
      changes.push({ field: 'permissionsBoundary', from: o.permissionsBoundary, to: d.permissionsBoundary });
    }
    // Only our keys: tags others add to the role are left alone.
    for (const [k, v] of Object.entries(d.tags)) if (o.tags[k] !== v) changes.push({ field: `tags.${k}`, from: o.tags[k], to: v });
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    const RoleName = found.record.id;
    const fields = new Set(changes.map((c) => c.field));
    if (fields.has('trustPolicy')) {
      await ctx.aws.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName, PolicyDocument: JSON.stringify(d.trustPolicy) }));
    }
    if (fields.has('managedPolicies')) {
      for (const PolicyArn of found.observed.managedPolicies.filter((a) => !d.managedPolicies.includes(a))) {
        await ctx.aws.iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn }));
      }
      for (const PolicyArn of d.managedPolicies.filter((a) => !found.observed.managedPolicies.includes(a))) {
        await ctx.aws.iam.send(new AttachRolePolicyCommand({ RoleName, PolicyArn }));
      }
    }
    if (fields.has('permissionsBoundary')) {
      if (d.permissionsBoundary) await ctx.aws.iam.send(new PutRolePermissionsBoundaryCommand({ RoleName, PermissionsBoundary: d.permissionsBoundary }));
      else await ctx.aws.iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName }));
    }
    const tagChanges = changes.filter((c) => c.field.startsWith('tags.'));
    if (tagChanges.length) {
      await ctx.aws.iam.send(new TagRoleCommand({ RoleName, Tags: tagChanges.map((c) => ({ Key: c.field.slice(5), Value: String(c.to) })) }));
    }
  },

  async delete(ctx, record: ResourceRecord) {
    const RoleName = record.id;
    try {
      // DeleteRole refuses (DeleteConflict) while inline policies or attachments remain. The inline
      // policy node is normally deleted first, but a stray policy or attachment must not block `down`.
      const inline = await ctx.aws.iam.send(new ListRolePoliciesCommand({ RoleName }));
      for (const PolicyName of inline.PolicyNames ?? []) await ctx.aws.iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName }));
      for (const PolicyArn of await attachedPolicies(ctx, RoleName)) await ctx.aws.iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn }));
      await ctx.aws.iam.send(new DeleteRoleCommand({ RoleName }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
};
