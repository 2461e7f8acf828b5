/**
 * The stack's EventBridge Scheduler schedule group. Schedules cannot be tagged, groups can: the group
 * carries our tags, and a schedule belongs to us when its group does.
 */
import {
  CreateScheduleGroupCommand,
  DeleteScheduleGroupCommand,
  GetScheduleGroupCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-scheduler';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { scheduleGroupName, usesScheduler } from '../model/scheduler.js';
import { createUnique } from './lib/create.js';
import {
  clientToken,
  hasTagChange,
  managedTags,
  ownershipOf,
  resourceTags,
  tagChanges,
  tagList,
  tagRecord,
} from './lib/tags.js';
import { convergeTags, ifExists, unlessGone } from './lib/aws-calls.js';

export interface ScheduleGroupDesired {
  name: string;
  tags: Record<string, string>;
}

/** The group as GetScheduleGroup shows it, or undefined when it does not exist. */
export async function getScheduleGroup(ctx: Ctx, name: string) {
  return ifExists(() => ctx.aws.scheduler.send(new GetScheduleGroupCommand({ Name: name })));
}

/** Tags of a Scheduler resource (groups only: schedules have none). */
export async function schedulerTags(ctx: Ctx, resourceArn: string): Promise<Record<string, string>> {
  return tagRecord((await ctx.aws.scheduler.send(new ListTagsForResourceCommand({ ResourceArn: resourceArn }))).Tags);
}

/** Whose a schedule group is (undefined: gone or going). */
export async function scheduleGroupOwnership(ctx: Ctx, name: string) {
  const g = await getScheduleGroup(ctx, name);
  return g?.Arn && g.State !== 'DELETING' ? ownershipOf(ctx, await schedulerTags(ctx, g.Arn)) : undefined;
}

/** Wait until a deleted group is gone: its name cannot be reused while it is DELETING. */
async function waitGone(ctx: Ctx, name: string): Promise<void> {
  await ctx.waitFor(
    `schedule group ${name} to finish deleting`,
    async () => ((await getScheduleGroup(ctx, name)) ? undefined : true),
    {
      budgetMs: 300_000,
      intervalMs: 2000,
    },
  );
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
    if (!g && recorded?.id !== name) g = await getScheduleGroup(ctx, name);
    // A group being deleted is as good as gone: create waits for the name to come free.
    if (!g?.Name || !g.Arn || g.State === 'DELETING') return undefined;
    // GetScheduleGroup carries no tags: one more read, which the tag diff needs anyway.
    const tags = await schedulerTags(ctx, g.Arn);
    return {
      record: { kind: 'scheduler.schedule-group', id: g.Name, arn: g.Arn },
      ...ownershipOf(ctx, tags),
      observed: { name: g.Name, tags: managedTags(ctx, tags) },
    };
  },

  async create(ctx, node, d) {
    const input = { Name: d.name, Tags: tagList(d.tags), ClientToken: await clientToken(ctx, node.key) };
    const send = async () => (await ctx.aws.scheduler.send(new CreateScheduleGroupCommand(input))).ScheduleGroupArn;
    // Names are unique: a ConflictException right after our attempt (the SDK resent a call whose answer
    // was lost) is that attempt's group, adopted when it carries our tag. A group still DELETING (from a
    // `down` or an engine switch a moment ago) holds the name until it is gone.
    const arn = await createUnique(
      'Schedule group',
      d.name,
      async () => {
        try {
          return await send();
        } catch (err) {
          if (awsErrorCode(err) !== 'ConflictException' || (await getScheduleGroup(ctx, d.name))?.State !== 'DELETING')
            throw err;
          await waitGone(ctx, d.name);
          return send();
        }
      },
      (err) => awsErrorCode(err) === 'ConflictException',
      async () => {
        const g = await getScheduleGroup(ctx, d.name);
        return g?.Arn && g.State !== 'DELETING'
          ? { ...ownershipOf(ctx, await schedulerTags(ctx, g.Arn)), value: g.Arn }
          : undefined;
      },
    );
    return { kind: 'scheduler.schedule-group', id: d.name, arn };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    if (!hasTagChange(changes)) return;
    const ResourceArn = found.record.arn ?? '';
    await convergeTags(d.tags, found.observed.tags, {
      tag: (tags) => ctx.aws.scheduler.send(new TagResourceCommand({ ResourceArn, Tags: tagList(tags) })),
      untag: (TagKeys) => ctx.aws.scheduler.send(new UntagResourceCommand({ ResourceArn, TagKeys })),
    });
  },

  ownerOf: (ctx, record) => scheduleGroupOwnership(ctx, record.id),

  async delete(ctx, record) {
    // Deleting a group deletes every schedule in it (all ours: the group is the stack's). It stays
    // DELETING for a while; wait, so a following `up` can create it again.
    await unlessGone(ctx.aws.scheduler.send(new DeleteScheduleGroupCommand({ Name: record.id })));
    await waitGone(ctx, record.id);
  },
};
