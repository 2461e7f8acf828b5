/**
 * The CloudWatch Logs resource policy that lets EventBridge write the history rule's events to the
 * history log group (model/history.ts). One per stack, named `batchctl-<stack>-history`.
 *
 * Resource policies are account-wide (10 per region), have a name but no ARN and no tags. Ownership
 * therefore comes from the document: the policy is ours when it names only our history group (and the
 * group is ours). A policy of our name that names anything else is left alone.
 */
import { DeleteResourcePolicyCommand, DescribeResourcePoliciesCommand, PutResourcePolicyCommand, type ResourcePolicy } from '@aws-sdk/client-cloudwatch-logs';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, Ownership, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { decodePolicy, samePolicy, type PolicyDocument } from '../model/policies.js';
import { historyLogPolicy, historyPolicyName, historyPolicyResources, namesOnly } from '../model/history.js';

const KIND = 'logs.resource-policy';

export interface LogPolicyDesired {
  name: string;
  document: PolicyDocument;
}

/** The account's policies: DescribeResourcePolicies lists them (at most 10, in pages of up to 50), once per walk. */
function accountPolicies(ctx: Ctx): Promise<ResourcePolicy[]> {
  return ctx.memo('logs:resource-policies', async () => {
    const all: ResourcePolicy[] = [];
    let nextToken: string | undefined;
    do {
      const out = await ctx.aws.logs.send(new DescribeResourcePoliciesCommand({ nextToken, limit: 50 }));
      all.push(...(out.resourcePolicies ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    return all;
  });
}

/** A policy by name. */
async function describe(ctx: Ctx, name: string): Promise<ResourcePolicy | undefined> {
  return (await accountPolicies(ctx)).find((p) => p.policyName === name);
}

/** Ours when the document names only our group, and the group is ours (or not assessed in this walk). */
function ownership(ctx: Ctx, p: ResourcePolicy): Ownership {
  let doc: PolicyDocument | undefined;
  try {
    doc = decodePolicy(p.policyDocument);
  } catch {
    doc = undefined;
  }
  if (!namesOnly(doc, historyPolicyResources(ctx))) return { owned: false, owner: null };
  const group = ctx.assessed(K.historyLogGroup);
  return group && !group.owned ? { owned: false, owner: group.owner ?? null } : { owned: true };
}

const recordOf = (name: string): ResourceRecord => ({ kind: KIND, id: name });

export const logsResourcePolicy: ResourceKind<LogPolicyDesired> = {
  kind: KIND,
  label: 'Logs resource policy',
  dependsOn: ['logs.log-group'],
  costly: false,

  // After the group: the policy is ours only if the group is (this walk's verdict on it), not for AWS's sake.
  nodes: () => [{ key: K.historyLogPolicy, deps: [K.historyLogGroup], params: {} }],

  // The account's policies, in the walk's first round rather than once the group is assessed.
  prefetch: (ctx) => void accountPolicies(ctx).catch(() => undefined),

  desired: (ctx) => ({ name: historyPolicyName(ctx.stack), document: historyLogPolicy(ctx) }),

  async find(ctx, _node, recorded) {
    const name = recorded?.id ?? historyPolicyName(ctx.stack);
    const p = await describe(ctx, name);
    if (!p) return undefined;
    let document: PolicyDocument;
    try {
      document = decodePolicy(p.policyDocument) ?? { Version: '', Statement: [] };
    } catch {
      document = { Version: '', Statement: [] };
    }
    return { record: recordOf(name), observed: { name, document }, ...ownership(ctx, p) };
  },

  async create(ctx, _node, d) {
    // PutResourcePolicy is an upsert by name: find saw none of this name, so nothing is overwritten.
    await ctx.aws.logs.send(new PutResourcePolicyCommand({ policyName: d.name, policyDocument: JSON.stringify(d.document) }));
    return recordOf(d.name);
  },

  diff(d, o): FieldChange[] {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    if (!samePolicy(d.document, o.document)) changes.push({ field: 'policyDocument', from: o.document, to: d.document });
    return changes;
  },

  async update(ctx, _node, found, d) {
    // The engine updates only what find called ours (the document names only our group).
    await ctx.aws.logs.send(new PutResourcePolicyCommand({ policyName: found.record.id, policyDocument: JSON.stringify(d.document) }));
  },

  async ownerOf(ctx, record) {
    const p = await describe(ctx, record.id);
    return p && ownership(ctx, p);
  },

  async delete(ctx, record) {
    // Looked at again just before: a policy renamed onto ours since the walk read it is not deleted.
    const p = await describe(ctx, record.id);
    if (!p || !ownership(ctx, p).owned) return;
    try {
      await ctx.aws.logs.send(new DeleteResourcePolicyCommand({ policyName: record.id }));
    } catch (err) {
      if (awsErrorCode(err) !== 'ResourceNotFoundException') throw err;
    }
  },
};
