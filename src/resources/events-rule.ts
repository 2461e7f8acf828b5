/** The EventBridge schedule rule (default bus, UTC) that starts the task. */
import { PutRuleCommand } from '@aws-sdk/client-eventbridge';
import type { FieldChange, ResourceKind } from '../core/types.js';
import { K } from './lib/keys.js';
import { convergeRuleTags, deleteRule, findRule, ruleOwnership } from './lib/events.js';
import { hasTagChange, resourceTags, tagChanges, tagList } from './lib/tags.js';

export interface RuleDesired {
  name: string;
  scheduleExpression: string;
  state: 'ENABLED' | 'DISABLED';
  description: string;
  tags: Record<string, string>;
}

/** The input of PutRule for these settings. */
const putRule = (d: RuleDesired) =>
  ({ Name: d.name, ScheduleExpression: d.scheduleExpression, State: d.state, Description: d.description }) as const;

/** The schedule rule. */
export const eventsRule: ResourceKind<RuleDesired> = {
  kind: 'events.rule',
  label: 'EventBridge rule',
  dependsOn: [],
  costly: false,

  // Only with the rule engine (see events-target.ts).
  nodes: (config) => (config.schedule.engine === 'rule' ? [{ key: K.rule, deps: [], params: {} }] : []),

  desired: (ctx, node) => ({
    tags: resourceTags(ctx, node.key),
    name: ctx.config.schedule.name,
    scheduleExpression: ctx.config.schedule.expression,
    state: ctx.config.schedule.enabled ? 'ENABLED' : 'DISABLED',
    description: ctx.config.schedule.description ?? `Runs the ${ctx.config.task.family} task (batchctl stack ${ctx.stack})`,
  }),

  async find(ctx, _node, recorded) {
    const hit = await findRule(ctx, recorded, ctx.config.schedule.name);
    if (!hit) return undefined;
    const { rule: r, tags, owned, owner } = hit;
    return {
      record: { kind: 'events.rule', id: r.Name, arn: r.Arn },
      owned,
      owner,
      observed: {
        tags,
        name: r.Name,
        scheduleExpression: r.ScheduleExpression ?? '',
        state: r.State === 'ENABLED' ? 'ENABLED' : 'DISABLED',
        description: r.Description ?? '',
      },
    };
  },

  async create(ctx, node, d) {
    // PutRule is an upsert: on an existing name it would silently overwrite that rule. create only runs
    // after find saw no rule by this name, so it does not clobber someone else's.
    const out = await ctx.aws.eventBridge.send(new PutRuleCommand({ ...putRule(d), Tags: tagList(d.tags) }));
    return { kind: 'events.rule', id: d.name, arn: out.RuleArn };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    for (const f of ['scheduleExpression', 'state', 'description'] as const) {
      if (d[f] !== o[f]) changes.push({ field: f, from: o[f], to: d[f] });
    }
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    // PutRule replaces every setting (omitted ones are cleared, so all are sent) and ignores Tags on an
    // existing rule: tags are converged with their own calls.
    if (changes.some((c) => c.field !== 'tags')) await ctx.aws.eventBridge.send(new PutRuleCommand({ ...putRule(d), Name: found.record.id }));
    if (hasTagChange(changes) && found.record.arn) await convergeRuleTags(ctx, found.record.arn, d.tags, found.observed.tags);
  },

  async delete(ctx, record) {
    await deleteRule(ctx, record.id);
  },

  ownerOf: (ctx, record) => ruleOwnership(ctx, record.id),
};
