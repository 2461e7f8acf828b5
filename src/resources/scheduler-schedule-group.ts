/**
 * The stack's EventBridge Scheduler schedule group. Schedules cannot be tagged, groups can: the group
 * carries our tags, and a schedule belongs to us when its group does.
 */
import {
  CreateScheduleGroupCommand, DeleteScheduleGroupCommand, GetScheduleGroupCommand, ListTagsForResourceCommand, TagResourceCommand,
} from '@aws-sdk/client-scheduler';
import { awsErrorCode, isNotFound } from '../core/errors.js';
import type { Ctx, FieldChange, ResourceKind } from '../core/types.js';
import { K } from './lib/keys.js';
import { scheduleGroupName, usesScheduler } from './lib/scheduler.js';
import { clientToken, isOurs, resourceTags, tagList, tagRecord } from './lib/tags.js';

export interface ScheduleGroupDesired {
  name: string;
  tags: Record<string, string>;
}

/** The group as GetScheduleGroup shows it, or undefined when it does not exist. */
export async function getScheduleGroup(ctx: Ctx, name: string) {
  try {
    return await ctx.aws.scheduler.send(new GetScheduleGroupCommand({ Name: name }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Tags of a Scheduler resource (groups only: schedules have none). */
export async function schedulerTags(ctx: Ctx, resourceArn: string): Promise<Record<string, string>> {
  return tagRecord((await ctx.aws.scheduler.send(new ListTagsForResourceCommand({ ResourceArn: resourceArn }))).Tags);
}

/** Wait until a deleted group is gone: its name cannot be reused while it is DELETING. */
async function waitGone(ctx: Ctx, name: string): Promise<void> {
  await ctx.waitFor(`schedule group ${name} to finish deleting`, async () => ((await getScheduleGroup(ctx, name)) ? undefined : true), {
    budgetMs: 300_000, intervalMs: 2000,
  });
}

/** The schedule group. */
export const schedulerScheduleGroup: ResourceKind<ScheduleGroupDesired> = {
  kind: 'scheduler.schedule-group',
  label: 'Schedule group',
  dependsOn: [],
  costly: false,

  nodes: (config) => (usesScheduler(config) ? [{ key: K.scheduleGroup, deps: [], params: {} }] : []),

  desired: (ctx, node) => ({ name: scheduleGroupName(ctx.config), tags: resourceTags(ctx, node.key) }),

  async find(ctx, _node, recorded) {
    const name = scheduleGroupName(ctx.config);
    let g = recorded ? await getScheduleGroup(ctx, recorded.id) : undefined;
    const viaRecord = !!g;
    if (!g && recorded?.id !== name) g = await getScheduleGroup(ctx, name);
    // A group being deleted is as good as gone: create waits for the name to come free.
    if (!g?.Name || !g.Arn || g.State === 'DELETING') return undefined;
    // Tags are read only when ownership is in question (no usable record); otherwise they were set at
    // creation and the converged path stays at one read call.
    const tags = viaRecord ? undefined : await schedulerTags(ctx, g.Arn);
    return {
      record: { kind: 'scheduler.schedule-group', id: g.Name, arn: g.Arn },
      owned: viaRecord || isOurs(ctx, tags),
      observed: { name: g.Name, tags: tags ?? resourceTags(ctx, K.scheduleGroup) },
    };
  },

  async create(ctx, node, d) {
    const input = { Name: d.name, Tags: tagList(d.tags), ClientToken: await clientToken(ctx, node.key) };
    let out;
    try {
      out = await ctx.aws.scheduler.send(new CreateScheduleGroupCommand(input));
    } catch (err) {
      // A group still DELETING (from a `down` or an engine switch a moment ago) holds the name.
      if (awsErrorCode(err) !== 'ConflictException' || (await getScheduleGroup(ctx, d.name))?.State !== 'DELETING') throw err;
      await waitGone(ctx, d.name);
      out = await ctx.aws.scheduler.send(new CreateScheduleGroupCommand(input));
    }
    return { kind: 'scheduler.schedule-group', id: d.name, arn: out.ScheduleGroupArn };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    // Only our keys: tags others add are left alone.
    for (const [k, v] of Object.entries(d.tags)) if (o.tags[k] !== v) changes.push({ field: `tags.${k}`, from: o.tags[k], to: v });
    return changes;
  },

  async update(ctx, _node, found, _d, changes) {
    const tags = changes.filter((c) => c.field.startsWith('tags.')).map((c) => ({ Key: c.field.slice(5), Value: String(c.to) }));
    if (tags.length) await ctx.aws.scheduler.send(new TagResourceCommand({ ResourceArn: found.record.arn ?? '', Tags: tags }));
  },

  async delete(ctx, record) {
    // Deleting a group deletes every schedule in it (all ours: the group is the stack's). It stays
    // DELETING for a while; wait, so a following `up` can create it again.
    try {
      await ctx.aws.scheduler.send(new DeleteScheduleGroupCommand({ Name: record.id }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await waitGone(ctx, record.id);
  },
};
