/**
 * CloudWatch Logs resource policies of the account and region: the listing the preflight and the
 * logs.resource-policy kind share, the quota, and the history groups of every batchctl stack here.
 *
 * The quota: 10 account-level resource policies per region, not raisable (PutResourcePolicy API
 * reference: "a maximum of 10 policies without resourceARN and one per LogGroup resourceARN"; CloudWatch
 * Logs quotas). DescribeResourcePolicies lists only the account-level ones unless asked for another
 * scope, which is exactly what counts against it.
 */
import {
  DescribeLogGroupsCommand,
  DescribeResourcePoliciesCommand,
  type CloudWatchLogsClient,
  type ResourcePolicy,
} from '@aws-sdk/client-cloudwatch-logs';
import { UserError } from '../../base/errors.js';
import {
  HISTORY_GROUP_PREFIX,
  SHARED_HISTORY_POLICY,
  legacyHistoryPolicyName,
  stackOfHistoryGroup,
} from '../../model/history.js';

/** Account-level resource policies a region may have. */
export const LOG_POLICY_QUOTA = 10;

const listings = new WeakMap<CloudWatchLogsClient, Promise<ResourcePolicy[]>>();

/**
 * The account-level resource policies, read once per client (the preflight's read serves the walk);
 * `fresh` reads again. A write of ours forgets the listing (`forgetLogPolicies`).
 */
export function accountLogPolicies(logs: CloudWatchLogsClient, fresh = false): Promise<ResourcePolicy[]> {
  let p = fresh ? undefined : listings.get(logs);
  if (!p) {
    p = (async () => {
      const out: ResourcePolicy[] = [];
      let nextToken: string | undefined;
      do {
        const page = await logs.send(new DescribeResourcePoliciesCommand({ nextToken, limit: 50 }));
        out.push(...(page.resourcePolicies ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return out;
    })();
    listings.set(logs, p);
    // A failed read is not kept: the next caller asks again.
    p.catch(() => listings.delete(logs));
  }
  return p;
}

/** After a write to the account's resource policies: the next read asks AWS. */
export function forgetLogPolicies(logs: CloudWatchLogsClient): void {
  listings.delete(logs);
}

/** The stacks (other than `stack`) whose history log group exists in the region: who shares the policy. */
export async function otherHistoryStacks(logs: CloudWatchLogsClient, stack: string): Promise<string[]> {
  const out = new Set<string>();
  let nextToken: string | undefined;
  do {
    const page = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: HISTORY_GROUP_PREFIX, nextToken }));
    for (const g of page.logGroups ?? []) {
      const s = stackOfHistoryGroup(g.logGroupName);
      if (s && s !== stack) out.add(s);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return [...out].sort();
}

/**
 * Whether the stack can have its history policy: the shared policy exists already, the stack's own
 * policy from before can make way for it, or a slot is free. Otherwise a user error (exit 2) naming the
 * quota and the policies that hold the slots: said before the first write of `plan` and `up`.
 */
export function checkLogPolicySlot(policies: ResourcePolicy[], stack: string, region: string): void {
  const names = policies.map((p) => p.policyName ?? '');
  if (
    names.includes(SHARED_HISTORY_POLICY) ||
    names.includes(legacyHistoryPolicyName(stack)) ||
    names.length < LOG_POLICY_QUOTA
  )
    return;
  throw quotaError(names, region);
}

/** The error for a region whose resource-policy slots are all taken. */
export function quotaError(names: string[], region: string): UserError {
  return new UserError(
    `CloudWatch Logs allows ${LOG_POLICY_QUOTA} resource policies per account in ${region} ` +
      `(a quota AWS does not raise), and all ${names.length} are taken: ${[...names].sort().join(', ')}. ` +
      `batchctl needs one, ${SHARED_HISTORY_POLICY}, shared by every batchctl stack of the region, ` +
      'for EventBridge to write the run history',
    'free a slot: delete a policy nobody needs (`aws logs delete-resource-policy --policy-name <name> --region ' +
      `${region}\`), or merge two policies into one; nothing was changed`,
  );
}

/** From how many taken slots the node's notes say so (in plan, up and status): two or fewer left. */
export const SLOTS_WARNING = LOG_POLICY_QUOTA - 2;

/** The note of a region short of slots: who holds them, that batchctl's one is shared. */
export function slotsNote(policies: ResourcePolicy[]): string | undefined {
  if (policies.length < SLOTS_WARNING) return undefined;
  const names = policies.map((p) => p.policyName ?? '').sort();
  return (
    `${names.length} of the region's ${LOG_POLICY_QUOTA} CloudWatch Logs resource-policy slots are taken ` +
    `(${names.join(', ')}); ` +
    `${SHARED_HISTORY_POLICY} is one, shared by every batchctl stack of the region`
  );
}
