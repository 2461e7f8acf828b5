/**
 * The EventBridge schedule rule (default bus, UTC) that starts the task. A pause is a tag on the rule
 * (model/pause.ts): `up` keeps a rule the user paused disabled, and lifts a pause of `down --endpoints`.
 */
import {
  DisableRuleCommand,
  EnableRuleCommand,
  PutRuleCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-eventbridge';
import type { Ctx, FieldChange, Found, ResourceKind } from '../engine/types.js';
import { K, jobKey } from '../model/keys.js';
import { jobOf, ruleJobs, type JobParams } from '../model/jobs.js';
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
} from './lib/events.js';
import { TARGET_ID } from './events-target.js';
import { privateServiceKeys } from '../model/network.js';
import { scheduleMark } from './scheduler-schedule.js';
import {
  TAG_PAUSED,
  describeMark,
  keptPause,
  markField,
  markText,
  type PauseMark,
  type Pausable,
} from '../model/pause.js';
import { hasTagChange, resourceTags, tagChanges, tagList } from './lib/tags.js';

export interface RuleDesired {
  name: string;
  scheduleExpression: string;
  state: 'ENABLED' | 'DISABLED';
  description: string;
  tags: Record<string, string>;
  /** The pause the rule carries (its `batchctl:paused` tag), or none. */
  paused?: PauseMark;
  /** Observed: targets on the rule other than the job's own (events-target.ts). Desired: none. */
  extraTargets?: ExtraTarget[];
}

/** The input of PutRule for these settings. */
const putRule = (d: RuleDesired) =>
  ({ Name: d.name, ScheduleExpression: d.scheduleExpression, State: d.state, Description: d.description }) as const;

/** A job's schedule rule (rule engine). */
export const eventsRule: ResourceKind<RuleDesired, JobParams> = {
  kind: 'events.rule',
  label: 'EventBridge rule',
  // Every interface endpoint: a pause of `down --endpoints` is lifted only once they are back.
  dependsOn: ['ec2.vpc-interface-endpoint', 'ec2.security-group-ingress'],
  costly: false,

  // Only for the jobs on the rule engine (see events-target.ts). After the interface endpoints and the rule
  // into them: not for AWS's sake, but for the runs': a rule `down --endpoints` paused is enabled again only
  // once they are back (a run before would fail to pull its image).
  nodes: (config) =>
    ruleJobs(config).map((job) => ({
      key: jobKey(job, K.rule),
      deps: privateServiceKeys(config),
      params: { job: job.name },
    })),

  prefetch: prefetchRules,

  desired: async (ctx, node, found) => {
    const job = jobOf(ctx.config, node.params.job);
    const { schedule, task } = job;
    // A paused job whose engine switches to rules stays paused: the mark moves from the old schedule.
    const previous = found ? undefined : ctx.maybeRecord(jobKey(job, K.schedule));
    const paused = keptPause(found ? found.observed.paused : previous && (await scheduleMark(ctx, previous.id)));
    return {
      tags: resourceTags(ctx, node.key),
      name: schedule.name,
      scheduleExpression: schedule.expression,
      state: schedule.enabled && !paused ? 'ENABLED' : 'DISABLED',
      description: schedule.description ?? `Runs the ${task.family} task (batchctl stack ${ctx.stack})`,
      ...(paused ? { paused } : {}),
    };
  },

  notes: (d, found) => {
    const m = found ? found.observed.paused : d.paused;
    // A pause this run lifts (down --endpoints', once the endpoints are back) is a change, not a note: the
    // up that resumes the schedule must not warn that it is paused.
    if (m && found && !d.paused && m.reason !== 'user') return [];
    return m ? [describeMark(m)] : [];
  },

  async find(ctx, node, recorded) {
    const hit = await findRule(ctx, recorded, jobOf(ctx.config, node.params.job).schedule.name);
    if (!hit) return undefined;
    const { rule: r, tags, owned, owner } = hit;
    // Another stack's rule is never compared: its targets need not be read.
    const extra = owned ? await extraTargets(ctx, r.Name, TARGET_ID) : [];
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
        ...(hit.paused ? { paused: hit.paused } : {}),
        ...(extra.length ? { extraTargets: extra } : {}),
      },
    };
  },

  async create(ctx, node, d) {
    // PutRule is an upsert: on an existing name it would silently overwrite that rule. create only runs
    // after find saw no rule by this name, so it does not clobber someone else's.
    const out = await ctx.aws.eventBridge.send(
      new PutRuleCommand({
        ...putRule(d),
        Tags: tagList({ ...d.tags, ...(d.paused ? { [TAG_PAUSED]: markText(d.paused) } : {}) }),
      }),
    );
    return { kind: 'events.rule', id: d.name, arn: out.RuleArn };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    for (const f of ['scheduleExpression', 'state', 'description'] as const) {
      if (d[f] !== o[f]) changes.push({ field: f, from: o[f], to: d[f] });
    }
    if (markField(d.paused) !== markField(o.paused))
      changes.push({ field: 'paused', from: markField(o.paused), to: markField(d.paused) });
    changes.push(...tagChanges(d.tags, o.tags));
    changes.push(...extraTargetChanges(o.extraTargets));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    const arn = found.record.arn;
    // The pause tag is the intent and the state follows it: a pause is tagged before the rule is
    // disabled, and lifted before it is enabled, so a run cut short between the two leaves a rule the
    // next `up` finishes, never an enabled rule marked paused or a disabled one that resumes by itself.
    const pauseChange = changes.some((c) => c.field === 'paused');
    if (pauseChange && arn && d.paused) await setPauseTag(ctx, arn, d.paused);
    if (pauseChange && arn && !d.paused)
      await ctx.aws.eventBridge.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: [TAG_PAUSED] }));
    // PutRule replaces every setting (omitted ones are cleared, so all are sent) and ignores Tags on an
    // existing rule: tags are converged with their own calls.
    if (changes.some((c) => c.field !== 'tags' && c.field !== 'paused' && c.field !== 'extraTargets')) {
      await ctx.aws.eventBridge.send(new PutRuleCommand({ ...putRule(d), Name: found.record.id }));
    }
    if (hasTagChange(changes) && arn) await convergeRuleTags(ctx, arn, d.tags, found.observed.tags);
    if (changes.some((c) => c.field === 'extraTargets'))
      await removeExtraTargets(ctx, found.record.id, found.observed.extraTargets);
  },

  async delete(ctx, record) {
    await deleteRule(ctx, record.id);
  },

  ownerOf: (ctx, record) => ruleOwnership(ctx, record.id),
};

const setPauseTag = (ctx: Ctx, arn: string, m: PauseMark) =>
  ctx.aws.eventBridge.send(
    new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: TAG_PAUSED, Value: markText(m) }] }),
  );

/**
 * `batchctl pause` and `resume` on a rule: only the tag and the state change (DisableRule and EnableRule
 * leave every other setting as it is live, whatever the config says now).
 */
export const rulePause: Pausable<RuleDesired> = {
  async pause(ctx, found: Found<RuleDesired>, mark) {
    await setPauseTag(ctx, found.record.arn!, mark);
    if (found.observed.state !== 'DISABLED')
      await ctx.aws.eventBridge.send(new DisableRuleCommand({ Name: found.record.id }));
  },
  async resume(ctx, found, enabled) {
    if (found.observed.paused)
      await ctx.aws.eventBridge.send(
        new UntagResourceCommand({ ResourceARN: found.record.arn!, TagKeys: [TAG_PAUSED] }),
      );
    if (enabled && found.observed.state !== 'ENABLED')
      await ctx.aws.eventBridge.send(new EnableRuleCommand({ Name: found.record.id }));
    if (!enabled && found.observed.state !== 'DISABLED')
      await ctx.aws.eventBridge.send(new DisableRuleCommand({ Name: found.record.id }));
  },
};
