/**
 * The EventBridge rule (default bus) that catches failed runs: ECS task state changes of this cluster and
 * task family that stopped with a non-zero exit code or never started. Its target (events-alert-target)
 * sends them to SNS. ECS emits these events to the default bus by itself: no setting on the cluster.
 */
import { PutRuleCommand } from '@aws-sdk/client-eventbridge';
import type { FieldChange, ResourceKind } from '../core/types.js';
import { K } from './lib/keys.js';
import { convergeRuleTags, deleteRule, findRule, ruleOwnership } from './lib/events.js';
import { alertEventPattern, alertRuleName, alertsOn, familyArnPrefixes } from './lib/notify.js';
import { canonicalJson } from './lib/json.js';
import { hasTagChange, resourceTags, tagChanges, tagList } from './lib/tags.js';

export interface AlertRuleDesired {
  name: string;
  /** The pattern as JSON text (compared in canonical form). */
  eventPattern: string;
  state: 'ENABLED' | 'DISABLED';
  description: string;
  tags: Record<string, string>;
}

const putRule = (d: AlertRuleDesired) => ({ Name: d.name, EventPattern: d.eventPattern, State: d.state, Description: d.description });

/** The failed-run rule. */
export const eventsAlertRule: ResourceKind<AlertRuleDesired> = {
  kind: 'events.alert-rule',
  label: 'EventBridge alert rule',
  dependsOn: ['ecs.cluster'],
  costly: false,

  nodes: (config) => (alertsOn(config) ? [{ key: K.alertRule, deps: [K.cluster], params: {} }] : []),

  desired: (ctx, node) => {
    const cluster = ctx.record(K.cluster);
    return {
      tags: resourceTags(ctx, node.key),
      name: alertRuleName(ctx),
      eventPattern: JSON.stringify(alertEventPattern(cluster.arn ?? cluster.id, familyArnPrefixes(ctx))),
      state: 'ENABLED',
      description: ctx.config.jobs.length === 1
        ? `Failed runs of ${ctx.config.jobs[0]!.task.family} (batchctl stack ${ctx.stack}) to SNS`
        : `Failed runs of the jobs of batchctl stack ${ctx.stack} to SNS`,
    };
  },

  async find(ctx, _node, recorded) {
    const hit = await findRule(ctx, recorded, alertRuleName(ctx));
    if (!hit) return undefined;
    const { rule: r, tags, owned, owner } = hit;
    return {
      record: { kind: 'events.alert-rule', id: r.Name, arn: r.Arn },
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

  async create(ctx, node, d) {
    // PutRule is an upsert: find saw no rule of this name, so this does not overwrite someone else's.
    const out = await ctx.aws.eventBridge.send(new PutRuleCommand({ ...putRule(d), Tags: tagList(d.tags) }));
    return { kind: 'events.alert-rule', id: d.name, arn: out.RuleArn };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    // EventBridge returns the pattern as stored, but key order is not a difference.
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
