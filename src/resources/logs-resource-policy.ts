/**
 * The CloudWatch Logs resource policy that lets EventBridge write the history rules' events to the
 * history log groups (model/history.ts): ONE account-level policy, `batchctl-history`, for every batchctl
 * stack of the account and region, so that all of them take one of the region's 10 slots.
 *
 * Why account-level: EventBridge's guide documents the account-level policy for CloudWatch Logs targets;
 * Logs' log-group-scoped policies (PutResourcePolicy with resourceArn) take no slot, but no AWS page says
 * EventBridge's delivery honours them (docs/how-it-works.md).
 *
 * Its document is the same for every stack (the history groups by prefix), so no stack ever rewrites
 * another's grant: creating it twice writes the same bytes. It is batchctl's when it names only history
 * groups. A stack's `down` deletes it only when no other stack's history group is left, then looks again
 * and puts it back if one appeared meanwhile (that stack's `up` saw the policy before it was deleted).
 * The policy each stack had before (`batchctl-<stack>-history`, ours when it names only our group) is
 * deleted once the shared one exists.
 */
import {
  DeleteResourcePolicyCommand,
  PutResourcePolicyCommand,
  type ResourcePolicy,
} from '@aws-sdk/client-cloudwatch-logs';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, Ownership, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { decodePolicy, samePolicy, type PolicyDocument } from '../model/policies.js';
import {
  SHARED_HISTORY_POLICY,
  historyGroupArn,
  legacyHistoryPolicyName,
  namesOnly,
  sharedHistoryPolicy,
  sharedHistoryResource,
} from '../model/history.js';
import {
  LOG_POLICY_QUOTA,
  accountLogPolicies,
  forgetLogPolicies,
  otherHistoryStacks,
  quotaError,
  slotsNote,
} from './lib/log-policies.js';
import { unlessGone } from './lib/aws-calls.js';

const KIND = 'logs.resource-policy';

export interface LogPolicyDesired {
  name: string;
  document: PolicyDocument;
  /** The stack's policy from before the shared one still exists (`up` deletes it). Always false desired. */
  legacy: boolean;
  /** Observed only: what the notes say of the region's slots when few are left. */
  slots?: string;
}

const documentOf = (p: ResourcePolicy): PolicyDocument | undefined => {
  try {
    return decodePolicy(p.policyDocument);
  } catch {
    return undefined;
  }
};

/** The shared policy is batchctl's when it names only history log groups. */
const sharedOwnership = (ctx: Ctx, p: ResourcePolicy): Ownership => {
  const prefix = sharedHistoryResource(ctx).replace(/\*$/, '');
  if (namesOnly(documentOf(p), (r) => r.startsWith(prefix))) return { owned: true };
  return {
    owned: false,
    owner: null,
    // No tag to read: the document is the proof, and this one names more than batchctl's history groups.
    why:
      "names more than batchctl's history log groups " +
      "(a Logs resource policy cannot be tagged: batchctl's is recognised by its document)",
    hint:
      "if it is batchctl's policy, edited by hand: delete it " +
      `(aws logs delete-resource-policy --policy-name ${p.policyName} --region ${ctx.region}) ` +
      "and run batchctl up, which writes it again; if it is someone else's, keep it and nothing of it is touched",
  };
};

/** The stack's policy from before, when it is ours: it names only our history group (and its streams). */
function ownLegacy(ctx: Ctx, policies: ResourcePolicy[]): ResourcePolicy | undefined {
  const group = historyGroupArn(ctx);
  const p = policies.find((x) => x.policyName === legacyHistoryPolicyName(ctx.stack));
  return p && namesOnly(documentOf(p), (r) => r === group || r === `${group}:*`) ? p : undefined;
}

const recordOf = (name: string): ResourceRecord => ({ kind: KIND, id: name });

async function put(ctx: Ctx, document: PolicyDocument): Promise<void> {
  try {
    await ctx.aws.logs.send(
      new PutResourcePolicyCommand({ policyName: SHARED_HISTORY_POLICY, policyDocument: JSON.stringify(document) }),
    );
  } catch (err) {
    // The last slot went between the preflight and now: the same words as the preflight's.
    if (awsErrorCode(err) === 'LimitExceededException') {
      throw quotaError(
        (await accountLogPolicies(ctx.aws.logs, true)).map((p) => p.policyName ?? ''),
        ctx.region,
      );
    }
    throw err;
  } finally {
    forgetLogPolicies(ctx.aws.logs);
  }
}

async function remove(ctx: Ctx, name: string): Promise<void> {
  try {
    await unlessGone(ctx.aws.logs.send(new DeleteResourcePolicyCommand({ policyName: name })));
  } finally {
    forgetLogPolicies(ctx.aws.logs);
  }
}

/** The shared policy exists and is ours, and the stack's old one is gone: create and update end here. */
async function converge(ctx: Ctx, d: LogPolicyDesired, policies: ResourcePolicy[], write: boolean): Promise<void> {
  const legacy = ownLegacy(ctx, policies);
  // All slots taken and one of them ours from before: it makes way first (the history misses no event
  // for long: the shared policy follows at once).
  if (write && legacy && policies.length >= LOG_POLICY_QUOTA) {
    await remove(ctx, legacy.policyName!);
    await put(ctx, d.document);
    return;
  }
  if (write) await put(ctx, d.document);
  if (legacy) await remove(ctx, legacy.policyName!);
}

export const logsResourcePolicy: ResourceKind<LogPolicyDesired> = {
  kind: KIND,
  label: 'Logs resource policy',
  dependsOn: ['logs.log-group'],
  costly: false,

  // After the group: the policy is ours only if the group is (this walk's verdict on it), not for AWS's sake.
  nodes: () => [{ key: K.historyLogPolicy, deps: [K.historyLogGroup], params: {} }],

  // The account's policies, in the walk's first round (plan and up read them in the preflight already: the
  // same read, lib/log-policies.ts), rather than once the group is assessed.
  prefetch: (ctx) => void accountLogPolicies(ctx.aws.logs).catch(() => undefined),

  desired: (ctx) => ({ name: SHARED_HISTORY_POLICY, document: sharedHistoryPolicy(ctx), legacy: false }),

  notes: (_d, found) => (found?.observed.slots ? [found.observed.slots] : []),

  async find(ctx) {
    const group = ctx.assessed(K.historyLogGroup);
    // The shared name whatever the state records: a record of the stack's old policy leads here too.
    const policies = await accountLogPolicies(ctx.aws.logs);
    const p = policies.find((x) => x.policyName === SHARED_HISTORY_POLICY);
    if (!p) return undefined;
    const verdict = group && !group.owned ? { owned: false, owner: group.owner ?? null } : sharedOwnership(ctx, p);
    // The policy serves this stack through its history group: without one (a stack not built yet, a
    // state of another stack's), batchctl's shared policy is not this stack's to keep or delete; `up` writes
    // it (the same document, whoever made it) once the group exists, on this look: it is not looked at
    // again. A policy of that name that is not batchctl's is refused here, before the first write.
    if (group === null && verdict.owned) return undefined;
    return {
      record: recordOf(SHARED_HISTORY_POLICY),
      observed: {
        name: SHARED_HISTORY_POLICY,
        document: documentOf(p) ?? { Version: '', Statement: [] },
        legacy: !!ownLegacy(ctx, policies),
        ...(slotsNote(policies) ? { slots: slotsNote(policies) } : {}),
      },
      ...verdict,
    };
  },

  async create(ctx, _node, d) {
    // The walk's one read: another stack of the region may hold the shared policy as this one wants it
    // already (found, it was not this stack's to judge while its group did not exist): not written again.
    const policies = await accountLogPolicies(ctx.aws.logs);
    const shared = policies.find((x) => x.policyName === SHARED_HISTORY_POLICY);
    const doc = shared && documentOf(shared);
    const same = !!doc && sharedOwnership(ctx, shared).owned && samePolicy(d.document, doc);
    await converge(ctx, d, policies, !same);
    return recordOf(SHARED_HISTORY_POLICY);
  },

  diff(d, o): FieldChange[] {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    if (!samePolicy(d.document, o.document))
      changes.push({ field: 'policyDocument', from: o.document, to: d.document });
    if (o.legacy) {
      changes.push({
        field: 'legacyPolicy',
        from: "(the stack's own policy from before)",
        to: '(deleted: the shared one serves it)',
      });
    }
    return changes;
  },

  async update(ctx, _node, _found, d, changes) {
    // The engine updates only what find called ours (the document names only history groups). On what the
    // walk read: the stack's old policy is only this stack's to write (its lock is held), and a slot taken
    // since by someone else fails the put with the quota's error, said as the preflight says it.
    const documentChanged = changes.some((c) => c.field === 'policyDocument');
    await converge(ctx, d, await accountLogPolicies(ctx.aws.logs), documentChanged);
  },

  // A saved plan pins the settings, not what other stacks and services did to the region's slots.
  pin: (found) => {
    const { slots: _slots, ...observed } = found.observed;
    return { record: found.record, observed };
  },

  // The old per-stack record (a state written before the shared policy) is judged as the shared one.
  async ownerOf(ctx) {
    const p = (await accountLogPolicies(ctx.aws.logs, true)).find((x) => x.policyName === SHARED_HISTORY_POLICY);
    return p && sharedOwnership(ctx, p);
  },

  async delete(ctx) {
    const policies = await accountLogPolicies(ctx.aws.logs, true);
    const legacy = ownLegacy(ctx, policies);
    if (legacy) await remove(ctx, legacy.policyName!);
    // Looked at again just before: a policy renamed onto ours since the walk read it is not deleted.
    const shared = policies.find((x) => x.policyName === SHARED_HISTORY_POLICY);
    if (!shared || !sharedOwnership(ctx, shared).owned) return;
    const others = await otherHistoryStacks(ctx.aws.logs, ctx.stack);
    if (others.length) {
      const whose = `stack${others.length > 1 ? 's' : ''} ${others.join(', ')}`;
      const kept = `kept the Logs resource policy ${SHARED_HISTORY_POLICY}`;
      ctx.reporter.info(`${kept}: the history of ${whose} still needs it`);
      return;
    }
    await remove(ctx, SHARED_HISTORY_POLICY);
    // Another stack's `up` may have seen the policy just before it went: its group exists now, so the
    // policy comes back (the same document; its history misses nothing but these moments).
    const now = await otherHistoryStacks(ctx.aws.logs, ctx.stack);
    if (now.length) {
      await put(ctx, sharedHistoryPolicy(ctx));
      const whose = `stack${now.length > 1 ? 's' : ''} ${now.join(', ')}`;
      ctx.reporter.info(`put the Logs resource policy ${SHARED_HISTORY_POLICY} back: ${whose} came up meanwhile`);
    }
  },
};
