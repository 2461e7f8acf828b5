/**
 * The stack's dead-letter queue (`<stack>-schedule-dlq`, shared by the jobs): invocations a rule's target
 * or a schedule could not deliver (after their retries) land here; `status` counts them per job and the
 * dead-letter alarm fires on them. With `schedule.deadLetterQueue` (default on), on either engine.
 */
import {
  CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ListQueueTagsCommand,
  SetQueueAttributesCommand, TagQueueCommand, UntagQueueCommand,
} from '@aws-sdk/client-sqs';
import { awsErrorCode, isNotFound } from '../base/errors.js';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { deadLetterQueueName, queueArn, usesDeadLetterQueue } from '../model/scheduler.js';
import { convergeTags, hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges } from './lib/tags.js';

/** The attributes we set, as SQS returns them (strings). */
export interface QueueAttributes {
  /** 14 days, the maximum: a failure is still there when someone looks a week later. */
  MessageRetentionPeriod: string;
  /** SSE with SQS-owned keys: free, and needs no KMS permission for Scheduler to send. */
  SqsManagedSseEnabled: string;
}

export interface QueueDesired {
  name: string;
  attributes: QueueAttributes;
  tags: Record<string, string>;
}

const ATTRIBUTES: QueueAttributes = { MessageRetentionPeriod: '1209600', SqsManagedSseEnabled: 'true' };

/** The codes SQS answers a missing queue with (JSON protocol, and the older query protocol's). */
const GONE = ['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue'];
const isGone = (err: unknown) => isNotFound(err, ...GONE);

/**
 * All attributes of a queue (its policy among them), or undefined when it does not exist: read once per
 * walk, for the queue and its policy node.
 */
export function queueAttributes(ctx: Ctx, url: string): Promise<Record<string, string> | undefined> {
  return ctx.memo(`sqs:attributes:${url}`, async () => {
    try {
      return (await ctx.aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {};
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  });
}

async function urlOf(ctx: Ctx, name: string): Promise<string | undefined> {
  try {
    return (await ctx.aws.sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/** A queue's tags, or undefined when it is gone. */
async function queueTags(ctx: Ctx, url: string): Promise<Record<string, string> | undefined> {
  try {
    return (await ctx.aws.sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {};
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/** The scheduler's dead-letter queue. */
export const sqsQueue: ResourceKind<QueueDesired> = {
  kind: 'sqs.queue',
  label: 'SQS queue',
  dependsOn: [],
  costly: false,

  nodes: (config) => (usesDeadLetterQueue(config) ? [{ key: K.deadLetterQueue, deps: [], params: {} }] : []),

  desired: (ctx, node) => ({ name: deadLetterQueueName(ctx.config), attributes: { ...ATTRIBUTES }, tags: resourceTags(ctx, node.key) }),

  async find(ctx, _node, recorded) {
    const name = deadLetterQueueName(ctx.config);
    let url = recorded?.id;
    // GetQueueAttributes carries no tags: the tags are one more read, which the tag diff needs anyway, sent
    // alongside when the queue's URL is recorded.
    let [attrs, tags] = url ? await Promise.all([queueAttributes(ctx, url), queueTags(ctx, url)]) : [undefined, undefined];
    if (!attrs) {
      url = await urlOf(ctx, name);
      attrs = url ? await queueAttributes(ctx, url) : undefined;
      tags = url && attrs ? await queueTags(ctx, url) : undefined;
    }
    if (!url || !attrs) return undefined;
    tags ??= {};
    const actualName = url.split('/').pop()!;
    return {
      record: { kind: 'sqs.queue', id: url, arn: attrs.QueueArn ?? queueArn(ctx, actualName) },
      ...ownershipOf(ctx, tags),
      observed: {
        name: actualName,
        attributes: { MessageRetentionPeriod: attrs.MessageRetentionPeriod ?? '', SqsManagedSseEnabled: attrs.SqsManagedSseEnabled ?? 'false' },
        tags: managedTags(ctx, tags),
      },
    };
  },

  async create(ctx, _node, d) {
    const input = new CreateQueueCommand({ QueueName: d.name, Attributes: { ...d.attributes }, tags: d.tags });
    // SQS refuses a name for 60 s after a queue of that name was deleted (a quick down/up, or an engine
    // switched back and forth): retry until it takes it.
    const url = await ctx.waitFor(
      `SQS to release the name ${d.name} (deleted less than 60 s ago)`,
      async () => {
        try {
          return (await ctx.aws.sqs.send(input)).QueueUrl ?? '';
        } catch (err) {
          if (awsErrorCode(err) === 'QueueDeletedRecently' || awsErrorCode(err) === 'AWS.SimpleQueueService.QueueDeletedRecently') return undefined;
          throw err;
        }
      },
      { budgetMs: 90_000, intervalMs: 10_000 },
    );
    return { kind: 'sqs.queue', id: url, arn: queueArn(ctx, d.name) };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    for (const k of Object.keys(d.attributes) as (keyof QueueAttributes)[]) {
      if (d.attributes[k] !== o.attributes[k]) changes.push({ field: `attributes.${k}`, from: o.attributes[k], to: d.attributes[k] });
    }
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    const QueueUrl = found.record.id;
    const attrs = changes.filter((c) => c.field.startsWith('attributes.')).map((c) => c.field.slice('attributes.'.length) as keyof QueueAttributes);
    // The attributes and the tags are independent calls: together.
    await Promise.all([
      attrs.length && ctx.aws.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: Object.fromEntries(attrs.map((k) => [k, d.attributes[k]])) })),
      hasTagChange(changes) && convergeTags(d.tags, found.observed.tags,
        (Tags) => ctx.aws.sqs.send(new TagQueueCommand({ QueueUrl, Tags })), (TagKeys) => ctx.aws.sqs.send(new UntagQueueCommand({ QueueUrl, TagKeys }))),
    ]);
  },

  async ownerOf(ctx, record) {
    const tags = await queueTags(ctx, record.id);
    return tags && ownershipOf(ctx, tags);
  },

  // The queue keeps the scheduled invocations that could not start the task: `down` refuses to drop
  // them silently, like a bucket's objects.
  async contents(ctx, record) {
    try {
      const out = await ctx.aws.sqs.send(new GetQueueAttributesCommand({
        QueueUrl: record.id, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }));
      const count = Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      return count ? { count, description: `${count} failed scheduled invocation${count === 1 ? '' : 's'}` } : undefined;
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  },

  async delete(ctx, record) {
    // Deleting a queue deletes its messages: the failed invocations it kept go with it.
    try {
      await ctx.aws.sqs.send(new DeleteQueueCommand({ QueueUrl: record.id }));
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  },
};
