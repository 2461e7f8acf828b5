/**
 * The EventBridge rule (default bus) that records every run: ECS task state changes of this cluster and
 * the stack's families that say STOPPED. Its target (events-history-target) writes them to the history
 * log group, which keeps them for `logs.retentionDays` while ECS forgets a stopped task after an hour.
 */
import { PutRuleCommand } from '@aws-sdk/client-eventbridge';
import type { FieldChange, ResourceKind } from '../core/types.js';
import { K } from './lib/keys.js';
import { convergeRuleTags, deleteRule, findRule, ruleOwnership } from './lib/events.js';
import { familyArnPrefixes } from './lib/notify.js';
import { historyEventPattern, historyRuleName } from './lib/history.js';
import { canonicalJson } from './lib/json.js';
import { hasTagChange, resourceTags, tagChanges, tagList } from './lib/tags.js';

export interface HistoryRuleDesired {
  name: string;
  /** The pattern as JSON text (compared in canonical form). */
  eventPattern: string;
  state: 'ENABLED' | 'DISABLED';
  description: string;
  tags: Record<string, string>;
}

const putRule = (d: HistoryRuleDesired) => ({ Name: d.name, EventPattern: d.eventPattern, State: d.state, Description: d.description });

/** The run history rule. */
export const eventsHistoryRule: ResourceKind<HistoryRuleDesired> = {
  kind: 'events.history-rule',
  label: 'EventBridge history rule',
  dependsOn: ['ecs.cluster'],
  costly: false,

  nodes: () => [{ key: K.historyRule, deps: [K.cluster], params: {} }],

  desired: (ctx, node) => {
    const cluster = ctx.record(K.cluster);
    return {
      tags: resourceTags(ctx, node.key),
      name: historyRuleName(ctx.stack),
      // The same family prefixes as the alert rule: the pattern stays the same size however many jobs.
      eventPattern: JSON.stringify(historyEventPattern(cluster.arn ?? cluster.id, familyArnPrefixes(ctx))),
      state: 'ENABLED',
      description: `Stopped tasks of batchctl stack ${ctx.stack} to its run history log group`,
    };
  },

  async find(ctx, _node, recorded) {
    const hit = await findRule(ctx, recorded, historyRuleName(ctx.stack));
    if (!hit) return undefined;
    const { rule: r, tags, owned, owner } = hit;
    return {
      record: { kind: 'events.history-rule', id: r.Name, arn: r.Arn },
      owned,
      owner,
      observed: {
        tags,
        name: r.Name,
        eventPattern: r.EventPattern ?? '',
        state: r.State === 'ENABLED' ? 'ENABLED' : 'DISABLED',
        description: r.Description ?? '',
      },
    };
  },

  async create(ctx, _node, d) {
    // PutRule is an upsert: find saw no rule of this name, so this does not overwrite someone else's.
    const out = await ctx.aws.eventBridge.send(new PutRuleCommand({ ...putRule(d), Tags: tagList(d.tags) }));
    return { kind: 'events.history-rule', id: d.name, arn: out.RuleArn };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    if (canonicalJson(d.eventPattern) !== canonicalJson(o.eventPattern)) changes.push({ field: 'eventPattern', from: o.eventPattern, to: d.eventPattern });
    for (const f of ['state', 'description'] as const) if (d[f] !== o[f]) changes.push({ field: f, from: o[f], to: d[f] });
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    // PutRule replaces every setting (so all are sent) and ignores Tags on an existing rule.
    if (changes.some((c) => c.field !== 'tags')) await ctx.aws.eventBridge.send(new PutRuleCommand({ ...putRule(d), Name: found.record.id }));
    if (hasTagChange(changes) && found.record.arn) await convergeRuleTags(ctx, found.record.arn, d.tags, found.observed.tags);
  },

  async delete(ctx, record) {
    await deleteRule(ctx, record.id);
  },

  ownerOf: (ctx, record) => ruleOwnership(ctx, record.id),
};
