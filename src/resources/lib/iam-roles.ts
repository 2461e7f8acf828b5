/**
 * Reading the stack's IAM roles and their policies. Role by role it takes a GetRole, a
 * ListAttachedRolePolicies, a ListRolePolicies and a GetRolePolicy each (four calls a role, some 300 at 50 jobs);
 * GetAccountAuthorizationDetails returns every role of the account with its trust policy, tags, boundary,
 * attached managed policies and inline policies (name and document) in one call per 1,000 roles (IAM API
 * reference: "a snapshot of the configuration of IAM permissions ... in your account", Filter `Role`,
 * MaxItems up to 1000, documents RFC 3986-encoded as GetRole's). So a walk reads the account's roles once,
 * and every role and inline policy node takes its part of that answer.
 *
 * The price: the answer grows with the account's roles (an account with thousands reads several pages),
 * and the permission names no resource. Without the permission (AccessDenied: an operator policy printed by
 * an older batchctl), each role is read on its own, as before, with one warning per command.
 */
import {
  GetAccountAuthorizationDetailsCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { awsErrorCode } from '../../base/errors.js';
import type { Ctx } from '../../engine/types.js';
import { ifExists } from './aws-calls.js';

/** What batchctl reads of a role: the role itself and its attached managed policy ARNs, sorted. */
export interface RoleRead {
  role: Role & { RoleName: string; Arn: string };
  attached: string[];
  /** Its inline policies' names, sorted (one batchctl did not put there was added behind its back). */
  inlineNames: string[];
}

/** A role of the account snapshot, with its inline policies' documents by name (as IAM returns them). */
interface SnapshotRole extends RoleRead {
  inline: Map<string, string | undefined>;
}

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

/** Every role of the account, by name, read once per walk; undefined when the caller may not read them so. */
function accountRoles(ctx: Ctx): Promise<Map<string, SnapshotRole> | undefined> {
  return ctx.memo('iam:account-roles', async () => {
    const out = new Map<string, SnapshotRole>();
    let Marker: string | undefined;
    try {
      do {
        const page = await ctx.aws.iam.send(
          new GetAccountAuthorizationDetailsCommand({ Filter: ['Role'], MaxItems: 1000, Marker }),
        );
        for (const r of page.RoleDetailList ?? []) {
          if (!r.RoleName || !r.Arn) continue;
          out.set(r.RoleName, {
            role: {
              RoleName: r.RoleName,
              Arn: r.Arn,
              RoleId: r.RoleId,
              Path: r.Path,
              CreateDate: r.CreateDate,
              AssumeRolePolicyDocument: r.AssumeRolePolicyDocument,
              Tags: r.Tags,
              PermissionsBoundary: r.PermissionsBoundary,
            },
            attached: (r.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn ?? '').sort(),
            inline: new Map((r.RolePolicyList ?? []).map((p) => [p.PolicyName ?? '', p.PolicyDocument])),
            inlineNames: (r.RolePolicyList ?? []).map((p) => p.PolicyName ?? '').sort(),
          });
        }
        Marker = page.IsTruncated ? page.Marker : undefined;
      } while (Marker);
    } catch (err) {
      if (!DENIED.has(awsErrorCode(err))) throw err;
      ctx.reporter.warn(
        "iam:GetAccountAuthorizationDetails is not allowed: the stack's roles are read one by one (four calls each); " +
          '`batchctl policy` prints the policy that allows it',
      );
      return undefined;
    }
    return out;
  });
}

/** Start reading the account's roles (a kind's prefetch). */
export function prefetchRoles(ctx: Ctx): void {
  accountRoles(ctx).catch(() => undefined);
}

/** One role by name, on its own: GetRole (undefined when it does not exist). */
export async function getRole(ctx: Ctx, name: string): Promise<Role | undefined> {
  return ifExists(async () => (await ctx.aws.iam.send(new GetRoleCommand({ RoleName: name }))).Role);
}

/** Every page of a role's inline policy names, sorted. */
async function inlinePolicyNames(ctx: Ctx, name: string): Promise<string[]> {
  const names: string[] = [];
  let Marker: string | undefined;
  do {
    const out = await ctx.aws.iam.send(new ListRolePoliciesCommand({ RoleName: name, Marker }));
    names.push(...(out.PolicyNames ?? []));
    Marker = out.IsTruncated ? out.Marker : undefined;
  } while (Marker);
  return names.sort();
}

/** Every page of a role's attached managed policies (a role can have up to 20), sorted. */
export async function attachedPolicies(ctx: Ctx, name: string): Promise<string[]> {
  const arns: string[] = [];
  let Marker: string | undefined;
  do {
    const out = await ctx.aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name, Marker }));
    arns.push(...(out.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? ''));
    Marker = out.IsTruncated ? out.Marker : undefined;
  } while (Marker);
  return arns.sort();
}

/**
 * A role and its attached policies, from the walk's snapshot of the account's roles, else read on its own
 * (its attachments only when `attachments` says the caller needs them: another stack's role is not compared).
 */
export async function readRole(
  ctx: Ctx,
  name: string,
  attachments: (role: Role) => boolean = () => true,
): Promise<RoleRead | undefined> {
  const all = await accountRoles(ctx);
  if (all) return all.get(name);
  return ctx.memo(`iam:role:${name}`, async () => {
    const role = await getRole(ctx, name);
    if (!role?.RoleName || !role.Arn) return undefined;
    // Another stack's role is never compared: its policies are not read.
    const [attached, inlineNames] = attachments(role)
      ? await Promise.all([attachedPolicies(ctx, name), inlinePolicyNames(ctx, name)])
      : [[], []];
    return { role: role as RoleRead['role'], attached, inlineNames };
  });
}

/** An inline policy's document (as IAM returns it), undefined when the role or the policy does not exist. */
export async function readInlinePolicy(ctx: Ctx, roleName: string, policyName: string): Promise<string | undefined> {
  const all = await accountRoles(ctx);
  if (all) return all.get(roleName)?.inline.get(policyName);
  return ctx.memo(`iam:role-policy:${roleName}:${policyName}`, async () => {
    // NoSuchEntity covers both a missing policy and a missing role.
    const out = await ifExists(
      ctx.aws.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })),
    );
    return out && (out.PolicyDocument ?? '');
  });
}
