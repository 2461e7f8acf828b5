/** The EventBridge schedule rule (default bus, UTC) that starts the task. */
import { PutRuleCommand } from '@aws-sdk/client-eventbridge';
import type { FieldChange, ResourceKind } from '../core/types.js';
import { K, jobKey } from './lib/keys.js';
import { jobOf, ruleJobs, type JobParams } from './lib/jobs.js';
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

/** A job's schedule rule (rule engine). */
export const eventsRule: ResourceKind<RuleDesired, JobParams> = {
  kind: 'events.rule',
  label: 'EventBridge rule',
  dependsOn: [],
  costly: false,

  // Only for the jobs on the rule engine (see events-target.ts).
  nodes: (config) => ruleJobs(config).map((job) => ({ key: jobKey(job, K.rule), deps: [], params: { job: job.name } })),

  desired: (ctx, node) => {
    const { schedule, task } = jobOf(ctx.config, node.params.job);
    return {
      tags: resourceTags(ctx, node.key),
      name: schedule.name,
      scheduleExpression: schedule.expression,
      state: schedule.enabled ? 'ENABLED' : 'DISABLED',
      description: schedule.description ?? `Runs the ${task.family} task (batchctl stack ${ctx.stack})`,
    };
  },

  async find(ctx, node, recorded) {
    const hit = await findRule(ctx, recorded, jobOf(ctx.config, node.params.job).schedule.name);
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
