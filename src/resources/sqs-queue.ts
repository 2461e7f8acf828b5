/**
 * The stack's dead-letter queue (`<stack>-schedule-dlq`, shared by the jobs): invocations a rule's target
 * or a schedule could not deliver (after their retries) land here; `status` counts them per job and the
 * dead-letter alarm fires on them. With `schedule.deadLetterQueue` (default on), on either engine.
 */
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  UntagQueueCommand,
} from '@aws-sdk/client-sqs';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { deadLetterQueueName, queueArn, usesDeadLetterQueue } from '../model/scheduler.js';
import { hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges } from './lib/tags.js';
import { SQS_DELETED_RECENTLY, SQS_QUEUE_GONE } from '../model/aws-errors.js';
import { convergeTags, ifExists, unlessGone } from './lib/aws-calls.js';
import { policyChange, type PolicyDocument } from '../model/policies.js';
import { ruleDeadLetterJobs } from './sqs-queue-policy.js';
import { queueAttributes } from './lib/sqs.js';

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
  /**
   * Observed: a policy on the queue while batchctl sets none (no rule-engine job sends to it, so there is
   * no queue policy node, and the state records none): it was added outside batchctl. Desired: none.
   */
  unmanagedPolicy?: PolicyDocument;
}

/** The queue's Policy attribute when batchctl manages none (see QueueDesired.unmanagedPolicy). */
function unmanagedPolicy(ctx: Ctx, text: string | undefined): PolicyDocument | undefined {
  if (!text || ruleDeadLetterJobs(ctx.config).length || ctx.maybeRecord(K.deadLetterQueuePolicy)) return undefined;
  try {
    return JSON.parse(text) as PolicyDocument;
  } catch {
    return { Version: '2012-10-17', Statement: [] };
  }
}

const ATTRIBUTES: QueueAttributes = { MessageRetentionPeriod: '1209600', SqsManagedSseEnabled: 'true' };

async function urlOf(ctx: Ctx, name: string): Promise<string | undefined> {
  return (await ifExists(ctx.aws.sqs.send(new GetQueueUrlCommand({ QueueName: name })), SQS_QUEUE_GONE))?.QueueUrl;
}

/** A queue's tags, or undefined when it is gone. */
async function queueTags(ctx: Ctx, url: string): Promise<Record<string, string> | undefined> {
  const out = await ifExists(ctx.aws.sqs.send(new ListQueueTagsCommand({ QueueUrl: url })), SQS_QUEUE_GONE);
  return out && (out.Tags ?? {});
}

/** The scheduler's dead-letter queue. */
export const sqsQueue: ResourceKind<QueueDesired> = {
  kind: 'sqs.queue',
  label: 'SQS queue',
  dependsOn: [],
  costly: false,

  nodes: (config) => (usesDeadLetterQueue(config) ? [{ key: K.deadLetterQueue, deps: [], params: {} }] : []),

  desired: (ctx, node) => ({
    name: deadLetterQueueName(ctx.config),
    attributes: { ...ATTRIBUTES },
    tags: resourceTags(ctx, node.key),
  }),

  async find(ctx, _node, recorded) {
    const name = deadLetterQueueName(ctx.config);
    let url = recorded?.id;
    // GetQueueAttributes carries no tags: the tags are one more read, which the tag diff needs anyway, sent
    // alongside when the queue's URL is recorded.
    let [attrs, tags] = url
      ? await Promise.all([queueAttributes(ctx, url), queueTags(ctx, url)])
      : [undefined, undefined];
    if (!attrs) {
      url = await urlOf(ctx, name);
      attrs = url ? await queueAttributes(ctx, url) : undefined;
      tags = url && attrs ? await queueTags(ctx, url) : undefined;
    }
    if (!url || !attrs) return undefined;
    tags ??= {};
    const actualName = url.split('/').pop()!;
    const own = ownershipOf(ctx, tags);
    const added = own.owned ? unmanagedPolicy(ctx, attrs.Policy) : undefined;
    return {
      record: { kind: 'sqs.queue', id: url, arn: attrs.QueueArn ?? queueArn(ctx, actualName) },
      ...own,
      observed: {
        name: actualName,
        attributes: {
          MessageRetentionPeriod: attrs.MessageRetentionPeriod ?? '',
          SqsManagedSseEnabled: attrs.SqsManagedSseEnabled ?? 'false',
        },
        tags: managedTags(ctx, tags),
        ...(added ? { unmanagedPolicy: added } : {}),
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
          if ((SQS_DELETED_RECENTLY as readonly string[]).includes(awsErrorCode(err))) return undefined;
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
      if (d.attributes[k] !== o.attributes[k])
        changes.push({ field: `attributes.${k}`, from: o.attributes[k], to: d.attributes[k] });
    }
    changes.push(...tagChanges(d.tags, o.tags));
    if (o.unmanagedPolicy) changes.push({ ...policyChange('policy', undefined, o.unmanagedPolicy), to: 'none' });
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    const QueueUrl = found.record.id;
    // An empty Policy removes it.
    if (changes.some((c) => c.field === 'policy'))
      await ctx.aws.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: '' } }));
    const attrs = changes
      .filter((c) => c.field.startsWith('attributes.'))
      .map((c) => c.field.slice('attributes.'.length) as keyof QueueAttributes);
    // The attributes and the tags are independent calls: together.
    await Promise.all([
      attrs.length &&
        ctx.aws.sqs.send(
          new SetQueueAttributesCommand({
            QueueUrl,
            Attributes: Object.fromEntries(attrs.map((k) => [k, d.attributes[k]])),
          }),
        ),
      hasTagChange(changes) &&
        convergeTags(d.tags, found.observed.tags, {
          tag: (set) => ctx.aws.sqs.send(new TagQueueCommand({ QueueUrl, Tags: set })),
          untag: (keys) => ctx.aws.sqs.send(new UntagQueueCommand({ QueueUrl, TagKeys: keys })),
        }),
    ]);
  },

  async ownerOf(ctx, record) {
    const tags = await queueTags(ctx, record.id);
    return tags && ownershipOf(ctx, tags);
  },

  // The queue keeps the scheduled invocations that could not start the task: `down` refuses to drop
  // them silently, like a bucket's objects.
  async contents(ctx, record) {
    const out = await ifExists(
      ctx.aws.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: record.id,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      ),
      SQS_QUEUE_GONE,
    );
    if (!out) return undefined;
    const count =
      Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    return count ? { count, description: `${count} failed scheduled invocation${count === 1 ? '' : 's'}` } : undefined;
  },

  async delete(ctx, record) {
    // Deleting a queue deletes its messages: the failed invocations it kept go with it.
    await unlessGone(ctx.aws.sqs.send(new DeleteQueueCommand({ QueueUrl: record.id })), SQS_QUEUE_GONE);
  },
};
