/**
 * The inline policy `<stack>-<role>` on each role: the role's only permissions (see model/policies.ts).
 * Inline policies cannot be tagged; one belongs to us when its role does.
 */
import { DeleteRolePolicyCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import type { Ctx, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { jobOf } from '../model/jobs.js';
import {
  bucketArn,
  canonicalPolicy,
  decodePolicy,
  samePolicy,
  type PolicyDocument,
  type PolicyStatement,
} from '../model/policies.js';
import { jobSecretStatements, jobSecrets } from '../model/secrets.js';
import { secretMeta } from './lib/job-secrets.js';
import {
  rolePolicyKey,
  rolePolicyName,
  stackInlinePolicy,
  stackPolicies,
  stackRoleName,
  type PolicyRef,
} from '../model/scheduler.js';
import { lockPrefixOf } from '../model/guard.js';
import { foundWith, inheritedOwnership, ownershipOf, tagRecord } from './lib/tags.js';
import { roleKey } from './iam-role.js';
import { getRole, readInlinePolicy } from './lib/iam-roles.js';
import { retryWhile } from './lib/create.js';
import type { StackConfig } from '../config/schema.js';
import { unlessGone } from './lib/aws-calls.js';
import { isNotFound } from '../base/errors.js';

/** Ours when its role is: the role's verdict from this walk, else its tags. */
const roleOwnership = (ctx: Ctx, roleNodeKey: string, roleName: string) =>
  inheritedOwnership(ctx, roleNodeKey, roleName, async () => {
    const role = await getRole(ctx, roleName);
    return role && ownershipOf(ctx, tagRecord(role.Tags));
  });

export interface RolePolicyDesired {
  roleName: string;
  policyName: string;
  document: PolicyDocument;
}

export type RolePolicyParams = PolicyRef;

export { rolePolicyKey };

/**
 * What a policy waits for: its role (AWS imposes it: the policy is put on the role), and the secret for the
 * execution role's (its ARN, which the document names, ends in a suffix AWS draws at creation). What else
 * a document names (repository, log group, bucket, cluster, roles, family, queue, state machine) has an ARN
 * derived from the config (model/policies.ts), and IAM accepts a policy naming what does not exist yet.
 */
function depsOf(config: StackConfig, r: PolicyRef): string[] {
  const own = roleKey(config, r);
  return r.job === undefined ? [own, K.secret] : [own];
}

const policyNameOf = rolePolicyName;

const splitId = (id: string) => {
  const i = id.indexOf(':');
  return { RoleName: id.slice(0, i), PolicyName: id.slice(i + 1) };
};

/** The role's name: from its record when the role step has run, else from the config (plan before create). */
const roleNameFor = (ctx: Ctx, r: PolicyRef) => ctx.maybeRecord(roleKey(ctx.config, r))?.id ?? stackRoleName(ctx, r);

/**
 * What the shared execution role may read of the job secrets: exactly every job's secrets and parameters,
 * and their customer-managed keys (model/secrets.ts). None without job secrets.
 */
async function jobSecretGrants(ctx: Ctx): Promise<PolicyStatement[]> {
  const grants = [];
  for (const job of ctx.config.jobs)
    for (const s of jobSecrets(job)) grants.push({ ref: s.ref, meta: await secretMeta(ctx, s.ref) });
  return jobSecretStatements(grants, { account: ctx.account, region: ctx.region, partition: ctx.partition });
}

/**
 * The role's document. The execution role's also grants the job secrets. With the duplicate-trigger guard on, a job's
 * task role may also create the
 * guard's lock objects under its job's lock prefix (and nothing else) even when its bucket access is
 * read-only: without it every scheduled run fails its claim with AccessDenied.
 */
async function documentFor(ctx: Ctx, r: PolicyRef): Promise<PolicyDocument> {
  const job = r.job === undefined ? undefined : jobOf(ctx.config, r.job);
  const doc = stackInlinePolicy(ctx, r.role, job, r.start);
  if (r.role === 'execution') return { ...doc, Statement: [...doc.Statement, ...(await jobSecretGrants(ctx))] };
  if (r.role !== 'task' || !job?.schedule.duplicateGuard) return doc;
  return {
    ...doc,
    Statement: [
      ...doc.Statement,
      {
        Sid: 'RunClaims',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: `${bucketArn(ctx)}/${lockPrefixOf(job)}*`,
      },
    ],
  };
}

/** The inline permissions policy of one of the stack's roles. */
export const iamRolePolicy: ResourceKind<RolePolicyDesired, RolePolicyParams> = {
  kind: 'iam.role-policy',
  label: 'IAM role policy',
  dependsOn: ['iam.role', 'secretsmanager.secret'],
  costly: false,

  nodes: (config) =>
    stackPolicies(config).map((r) => ({
      key: rolePolicyKey(config, r),
      deps: depsOf(config, r),
      partOf: [roleKey(config, r)],
      params: r,
    })),

  desired: async (ctx, node) => ({
    roleName: ctx.record(roleKey(ctx.config, node.params)).id,
    policyName: policyNameOf(ctx, node.params),
    document: await documentFor(ctx, node.params),
  }),

  async find(ctx, node, recorded) {
    const { RoleName, PolicyName } = recorded
      ? splitId(recorded.id)
      : { RoleName: roleNameFor(ctx, node.params), PolicyName: policyNameOf(ctx, node.params) };
    // From the walk's read of the account's roles (lib/iam-roles.ts), or GetRolePolicy.
    const doc = await readInlinePolicy(ctx, RoleName, PolicyName);
    if (doc === undefined) return undefined;
    // Not taggable: ours when its role is.
    return foundWith(await roleOwnership(ctx, roleKey(ctx.config, node.params), RoleName), {
      record: { kind: 'iam.role-policy', id: `${RoleName}:${PolicyName}` },
      observed: {
        roleName: RoleName,
        policyName: PolicyName,
        document: decodePolicy(doc) ?? { Version: '', Statement: [] },
      },
    });
  },

  async create(ctx, _node, d) {
    // A role created a moment ago may not be visible to IAM's own reads yet (eventual consistency): NoSuchEntity
    // is retried, within the budget, instead of reading the role back after creating it.
    await retryWhile(
      ctx,
      `IAM role ${d.roleName} to be visible`,
      () =>
        ctx.aws.iam.send(
          new PutRolePolicyCommand({
            RoleName: d.roleName,
            PolicyName: d.policyName,
            PolicyDocument: JSON.stringify(d.document),
          }),
        ),
      isNotFound,
    );
    return { kind: 'iam.role-policy', id: `${d.roleName}:${d.policyName}` };
  },

  diff(d, o) {
    const changes = [];
    if (d.roleName !== o.roleName || d.policyName !== o.policyName) {
      changes.push({
        field: 'name',
        from: `${o.roleName}:${o.policyName}`,
        to: `${d.roleName}:${d.policyName}`,
        replace: true,
      });
    }
    if (!samePolicy(d.document, o.document))
      changes.push({ field: 'document', from: canonicalPolicy(o.document), to: canonicalPolicy(d.document) });
    return changes;
  },

  async update(ctx, _node, found, d) {
    const { RoleName, PolicyName } = splitId(found.record.id);
    // PutRolePolicy replaces the whole document in place.
    await ctx.aws.iam.send(
      new PutRolePolicyCommand({ RoleName, PolicyName, PolicyDocument: JSON.stringify(d.document) }),
    );
  },

  async delete(ctx, record) {
    await unlessGone(ctx.aws.iam.send(new DeleteRolePolicyCommand(splitId(record.id))));
  },

  ownerOf: (ctx, record) => roleOwnership(ctx, '', splitId(record.id).RoleName),
};
