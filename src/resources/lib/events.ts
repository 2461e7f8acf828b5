/**
 * What the two EventBridge rule kinds (the schedule rule and the failed-run alert rule) share: finding a
 * rule by record or name with its ownership, and deleting it with whatever targets it still has.
 */
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type DescribeRuleCommandOutput,
  type Target,
} from '@aws-sdk/client-eventbridge';
import type { Ctx, FieldChange, NodeSpec, Ownership, ResourceRecord } from '../../engine/types.js';
import { inheritedOwnership, managedTags, ownershipOf, tagList, tagRecord } from './tags.js';
import { TAG_PAUSED, parseMark, type PauseMark } from '../../model/pause.js';
import { convergeTags, ifExists, reportedAwsError, unlessGone } from './aws-calls.js';
import { listAllPages } from './list.js';

async function describe(ctx: Ctx, name: string): Promise<DescribeRuleCommandOutput | undefined> {
  return ifExists(() => ctx.aws.eventBridge.send(new DescribeRuleCommand({ Name: name })));
}

type RuleSummary = Pick<
  DescribeRuleCommandOutput,
  'Name' | 'Arn' | 'ScheduleExpression' | 'EventPattern' | 'State' | 'Description' | 'RoleArn'
>;

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
      const page = await ctx.aws.eventBridge.send(
        new ListRulesCommand({ NamePrefix: ctx.stack, NextToken, Limit: 100 }),
      );
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
  for (const rule of rules) if (rule) ruleTargets(ctx, rule).catch(() => undefined);
}

/** A rule by name: from the stack's listing when it covers the name, else described on its own. */
async function lookup(ctx: Ctx, name: string): Promise<RuleSummary | undefined> {
  const hit = await listed(ctx, name);
  return hit === null ? describe(ctx, name) : hit;
}

/** A rule's tags (DescribeRule carries none), read once per walk. */
function ruleTags(ctx: Ctx, arn: string): Promise<Record<string, string>> {
  return ctx.memo(`events:tags:${arn}`, async () =>
    tagRecord((await ctx.aws.eventBridge.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags),
  );
}

/**
 * The rule by its recorded name, else by its configured name, with its ownership and managed tags.
 * DescribeRule carries no tags: they are read with one more call (which the tag diff needs anyway).
 */
export async function findRule(
  ctx: Ctx,
  recorded: ResourceRecord | undefined,
  name: string,
): Promise<
  | ({
      rule: RuleSummary & { Name: string; Arn: string };
      tags: Record<string, string>;
      paused?: PauseMark;
    } & Ownership)
  | undefined
> {
  let r = recorded ? await lookup(ctx, recorded.id) : undefined;
  if (!r && recorded?.id !== name) r = await lookup(ctx, name);
  if (!r?.Name || !r.Arn) return undefined;
  const tags = await ruleTags(ctx, r.Arn);
  const paused = parseMark(tags[TAG_PAUSED]);
  return {
    rule: r as RuleSummary & { Name: string; Arn: string },
    tags: managedTags(ctx, tags),
    ...(paused ? { paused } : {}),
    ...ownershipOf(ctx, tags),
  };
}

/** Whose a rule is (undefined: gone). */
export async function ruleOwnership(ctx: Ctx, name: string): Promise<Ownership | undefined> {
  const r = await describe(ctx, name);
  return r?.Arn ? ownershipOf(ctx, await ruleTags(ctx, r.Arn)) : undefined;
}

/** A target's ownership: its rule's (the rule node's verdict from this walk, else the rule's tags). */
export const targetOwnership = (ctx: Ctx, ruleKey: string, rule: string) =>
  inheritedOwnership(ctx, ruleKey, rule, () => ruleOwnership(ctx, rule));

/** Converge a rule's tags (PutRule ignores Tags on an existing rule). */
export async function convergeRuleTags(
  ctx: Ctx,
  arn: string,
  desired: Record<string, string>,
  observed: Record<string, string>,
): Promise<void> {
  await convergeTags(desired, observed, {
    tag: (set) => ctx.aws.eventBridge.send(new TagResourceCommand({ ResourceARN: arn, Tags: tagList(set) })),
    untag: (keys) => ctx.aws.eventBridge.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: keys })),
  });
}

/**
 * Delete a rule. DeleteRule refuses while targets remain; the target node is normally removed first, but
 * a leftover target must not block `down`.
 */
export async function deleteRule(ctx: Ctx, name: string): Promise<void> {
  await unlessGone(
    (async () => {
      const { Targets } = await ctx.aws.eventBridge.send(new ListTargetsByRuleCommand({ Rule: name }));
      const Ids = (Targets ?? []).map((t) => t.Id ?? '');
      if (Ids.length) checkFailedEntries(await ctx.aws.eventBridge.send(new RemoveTargetsCommand({ Rule: name, Ids })));
      await ctx.aws.eventBridge.send(new DeleteRuleCommand({ Name: name }));
    })(),
  );
}

/** PutTargets and RemoveTargets report per-target failures in the response, not as an exception. */
export function checkFailedEntries(out: {
  FailedEntryCount?: number;
  FailedEntries?: { ErrorCode?: string; ErrorMessage?: string }[];
}): void {
  const f = out.FailedEntries?.[0];
  if (!out.FailedEntryCount && !f) return;
  // Named after the AWS code so awsErrorCode() and isIamPropagationError() classify it like an SDK error.
  const message = f?.ErrorMessage ?? 'EventBridge reported a failed target entry';
  throw reportedAwsError(f?.ErrorCode ?? 'FailedEntry', message);
}

/** Remove one target of a rule (its record id is `<rule>:<target id>`); a missing rule counts as done. */
export async function removeTarget(ctx: Ctx, record: ResourceRecord, targetId: string): Promise<void> {
  const rule = record.attrs?.rule ?? record.id.slice(0, record.id.lastIndexOf(':'));
  const removed = ctx.aws.eventBridge.send(new RemoveTargetsCommand({ Rule: rule, Ids: [targetId] }));
  await unlessGone(removed.then(checkFailedEntries));
}

/**
 * Every target of a rule (100 a page), or undefined when the rule does not exist. Read once per walk and
 * shared by the rule (which looks for targets batchctl did not put there) and its target node.
 */
export function ruleTargets(ctx: Ctx, rule: string): Promise<Target[] | undefined> {
  return listAllPages(ctx, `events:targets:${rule}`, async (NextToken) => {
    const out = await ctx.aws.eventBridge.send(new ListTargetsByRuleCommand({ Rule: rule, NextToken }));
    return { items: out.Targets, next: out.NextToken };
  });
}

/** One target of a rule, or undefined when the rule or the target does not exist. */
export async function findTarget(ctx: Ctx, rule: string, targetId: string): Promise<Target | undefined> {
  return (await ruleTargets(ctx, rule))?.find((t) => t.Id === targetId);
}

/** A target batchctl did not put on one of its rules: its id and where it sends the events. */
export interface ExtraTarget {
  id: string;
  arn: string;
}

/** The targets of a rule other than `ours` (each of our rules has exactly one target of its own). */
export async function extraTargets(ctx: Ctx, rule: string, ours: string): Promise<ExtraTarget[]> {
  return ((await ruleTargets(ctx, rule)) ?? [])
    .filter((t) => t.Id !== ours)
    .map((t) => ({ id: t.Id ?? '', arn: t.Arn ?? '' }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** The change that removes the targets batchctl did not put on a rule (none: no change). */
export function extraTargetChanges(observed: ExtraTarget[] | undefined): FieldChange[] {
  if (!observed?.length) return [];
  return [
    {
      field: 'extraTargets',
      from: observed.map((t) => t.id),
      to: [],
      removes: observed.map((t) => `target ${t.id} on the rule (sends the rule's events to ${t.arn})`),
    },
  ];
}

/** Remove the targets batchctl did not put on a rule. */
export async function removeExtraTargets(ctx: Ctx, rule: string, extra: ExtraTarget[] | undefined): Promise<void> {
  const Ids = (extra ?? []).map((t) => t.id);
  // RemoveTargets takes at most 100 ids a call.
  for (let i = 0; i < Ids.length; i += 100) {
    const removed = ctx.aws.eventBridge.send(new RemoveTargetsCommand({ Rule: rule, Ids: Ids.slice(i, i + 100) }));
    await unlessGone(removed.then(checkFailedEntries));
  }
}
