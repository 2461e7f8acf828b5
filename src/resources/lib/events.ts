/**
 * What the two EventBridge rule kinds (the schedule rule and the failed-run alert rule) share: finding a
 * rule by record or name with its ownership, and deleting it with whatever targets it still has.
 */
import {
  DeleteRuleCommand, DescribeRuleCommand, ListRulesCommand, ListTagsForResourceCommand, ListTargetsByRuleCommand, RemoveTargetsCommand, TagResourceCommand,
  UntagResourceCommand, type DescribeRuleCommandOutput, type Target,
} from '@aws-sdk/client-eventbridge';
import { isNotFound } from '../../base/errors.js';
import type { Ctx, NodeSpec, Ownership, ResourceRecord } from '../../engine/types.js';
import { inheritedOwnership, managedTags, ownershipOf, convergeTags, tagList, tagRecord } from './tags.js';
import { TAG_PAUSED, parseMark, type PauseMark } from '../../model/pause.js';

async function describe(ctx: Ctx, name: string): Promise<DescribeRuleCommandOutput | undefined> {
  try {
    return await ctx.aws.eventBridge.send(new DescribeRuleCommand({ Name: name }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

type RuleSummary = Pick<DescribeRuleCommandOutput, 'Name' | 'Arn' | 'ScheduleExpression' | 'EventPattern' | 'State' | 'Description' | 'RoleArn'>;

/**
 * A rule named after the stack (every default name: `<stack>`, `<stack>-<job>`, `<stack>-failed-runs`)
 * from one ListRules by that prefix per walk, 100 a page, instead of a DescribeRule each: 50 jobs' rules
 * cost a call, not 50. `null` for a name the listing does not cover.
 */
async function listed(ctx: Ctx, name: string): Promise<RuleSummary | undefined | null> {
  if (!name.startsWith(ctx.stack)) return null;
  return (await stackRules(ctx)).get(name);
}

/** The rules named after the stack, by name: one ListRules by that prefix per walk. */
function stackRules(ctx: Ctx): Promise<Map<string, RuleSummary>> {
  return ctx.memo(`events:rules:${ctx.stack}`, async () => {
    const out = new Map<string, RuleSummary>();
    let NextToken: string | undefined;
    do {
      const page = await ctx.aws.eventBridge.send(new ListRulesCommand({ NamePrefix: ctx.stack, NextToken, Limit: 100 }));
      for (const r of page.Rules ?? []) if (r.Name) out.set(r.Name, r);
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  });
}

/**
 * A rule kind's prefetch: the stack's rules, and the tags of each rule the state records (by its ARN, so
 * they need not wait for the listing), all in the walk's first round. EventBridge has no call for the tags
 * of many rules: one ListTagsForResource each, but none after another.
 */
export function prefetchRules(ctx: Ctx, nodes: NodeSpec[]): void {
  stackRules(ctx).catch(() => undefined);
  for (const n of nodes) {
    const arn = ctx.maybeRecord(n.key)?.arn;
    if (arn) ruleTags(ctx, arn).catch(() => undefined);
  }
}

/** A target kind's prefetch: the targets of each rule the state records, in the walk's first round. */
export function prefetchTargets(ctx: Ctx, rules: (string | undefined)[]): void {
  for (const rule of rules) if (rule) targetsOf(ctx, rule).catch(() => undefined);
}

/** A rule by name: from the stack's listing when it covers the name, else described on its own. */
async function lookup(ctx: Ctx, name: string): Promise<RuleSummary | undefined> {
  const hit = await listed(ctx, name);
  return hit === null ? describe(ctx, name) : hit;
}

/** A rule's tags (DescribeRule carries none), read once per walk. */
function ruleTags(ctx: Ctx, arn: string): Promise<Record<string, string>> {
  return ctx.memo(`events:tags:${arn}`, async () => tagRecord((await ctx.aws.eventBridge.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags));
}

/**
 * The rule by its recorded name, else by its configured name, with its ownership and managed tags.
 * DescribeRule carries no tags: they are read with one more call (which the tag diff needs anyway).
 */
export async function findRule(
  ctx: Ctx, recorded: ResourceRecord | undefined, name: string,
): Promise<({ rule: RuleSummary & { Name: string; Arn: string }; tags: Record<string, string>; paused?: PauseMark } & Ownership) | undefined> {
  let r = recorded ? await lookup(ctx, recorded.id) : undefined;
  if (!r && recorded?.id !== name) r = await lookup(ctx, name);
  if (!r?.Name || !r.Arn) return undefined;
  const tags = await ruleTags(ctx, r.Arn);
  const paused = parseMark(tags[TAG_PAUSED]);
  return { rule: r as RuleSummary & { Name: string; Arn: string }, tags: managedTags(ctx, tags), ...(paused ? { paused } : {}), ...ownershipOf(ctx, tags) };
}

/** Whose a rule is (undefined: gone). */
export async function ruleOwnership(ctx: Ctx, name: string): Promise<Ownership | undefined> {
  const r = await describe(ctx, name);
  return r?.Arn ? ownershipOf(ctx, await ruleTags(ctx, r.Arn)) : undefined;
}

/** A target's ownership: its rule's (the rule node's verdict from this walk, else the rule's tags). */
export const targetOwnership = (ctx: Ctx, ruleKey: string, rule: string) => inheritedOwnership(ctx, ruleKey, rule, () => ruleOwnership(ctx, rule));

/** Converge a rule's tags (PutRule ignores Tags on an existing rule). */
export function convergeRuleTags(ctx: Ctx, arn: string, desired: Record<string, string>, observed: Record<string, string>): Promise<void> {
  return convergeTags(desired, observed,
    (tags) => ctx.aws.eventBridge.send(new TagResourceCommand({ ResourceARN: arn, Tags: tagList(tags) })),
    (TagKeys) => ctx.aws.eventBridge.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys })));
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

/** A rule's targets, read once per walk; undefined when the rule does not exist. */
export function targetsOf(ctx: Ctx, rule: string): Promise<Target[] | undefined> {
  return ctx.memo(`events:targets:${rule}`, async () => {
    try {
      return (await ctx.aws.eventBridge.send(new ListTargetsByRuleCommand({ Rule: rule }))).Targets ?? [];
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  });
}

/** One target of a rule, or undefined when the rule or the target does not exist. */
export async function findTarget(ctx: Ctx, rule: string, targetId: string): Promise<Target | undefined> {
  return (await targetsOf(ctx, rule))?.find((t) => t.Id === targetId);
}
