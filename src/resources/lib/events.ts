/**
 * What the two EventBridge rule kinds (the schedule rule and the failed-run alert rule) share: finding a
 * rule by record or name with its ownership, and deleting it with whatever targets it still has.
 */
import {
  DeleteRuleCommand, DescribeRuleCommand, ListTagsForResourceCommand, ListTargetsByRuleCommand, RemoveTargetsCommand,
  type DescribeRuleCommandOutput, type Target,
} from '@aws-sdk/client-eventbridge';
import { isNotFound } from '../../core/errors.js';
import type { Ctx, ResourceRecord } from '../../core/types.js';
import { isOurs, tagRecord } from './tags.js';

async function describe(ctx: Ctx, name: string): Promise<DescribeRuleCommandOutput | undefined> {
  try {
    return await ctx.aws.eventBridge.send(new DescribeRuleCommand({ Name: name }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * The rule by its recorded name, else by its configured name. DescribeRule carries no tags: they are read
 * (one more call) only when ownership is in question, i.e. the rule was not found through the state.
 */
export async function findRule(ctx: Ctx, recorded: ResourceRecord | undefined, name: string): Promise<{ rule: DescribeRuleCommandOutput & { Name: string; Arn: string }; owned: boolean } | undefined> {
  let r = recorded ? await describe(ctx, recorded.id) : undefined;
  const viaRecord = !!r;
  if (!r && recorded?.id !== name) r = await describe(ctx, name);
  if (!r?.Name || !r.Arn) return undefined;
  const owned = viaRecord || isOurs(ctx, tagRecord((await ctx.aws.eventBridge.send(new ListTagsForResourceCommand({ ResourceARN: r.Arn }))).Tags));
  return { rule: r as DescribeRuleCommandOutput & { Name: string; Arn: string }, owned };
}

/**
 * Delete a rule. DeleteRule refuses while targets remain; the target node is normally removed first, but
 * a leftover target must not block `down`.
 */
export async function deleteRule(ctx: Ctx, name: string): Promise<void> {
  try {
    const { Targets } = await ctx.aws.eventBridge.send(new ListTargetsByRuleCommand({ Rule: name }));
    const Ids = (Targets ?? []).map((t) => t.Id ?? '');
    if (Ids.length) checkFailedEntries(await ctx.aws.eventBridge.send(new RemoveTargetsCommand({ Rule: name, Ids })));
    await ctx.aws.eventBridge.send(new DeleteRuleCommand({ Name: name }));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** PutTargets and RemoveTargets report per-target failures in the response, not as an exception. */
export function checkFailedEntries(out: { FailedEntryCount?: number; FailedEntries?: { ErrorCode?: string; ErrorMessage?: string }[] }): void {
  const f = out.FailedEntries?.[0];
  if (!out.FailedEntryCount && !f) return;
  // Named after the AWS code so awsErrorCode() and isIamPropagationError() classify it like an SDK error.
  const err = new Error(f?.ErrorMessage ?? 'EventBridge reported a failed target entry');
  err.name = f?.ErrorCode ?? 'FailedEntry';
  throw err;
}

/** Remove one target of a rule (its record id is `<rule>:<target id>`); a missing rule counts as done. */
export async function removeTarget(ctx: Ctx, record: ResourceRecord, targetId: string): Promise<void> {
  const rule = record.attrs?.rule ?? record.id.slice(0, record.id.lastIndexOf(':'));
  try {
    checkFailedEntries(await ctx.aws.eventBridge.send(new RemoveTargetsCommand({ Rule: rule, Ids: [targetId] })));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** One target of a rule, or undefined when the rule or the target does not exist. */
export async function findTarget(ctx: Ctx, rule: string, targetId: string): Promise<Target | undefined> {
  try {
    const { Targets } = await ctx.aws.eventBridge.send(new ListTargetsByRuleCommand({ Rule: rule }));
    return (Targets ?? []).find((t) => t.Id === targetId);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
