/**
 * An EventBridge rule on the default bus that matches this stack's ECS task state changes: the alert
 * rule and the history rule differ only in name, pattern, description and when they exist, so both
 * kinds are built here.
 */
import { PutRuleCommand } from '@aws-sdk/client-eventbridge';
import type { StackConfig } from '../../config/schema.js';
import type { Ctx, FieldChange, NodeSpec, ResourceKind } from '../../engine/types.js';
import { K } from '../../model/keys.js';
import {
  convergeRuleTags,
  deleteRule,
  extraTargetChanges,
  extraTargets,
  findRule,
  prefetchRules,
  removeExtraTargets,
  ruleOwnership,
  type ExtraTarget,
} from './events.js';
import { arn } from '../../model/policies.js';
import { familyArnPrefixes } from '../../model/notify.js';
import { canonicalJson } from '../../base/json.js';
import { resourceTags, tagChanges, tagList, hasTagChange } from './tags.js';

/** What a pattern rule is configured to be. */
export interface PatternRuleDesired {
  name: string;
  /** The pattern as JSON text (compared in canonical form). */
  eventPattern: string;
  state: 'ENABLED' | 'DISABLED';
  description: string;
  tags: Record<string, string>;
  /** Observed: targets on the rule other than its own (the kind's `targetId`). Desired: none. */
  extraTargets?: ExtraTarget[];
}

/** What tells one pattern rule kind from another. */
export interface PatternRuleSpec {
  kind: string;
  label: string;
  /** The node key; the rule exists when `when(config)` holds. */
  key: string;
  when: (config: StackConfig) => boolean;
  name: (ctx: Ctx) => string;
  /** The event pattern for this cluster and the stack's family ARN prefixes (and its jobs, for what they need). */
  pattern: (clusterArn: string, familyPrefixes: string[], config: StackConfig) => object;
  description: (ctx: Ctx) => string;
  /** The id of the rule's one target (its target kind's). */
  targetId: string;
}

const putRule = (d: PatternRuleDesired) => ({
  Name: d.name,
  EventPattern: d.eventPattern,
  State: d.state,
  Description: d.description,
});

/** A resource kind for a rule matching this stack's ECS events. */
export function patternRuleKind(spec: PatternRuleSpec): ResourceKind<PatternRuleDesired> {
  return {
    kind: spec.kind,
    label: spec.label,
    dependsOn: [],
    costly: false,

    // The pattern names the cluster by its ARN, derived from its name: EventBridge takes a pattern naming a
    // cluster that does not exist yet, so the rule need not wait for it.
    nodes: (config) => (spec.when(config) ? [{ key: spec.key, deps: [], params: {} } satisfies NodeSpec] : []),

    prefetch: prefetchRules,

    desired: (ctx, node) => {
      const clusterArn = ctx.maybeRecord(K.cluster)?.arn ?? arn(ctx, 'ecs', `cluster/${ctx.config.cluster.name}`);
      return {
        tags: resourceTags(ctx, node.key),
        name: spec.name(ctx),
        // Family ARN prefixes, not a list of families: the pattern stays the same size however many jobs.
        eventPattern: JSON.stringify(spec.pattern(clusterArn, familyArnPrefixes(ctx), ctx.config)),
        state: 'ENABLED',
        description: spec.description(ctx),
      };
    },

    async find(ctx, _node, recorded) {
      const hit = await findRule(ctx, recorded, spec.name(ctx));
      if (!hit) return undefined;
      const { rule: r, tags, owned, owner } = hit;
      const extra = owned ? await extraTargets(ctx, r.Name, spec.targetId) : [];
      return {
        record: { kind: spec.kind, id: r.Name, arn: r.Arn },
        owned,
        owner,
        observed: {
          tags,
          name: r.Name,
          eventPattern: r.EventPattern ?? '',
          state: r.State === 'ENABLED' ? 'ENABLED' : 'DISABLED',
          description: r.Description ?? '',
          ...(extra.length ? { extraTargets: extra } : {}),
        },
      };
    },

    async create(ctx, _node, d) {
      // PutRule is an upsert: find saw no rule of this name, so this does not overwrite someone else's.
      const out = await ctx.aws.eventBridge.send(new PutRuleCommand({ ...putRule(d), Tags: tagList(d.tags) }));
      return { kind: spec.kind, id: d.name, arn: out.RuleArn };
    },

    diff(d, o) {
      const changes: FieldChange[] = [];
      if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
      // EventBridge returns the pattern as stored, but key order is not a difference.
      if (canonicalJson(d.eventPattern) !== canonicalJson(o.eventPattern))
        changes.push({ field: 'eventPattern', from: o.eventPattern, to: d.eventPattern });
      for (const f of ['state', 'description'] as const)
        if (d[f] !== o[f]) changes.push({ field: f, from: o[f], to: d[f] });
      changes.push(...tagChanges(d.tags, o.tags));
      changes.push(...extraTargetChanges(o.extraTargets));
      return changes;
    },

    async update(ctx, _node, found, d, changes) {
      // PutRule replaces every setting (so all are sent) and ignores Tags on an existing rule: the tags are
      // converged by their own calls, independent of it, together; so are the removals of targets not ours.
      const ruleArn = found.record.arn;
      await Promise.all([
        changes.some((c) => c.field !== 'tags' && c.field !== 'extraTargets') &&
          ctx.aws.eventBridge.send(new PutRuleCommand({ ...putRule(d), Name: found.record.id })),
        hasTagChange(changes) && ruleArn && convergeRuleTags(ctx, ruleArn, d.tags, found.observed.tags),
        changes.some((c) => c.field === 'extraTargets') &&
          removeExtraTargets(ctx, found.record.id, found.observed.extraTargets),
      ]);
    },

    async delete(ctx, record) {
      await deleteRule(ctx, record.id);
    },

    ownerOf: (ctx, record) => ruleOwnership(ctx, record.id),
  };
}
