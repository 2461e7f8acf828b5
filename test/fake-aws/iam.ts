import {
  IAMClient,
  CreateRoleCommand,
  GetRoleCommand,
  DeleteRoleCommand,
  UpdateAssumeRolePolicyCommand,
  TagRoleCommand,
  UntagRoleCommand,
  ListRoleTagsCommand,
  PutRolePolicyCommand,
  GetRolePolicyCommand,
  DeleteRolePolicyCommand,
  ListRolePoliciesCommand,
  AttachRolePolicyCommand,
  DetachRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  PutRolePermissionsBoundaryCommand,
  DeleteRolePermissionsBoundaryCommand,
  GetAccountAuthorizationDetailsCommand,
} from '@aws-sdk/client-iam';
import { awsError, recordToTags, tagsToRecord, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

interface Role {
  name: string;
  id: string;
  arn: string;
  path: string;
  description?: string;
  trust: string;
  tags: Record<string, string>;
  boundary?: string;
  inline: Map<string, string>;
  attached: Set<string>;
  createdAt: number;
}

/** Strict JSON parse of a policy document, failing like IAM does. */
function parsePolicy(doc: string | undefined): unknown {
  try {
    const v = JSON.parse(doc ?? '');
    if (!v || typeof v !== 'object' || !('Statement' in v)) throw new Error('no Statement');
    return v;
  } catch {
    return awsError('MalformedPolicyDocument', 'Syntax errors in policy.', 400);
  }
}

/** IAM returns documents URL-encoded (RFC 3986), which the SDK hands over as is. */
const encode = (doc: string) => encodeURIComponent(doc);

/**
 * IAM: roles, their trust policy, tags, inline policies, managed policy attachments and permissions
 * boundary. Models propagation delay: `propagationMs` after CreateRole, other services' fakes refuse the
 * role (ask `isRolePropagated`).
 */
export class FakeIam {
  readonly roles = new Map<string, Role>();
  /** How long a new role stays invisible to ECS and EventBridge (ms, per core.now()). */
  propagationMs = 0;
  /**
   * The most roles one GetAccountAuthorizationDetails page holds whatever MaxItems asks ("IAM might return
   * fewer than the MaxItems number of results even when there are more results available"): tests lower
   * it to make the product page.
   */
  detailsPageCap = 1000;

  constructor(readonly core: FakeAwsCore) {
    core.peers.set('iam', this);
    const role = (name: string | undefined): Role =>
      this.roles.get(name ?? '') ?? awsError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
    const roleOut = (r: Role) => ({
      RoleName: r.name,
      RoleId: r.id,
      Arn: r.arn,
      Path: r.path,
      CreateDate: new Date(r.createdAt),
      AssumeRolePolicyDocument: encode(r.trust),
      Description: r.description,
      MaxSessionDuration: 3600,
      Tags: r.tags && Object.keys(r.tags).length ? recordToTags(r.tags) : undefined,
      PermissionsBoundary: r.boundary
        ? { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: r.boundary }
        : undefined,
      RoleLastUsed: {},
    });
    const checkPolicyArn = (arn: string | undefined) => {
      if (!/^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/.+/.test(arn ?? ''))
        awsError('InvalidInput', `ARN ${arn} is not valid.`, 400);
    };
    core.register({
      name: 'iam',
      client: IAMClient,
      ops: {
        CreateRole: {
          command: CreateRoleCommand,
          handle: (i) => {
            if (!/^[\w+=,.@-]{1,64}$/.test(i.RoleName ?? ''))
              awsError(
                'ValidationError',
                `1 validation error detected: Value '${i.RoleName}' at 'roleName' failed to satisfy constraint`,
                400,
              );
            if (this.roles.has(i.RoleName))
              awsError('EntityAlreadyExists', `Role with name ${i.RoleName} already exists.`, 409);
            parsePolicy(i.AssumeRolePolicyDocument);
            if (i.PermissionsBoundary) checkPolicyArn(i.PermissionsBoundary);
            const path = i.Path ?? '/';
            const r: Role = {
              name: i.RoleName,
              id: core.newId('AROA', 17).replace('-', ''),
              path,
              arn: `arn:${core.partition}:iam::${core.account}:role${path}${i.RoleName}`,
              description: i.Description,
              trust: i.AssumeRolePolicyDocument,
              tags: tagsToRecord(i.Tags),
              boundary: i.PermissionsBoundary,
              inline: new Map(),
              attached: new Set(),
              createdAt: core.now(),
            };
            this.roles.set(r.name, r);
            core.label(r.arn, r.tags['batchctl:logical'] ?? r.name);
            return { Role: roleOut(r) };
          },
        },
        GetRole: { command: GetRoleCommand, handle: (i) => ({ Role: roleOut(role(i.RoleName)) }) },
        DeleteRole: {
          command: DeleteRoleCommand,
          handle: (i) => {
            const r = role(i.RoleName);
            if (r.inline.size) awsError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
            if (r.attached.size)
              awsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.', 409);
            this.roles.delete(r.name);
            return {};
          },
        },
        UpdateAssumeRolePolicy: {
          command: UpdateAssumeRolePolicyCommand,
          handle: (i) => {
            const r = role(i.RoleName);
            parsePolicy(i.PolicyDocument);
            r.trust = i.PolicyDocument;
            return {};
          },
        },
        TagRole: {
          command: TagRoleCommand,
          handle: (i) => {
            Object.assign(role(i.RoleName).tags, tagsToRecord(i.Tags));
            return {};
          },
        },
        UntagRole: {
          command: UntagRoleCommand,
          handle: (i) => {
            const r = role(i.RoleName);
            for (const k of i.TagKeys ?? []) delete r.tags[k];
            return {};
          },
        },
        ListRoleTags: {
          command: ListRoleTagsCommand,
          handle: (i) => ({ Tags: recordToTags(role(i.RoleName).tags), IsTruncated: false }),
        },
        PutRolePolicy: {
          command: PutRolePolicyCommand,
          handle: (i) => {
            const r = role(i.RoleName);
            parsePolicy(i.PolicyDocument);
            r.inline.set(i.PolicyName, i.PolicyDocument);
            return {};
          },
        },
        GetRolePolicy: {
          command: GetRolePolicyCommand,
          handle: (i) => {
            const r = role(i.RoleName);
            const doc =
              r.inline.get(i.PolicyName) ??
              awsError('NoSuchEntity', `The role policy with name ${i.PolicyName} cannot be found.`, 404);
            return { RoleName: r.name, PolicyName: i.PolicyName, PolicyDocument: encode(doc) };
          },
        },
        DeleteRolePolicy: {
          command: DeleteRolePolicyCommand,
          handle: (i) => {
            const r = role(i.RoleName);
            if (!r.inline.delete(i.PolicyName))
              awsError('NoSuchEntity', `The role policy with name ${i.PolicyName} cannot be found.`, 404);
            return {};
          },
        },
        ListRolePolicies: {
          command: ListRolePoliciesCommand,
          handle: (i) => ({ PolicyNames: [...role(i.RoleName).inline.keys()].sort(), IsTruncated: false }),
        },
        AttachRolePolicy: {
          command: AttachRolePolicyCommand,
          handle: (i) => {
            const r = role(i.RoleName);
            checkPolicyArn(i.PolicyArn);
            r.attached.add(i.PolicyArn);
            return {};
          },
        },
        DetachRolePolicy: {
          command: DetachRolePolicyCommand,
          handle: (i) => {
            const r = role(i.RoleName);
            if (!r.attached.delete(i.PolicyArn)) awsError('NoSuchEntity', `Policy ${i.PolicyArn} was not found.`, 404);
            return {};
          },
        },
        // The account's snapshot, roles only (Filter Role), sorted by name, paged by an opaque offset marker.
        GetAccountAuthorizationDetails: {
          command: GetAccountAuthorizationDetailsCommand,
          handle: (i) => {
            const max = i.MaxItems ?? 100;
            if (max < 1 || max > 1000)
              awsError(
                'ValidationError',
                `1 validation error detected: Value '${max}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000`,
                400,
              );
            const filter: string[] = i.Filter ?? ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'];
            const roles = filter.includes('Role')
              ? [...this.roles.values()].sort((a, b) => a.name.localeCompare(b.name))
              : [];
            const start = i.Marker ? Number(Buffer.from(i.Marker, 'base64').toString()) : 0;
            if (!Number.isInteger(start) || start < 0) awsError('ValidationError', 'Invalid Marker.', 400);
            const page = roles.slice(start, start + Math.min(max, this.detailsPageCap));
            const next = start + page.length;
            return {
              RoleDetailList: page.map((r) => {
                const out = roleOut(r);
                return {
                  RoleName: out.RoleName,
                  RoleId: out.RoleId,
                  Arn: out.Arn,
                  Path: out.Path,
                  CreateDate: out.CreateDate,
                  AssumeRolePolicyDocument: out.AssumeRolePolicyDocument,
                  Tags: out.Tags ?? [],
                  PermissionsBoundary: out.PermissionsBoundary,
                  InstanceProfileList: [],
                  RoleLastUsed: {},
                  RolePolicyList: [...r.inline]
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([PolicyName, doc]) => ({ PolicyName, PolicyDocument: encode(doc) })),
                  AttachedManagedPolicies: [...r.attached]
                    .sort()
                    .map((a) => ({ PolicyArn: a, PolicyName: a.split('/').pop() })),
                };
              }),
              UserDetailList: [],
              GroupDetailList: [],
              Policies: [],
              IsTruncated: next < roles.length,
              ...(next < roles.length ? { Marker: Buffer.from(String(next)).toString('base64') } : {}),
            };
          },
        },
        ListAttachedRolePolicies: {
          command: ListAttachedRolePoliciesCommand,
          handle: (i) => ({
            AttachedPolicies: [...role(i.RoleName).attached]
              .sort()
              .map((a) => ({ PolicyArn: a, PolicyName: a.split('/').pop() })),
            IsTruncated: false,
          }),
        },
        PutRolePermissionsBoundary: {
          command: PutRolePermissionsBoundaryCommand,
          handle: (i) => {
            const r = role(i.RoleName);
            checkPolicyArn(i.PermissionsBoundary);
            r.boundary = i.PermissionsBoundary;
            return {};
          },
        },
        DeleteRolePermissionsBoundary: {
          command: DeleteRolePermissionsBoundaryCommand,
          handle: (i) => {
            const r = role(i.RoleName);
            // IAM answers NoSuchEntity when the role has no boundary to remove.
            if (!r.boundary)
              awsError('NoSuchEntity', `The role with name ${r.name} does not have a permissions boundary.`, 404);
            r.boundary = undefined;
            return {};
          },
        },
      },
    });
  }

  /** The role with this ARN, if it exists. */
  roleByArn(arn: string | undefined): Role | undefined {
    return [...this.roles.values()].find((r) => r.arn === arn);
  }

  /** True when the role exists and other services can already see it. */
  isRolePropagated(arn: string | undefined): boolean {
    const r = this.roleByArn(arn);
    return !!r && this.core.now() >= r.createdAt + this.propagationMs;
  }

  /**
   * Whether a role's identity policies allow `action` on `resource`: its inline policies' Allow
   * statements (Action and Resource globs), or an attached AWS-managed execution policy for ECR actions.
   * With a request `context` (the condition keys AWS sets for that call: `ecs:cluster`,
   * `ecs:CreateAction`, `iam:PassedToService`, multi-valued `kms:ResourceAliases`...), each statement's
   * Condition must hold too (the operators the stack's documents use); without one, conditions are not
   * evaluated. Deny is not modelled.
   */
  allows(
    roleArn: string | undefined,
    action: string,
    resource: string,
    context?: Record<string, string | string[] | undefined>,
  ): boolean {
    const r = this.roleByArn(roleArn);
    if (!r) return false;
    if (
      action.startsWith('ecr:') &&
      [...r.attached].some((a) => a.endsWith(':policy/service-role/AmazonECSTaskExecutionRolePolicy'))
    )
      return true;
    for (const doc of r.inline.values()) {
      const st = (JSON.parse(doc) as { Statement: unknown }).Statement;
      for (const x of (Array.isArray(st) ? st : [st]) as PolicyStatementLike[]) {
        if (x.Effect !== 'Allow' || !list(x.Action).some((a) => glob(a, action, true))) continue;
        if (!list(x.Resource).some((res) => glob(res, resource))) continue;
        if (!context || conditionHolds(x.Condition, context)) return true;
      }
    }
    return false;
  }

  /** Roles and their inline policies, documents parsed, ARNs of labelled resources as references. */
  inventory(): InventoryEntry[] {
    const out: InventoryEntry[] = [];
    for (const r of this.roles.values()) {
      const key = r.tags['batchctl:logical'] ?? r.name;
      out.push({
        type: 'iam.role',
        key,
        settings: {
          name: r.name,
          trust: JSON.parse(r.trust),
          managedPolicies: [...r.attached].sort(),
          permissionsBoundary: r.boundary,
          tags: r.tags,
          inlinePolicies: [...r.inline.keys()].sort(),
        },
      });
      for (const [name, doc] of r.inline) {
        out.push({
          type: 'iam.role-policy',
          key: `${key}/${name}`,
          settings: { role: this.core.ref(r.arn), document: this.refs(JSON.parse(doc)) },
        });
      }
    }
    return out;
  }

  private refs(v: unknown): unknown {
    if (typeof v === 'string') return this.core.ref(v);
    if (Array.isArray(v)) return v.map((x) => this.refs(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.refs(x)]));
    return v;
  }
}

type PolicyStatementLike = {
  Effect?: string;
  Action?: unknown;
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

/** `*` and `?` globbing, as IAM matches Action (case-insensitively) and Resource. */
function glob(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = `^${pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')}$`;
  return new RegExp(re, caseInsensitive ? 'i' : '').test(value);
}

/**
 * Whether a statement's Condition holds for a request context: every key of every operator must be in
 * the context (IAM fails a condition on a key the request does not carry) and match one of the values.
 */
export function conditionHolds(
  cond: Record<string, Record<string, unknown>> | undefined,
  ctx: Record<string, string | string[] | undefined>,
): boolean {
  for (const [op, kv] of Object.entries(cond ?? {})) {
    for (const [k, want] of Object.entries(kv)) {
      const have = list(ctx[k]);
      if (!have.length) return false;
      const values = list(want);
      const base = op.replace(/^ForAnyValue:/, '');
      const match =
        base === 'StringEquals' || base === 'ArnEquals'
          ? (v: string) => values.includes(v)
          : base === 'StringLike' || base === 'ArnLike'
            ? (v: string) => values.some((w) => glob(w, v))
            : undefined;
      if (!match) throw new Error(`the fake IAM does not evaluate the condition operator ${op}`);
      // A single-valued operator on a multi-valued key is what IAM's docs warn against: not modelled.
      if (op.startsWith('ForAnyValue:') ? !have.some(match) : have.length !== 1 || !match(have[0]!)) return false;
    }
  }
  return true;
}
