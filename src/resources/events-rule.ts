/** The EventBridge schedule rule (default bus, UTC) that starts the task. */
import { DeleteRuleCommand, DescribeRuleCommand, ListTagsForResourceCommand, ListTargetsByRuleCommand, PutRuleCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { isNotFound } from '../core/errors.js';
import type { Ctx, FieldChange, ResourceKind } from '../core/types.js';
import { K } from './lib/keys.js';
import { isOurs, resourceTags, tagList, tagRecord } from './lib/tags.js';

export interface RuleDesired {
  name: string;
  scheduleExpression: string;
  state: 'ENABLED' | 'DISABLED';
  description: string;
}

async function describe(ctx: Ctx, name: string) {
  try {
    return await ctx.aws.eventBridge.send(new DescribeRuleCommand({ Name: name }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
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

  desired: (ctx) => ({
    name: ctx.config.schedule.name,
    scheduleExpression: ctx.config.schedule.expression,
    state: ctx.config.schedule.enabled ? 'ENABLED' : 'DISABLED',
    description: ctx.config.schedule.description ?? `Runs the ${ctx.config.task.family} task (batchctl stack ${ctx.stack})`,
  }),

  async find(ctx, _node, recorded) {
    let r = recorded ? await describe(ctx, recorded.id) : undefined;
    const viaRecord = !!r;
    if (!r && recorded?.id !== ctx.config.schedule.name) r = await describe(ctx, ctx.config.schedule.name);
    if (!r?.Name || !r.Arn) return undefined;
    // DescribeRule carries no tags: read them only when ownership is in question (no usable record).
    const owned = viaRecord || isOurs(ctx, tagRecord((await ctx.aws.eventBridge.send(new ListTagsForResourceCommand({ ResourceARN: r.Arn }))).Tags));
    return {
      record: { kind: 'events.rule', id: r.Name, arn: r.Arn },
      owned,
      observed: {
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
    const out = await ctx.aws.eventBridge.send(new PutRuleCommand({ ...putRule(d), Tags: tagList(resourceTags(ctx, node.key)) }));
    return { kind: 'events.rule', id: d.name, arn: out.RuleArn };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    for (const f of ['scheduleExpression', 'state', 'description'] as const) {
      if (d[f] !== o[f]) changes.push({ field: f, from: o[f], to: d[f] });
    }
    return changes;
  },

  async update(ctx, _node, found, d) {
    // PutRule replaces every setting (omitted ones are cleared, so all are sent) and ignores Tags on an
    // existing rule: the tags set at creation stay as they are.
    await ctx.aws.eventBridge.send(new PutRuleCommand({ ...putRule(d), Name: found.record.id }));
  },

  async delete(ctx, record) {
    try {
      // DeleteRule refuses while targets remain; the target node is normally removed first, but a
      // leftover target must not block `down`.
      const { Targets } = await ctx.aws.eventBridge.send(new ListTargetsByRuleCommand({ Rule: record.id }));
      const Ids = (Targets ?? []).map((t) => t.Id ?? '');
      if (Ids.length) await ctx.aws.eventBridge.send(new RemoveTargetsCommand({ Rule: record.id, Ids }));
      await ctx.aws.eventBridge.send(new DeleteRuleCommand({ Name: record.id }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
};
