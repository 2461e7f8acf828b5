/**
 * The stack's three IAM roles (ECS task execution, ECS task, and the trigger's: EventBridge or Scheduler). Permissions
 * live in each
 * role's inline policy (iam-role-policy.ts); by default no managed policy is attached at all, and any
 * attachment found on the role is drift that `up` detaches.
 */
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  ListRolePoliciesCommand,
  PutRolePermissionsBoundaryCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { awsErrorCode, isNotFound } from '../base/errors.js';
import type { Ctx, FieldChange, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K, jobKey, type RoleName } from '../model/keys.js';
import { jobOf } from '../model/jobs.js';
import { canonicalPolicy, decodePolicy, samePolicy, type PolicyDocument } from '../model/policies.js';
import { ownInlinePolicyNames, stackRoleName, stackRoles, stackTrustPolicy, type RoleRef } from '../model/scheduler.js';
import { hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges, tagList, tagRecord } from './lib/tags.js';
import { createUnique, retryWhile } from './lib/create.js';
import { convergeTags, ifExists, unlessGone } from './lib/aws-calls.js';
import { attachedPolicies, getRole, prefetchRoles, readRole, type RoleRead } from './lib/iam-roles.js';

export interface RoleDesired {
  name: string;
  trustPolicy: PolicyDocument;
  /** Managed policy ARNs, sorted. Empty by default: permissions come from the inline policy. */
  managedPolicies: string[];
  /**
   * Inline policies on the role that batchctl did not put there (observed; desired: none). batchctl's own
   * inline policy is a node of its own (iam-role-policy.ts); anything else grants access behind the config.
   */
  extraInlinePolicies: string[];
  permissionsBoundary?: string;
  tags: Record<string, string>;
}

export type RoleParams = RoleRef;

/** The node key of a role: the execution role is the stack's, the others their job's. */
export const roleKey = (config: Parameters<typeof jobOf>[0], r: RoleRef): string =>
  r.job === undefined ? K.role(r.role) : jobKey(jobOf(config, r.job), K.role(r.role));

const DESCRIPTION: Record<RoleName, string> = {
  execution: 'ECS task execution role: pulls the image, writes logs, reads the secret',
  task: 'ECS task role: the batch job itself',
  events: 'EventBridge role: starts the scheduled ECS task',
  scheduler:
    'EventBridge Scheduler role: starts the scheduled ECS task, writes failed invocations to the dead-letter queue',
  states: "Step Functions role: runs and stops the job's ECS task with its timeout and retries",
};

/** A role's record, ownership and settings, from what was read of it (lib/iam-roles.ts). */
function foundOf(ctx: Ctx, { role, attached, inlineNames }: RoleRead, ref: RoleRef) {
  const tags = tagRecord(role.Tags);
  const own = ownershipOf(ctx, tags);
  const batchctls = new Set(ownInlinePolicyNames(ctx, ref, role.RoleName));
  return {
    record: { kind: 'iam.role', id: role.RoleName, arn: role.Arn },
    ...own,
    observed: {
      name: role.RoleName,
      trustPolicy: decodePolicy(role.AssumeRolePolicyDocument) ?? { Version: '2012-10-17', Statement: [] },
      // Another stack's role is never compared.
      managedPolicies: own.owned ? attached : [],
      extraInlinePolicies: own.owned ? inlineNames.filter((n) => !batchctls.has(n)) : [],
      permissionsBoundary: role.PermissionsBoundary?.PermissionsBoundaryArn,
      tags: managedTags(ctx, tags),
    },
  };
}

/** Its attachments are worth reading (when each role is read on its own) only for a role of ours. */
const ours = (ctx: Ctx) => (role: Role) => ownershipOf(ctx, tagRecord(role.Tags)).owned;

/** An IAM role of the stack. */
export const iamRole: ResourceKind<RoleDesired, RoleParams> = {
  kind: 'iam.role',
  label: 'IAM role',
  dependsOn: [],
  costly: false,

  nodes: (config) => stackRoles(config).map((r) => ({ key: roleKey(config, r), deps: [], params: r })),

  desired: (ctx, node) => ({
    name: stackRoleName(ctx, node.params),
    trustPolicy: stackTrustPolicy(ctx, node.params.role),
    managedPolicies: [],
    extraInlinePolicies: [],
    permissionsBoundary:
      node.params.job === undefined
        ? ctx.config.iam.permissionsBoundary
        : jobOf(ctx.config, node.params.job).iam.permissionsBoundary,
    tags: resourceTags(ctx, node.key),
  }),

  // The account's roles with their policies, in the walk's first round (lib/iam-roles.ts).
  prefetch: (ctx) => prefetchRoles(ctx),

  async find(ctx, node, recorded) {
    const name = stackRoleName(ctx, node.params);
    let read = recorded ? await readRole(ctx, recorded.id, ours(ctx)) : undefined;
    if (!read && recorded?.id !== name) read = await readRole(ctx, name, ours(ctx));
    return read && foundOf(ctx, read, node.params);
  },

  async create(ctx, node, d) {
    // Role names are unique: EntityAlreadyExists right after our attempt is that attempt's role (the SDK
    // resent a call whose answer was lost), adopted when it carries our tag.
    const created = await createUnique(
      'IAM role',
      d.name,
      async () =>
        (
          await ctx.aws.iam.send(
            new CreateRoleCommand({
              RoleName: d.name,
              AssumeRolePolicyDocument: JSON.stringify(d.trustPolicy),
              Description: DESCRIPTION[node.params.role],
              PermissionsBoundary: d.permissionsBoundary,
              Tags: tagList(d.tags),
            }),
          )
        ).Role,
      (err) => awsErrorCode(err) === 'EntityAlreadyExists',
      async () => {
        const r = await getRole(ctx, d.name);
        return r && { ...ownershipOf(ctx, tagRecord(r.Tags)), value: r };
      },
    );
    // CreateRole answers with the role's ARN: nothing is read back. IAM is eventually consistent: what
    // uses the role right away retries while it is not visible yet (PutRolePolicy on NoSuchEntity here and
    // in iam-role-policy.ts; other services' refusals through the engine's isIamPropagationError).
    for (const PolicyArn of d.managedPolicies) {
      await retryWhile(
        ctx,
        `IAM role ${d.name} to be visible`,
        () => ctx.aws.iam.send(new AttachRolePolicyCommand({ RoleName: d.name, PolicyArn })),
        isNotFound,
      );
    }
    return {
      kind: 'iam.role',
      id: d.name,
      arn: created?.Arn ?? `arn:${ctx.partition}:iam::${ctx.account}:role/${d.name}`,
    };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    if (!samePolicy(d.trustPolicy, o.trustPolicy)) {
      changes.push({ field: 'trustPolicy', from: canonicalPolicy(o.trustPolicy), to: canonicalPolicy(d.trustPolicy) });
    }
    const want = [...d.managedPolicies].sort();
    const have = [...o.managedPolicies].sort();
    if (JSON.stringify(want) !== JSON.stringify(have)) {
      const attached = have.filter((a) => !want.includes(a));
      changes.push({
        field: 'managedPolicies',
        from: have,
        to: want,
        ...(attached.length ? { removes: attached.map((a) => `managed policy ${a} attached to the role`) } : {}),
      });
    }
    const extra = o.extraInlinePolicies ?? [];
    if (extra.length) {
      changes.push({
        field: 'inlinePolicies',
        from: extra,
        to: [],
        removes: extra.map((n) => `inline policy ${n} on the role`),
      });
    }
    if ((d.permissionsBoundary ?? null) !== (o.permissionsBoundary ?? null)) {
      changes.push({ field: 'permissionsBoundary', from: o.permissionsBoundary, to: d.permissionsBoundary });
    }
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    const RoleName = found.record.id;
    const fields = new Set(changes.map((c) => c.field));
    // One call at a time: IAM refuses simultaneous changes to one entity (ConcurrentModification, "multiple
    // requests to change this object were submitted simultaneously": IAM API reference, common errors).
    if (fields.has('trustPolicy')) {
      await ctx.aws.iam.send(
        new UpdateAssumeRolePolicyCommand({ RoleName, PolicyDocument: JSON.stringify(d.trustPolicy) }),
      );
    }
    if (fields.has('managedPolicies')) {
      for (const PolicyArn of found.observed.managedPolicies.filter((a) => !d.managedPolicies.includes(a))) {
        await ctx.aws.iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn }));
      }
      for (const PolicyArn of d.managedPolicies.filter((a) => !found.observed.managedPolicies.includes(a))) {
        await ctx.aws.iam.send(new AttachRolePolicyCommand({ RoleName, PolicyArn }));
      }
    }
    if (fields.has('inlinePolicies')) {
      for (const PolicyName of found.observed.extraInlinePolicies ?? []) {
        await unlessGone(ctx.aws.iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName })));
      }
    }
    if (fields.has('permissionsBoundary')) {
      if (d.permissionsBoundary)
        await ctx.aws.iam.send(
          new PutRolePermissionsBoundaryCommand({ RoleName, PermissionsBoundary: d.permissionsBoundary }),
        );
      else await ctx.aws.iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName }));
    }
    if (hasTagChange(changes)) {
      await convergeTags(d.tags, found.observed.tags, {
        tag: (set) => ctx.aws.iam.send(new TagRoleCommand({ RoleName, Tags: tagList(set) })),
        untag: (keys) => ctx.aws.iam.send(new UntagRoleCommand({ RoleName, TagKeys: keys })),
      });
    }
  },

  async delete(ctx, record: ResourceRecord) {
    const RoleName = record.id;
    // Each call on its own: a call resent after a lost answer meets NoSuchEntity for what it already did,
    // which must not skip the calls after it.
    // DeleteRole refuses (DeleteConflict) while inline policies or attachments remain. The inline
    // policy node is normally deleted first, but a stray policy or attachment must not block `down`.
    const inline = await ifExists(ctx.aws.iam.send(new ListRolePoliciesCommand({ RoleName })));
    if (!inline) return;
    for (const PolicyName of inline.PolicyNames ?? []) {
      await unlessGone(ctx.aws.iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName })));
    }
    const attached = (await ifExists(attachedPolicies(ctx, RoleName))) ?? [];
    for (const PolicyArn of attached) {
      await unlessGone(ctx.aws.iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn })));
    }
    await unlessGone(ctx.aws.iam.send(new DeleteRoleCommand({ RoleName })));
  },

  async ownerOf(ctx, record) {
    const role = await getRole(ctx, record.id);
    return role && ownershipOf(ctx, tagRecord(role.Tags));
  },
};
