/**
 * The dead-letter queue's policy: EventBridge (events.amazonaws.com) may send to the queue on behalf of
 * this stack's schedule rules, and of nothing else. EventBridge Scheduler sends with the schedule's own
 * role (whose inline policy allows sqs:SendMessage on the queue), so the queue policy covers the rules only.
 *
 * `aws:SourceArn` lists the rules' exact ARNs (ArnEquals) rather than an ArnLike prefix pattern: a job's
 * rule may carry any name (`schedule.name`), and a prefix `rule/<stack>*` would also admit the rules of a
 * stack whose name starts with this one (`prod` and `prod-eu`). A rule ARN follows from its name, so the
 * list is known before the rules exist, and it converges as jobs are added or removed. At 50 jobs the
 * document is about 5 KB, within SQS's policy size limit.
 *
 * The policy is the queue's `Policy` attribute: it cannot be tagged, and is ours when the queue is.
 */
import { ListQueueTagsCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { queueAttributes } from './lib/sqs.js';
import { isNotFound } from '../base/errors.js';
import { retryWhile } from './lib/create.js';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { jobUsesDeadLetterQueue, ruleJobs } from '../model/jobs.js';
import { arn, policyChange, samePolicy, type PolicyDocument } from '../model/policies.js';
import { deadLetterQueueName, queueArn, queueUrl } from '../model/scheduler.js';
import { foundWith, inheritedOwnership, ownershipOf } from './lib/tags.js';
import type { StackConfig } from '../config/schema.js';
import { ifExists, unlessGone } from './lib/aws-calls.js';
import { SQS_QUEUE_GONE } from '../model/aws-errors.js';

export interface QueuePolicyDesired {
  policy: PolicyDocument | undefined;
}

/** The jobs whose rule sends to the dead-letter queue. */
export const ruleDeadLetterJobs = (config: StackConfig) => ruleJobs(config).filter(jobUsesDeadLetterQueue);

/** The queue policy admitting exactly these rules (ARNs of the default bus's rules, by name). */
export function deadLetterQueuePolicy(ctx: Ctx, queue: string): PolicyDocument {
  const rules = ruleDeadLetterJobs(ctx.config)
    .map((j) => arn(ctx, 'events', `rule/${j.schedule.name}`))
    .sort();
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ScheduleRulesDeadLetters',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queue,
        Condition: { ArnEquals: { 'aws:SourceArn': rules.length === 1 ? rules[0]! : rules } },
      },
    ],
  };
}

/** The queue URL: its record, else the one SQS gives its name in this account. */
const urlOf = (ctx: Ctx) => ctx.maybeRecord(K.deadLetterQueue)?.id ?? queueUrl(ctx, deadLetterQueueName(ctx.config));

async function queueOwnership(ctx: Ctx, url: string) {
  const out = await ifExists(ctx.aws.sqs.send(new ListQueueTagsCommand({ QueueUrl: url })), SQS_QUEUE_GONE);
  return out && ownershipOf(ctx, out.Tags ?? {});
}

function parse(text: string | undefined): PolicyDocument | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as PolicyDocument;
  } catch {
    return undefined;
  }
}

async function put(ctx: Ctx, url: string, d: QueuePolicyDesired) {
  await ctx.aws.sqs.send(
    new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: d.policy ? JSON.stringify(d.policy) : '' } }),
  );
  return { kind: 'sqs.queue-policy', id: url, attrs: { queue: url } };
}

/** The dead-letter queue's policy (rule-engine jobs with a dead-letter queue only). */
export const sqsQueuePolicy: ResourceKind<QueuePolicyDesired> = {
  kind: 'sqs.queue-policy',
  label: 'SQS queue policy',
  dependsOn: ['sqs.queue'],
  costly: false,

  // An attribute of the queue: AWS imposes it, and a queue that does not exist has none.
  nodes: (config) =>
    ruleDeadLetterJobs(config).length
      ? [{ key: K.deadLetterQueuePolicy, deps: [K.deadLetterQueue], partOf: [K.deadLetterQueue], params: {} }]
      : [],

  desired: (ctx) => ({
    policy: deadLetterQueuePolicy(
      ctx,
      ctx.record(K.deadLetterQueue).arn ?? queueArn(ctx, deadLetterQueueName(ctx.config)),
    ),
  }),

  async find(ctx, _node, recorded) {
    const url = recorded?.attrs?.queue ?? urlOf(ctx);
    // The queue's own read of its attributes, shared (sqs-queue.ts).
    const text = (await queueAttributes(ctx, url))?.Policy;
    if (!text) return undefined;
    return foundWith(await inheritedOwnership(ctx, K.deadLetterQueue, url, () => queueOwnership(ctx, url)), {
      record: { kind: 'sqs.queue-policy', id: url, attrs: { queue: url } },
      observed: { policy: parse(text) },
    });
  },

  // SQS: a queue created a moment ago can answer QueueDoesNotExist for a while before it is available.
  create: (ctx, _node, d) =>
    retryWhile(
      ctx,
      'the new dead-letter queue to become available',
      () => put(ctx, ctx.record(K.deadLetterQueue).id, d),
      (err) => isNotFound(err, ...SQS_QUEUE_GONE),
    ),

  diff(d, o): FieldChange[] {
    return samePolicy(d.policy, o.policy) ? [] : [policyChange('policy', d.policy, o.policy)];
  },

  update: async (ctx, _node, found, d) => {
    await put(ctx, found.record.attrs?.queue ?? found.record.id, d);
  },

  async delete(ctx, record) {
    // An empty Policy removes it; a queue already gone has none.
    const QueueUrl = record.attrs?.queue ?? record.id;
    const remove = new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: '' } });
    await unlessGone(ctx.aws.sqs.send(remove), SQS_QUEUE_GONE);
  },

  ownerOf: (ctx, record) => queueOwnership(ctx, record.attrs?.queue ?? record.id),
};
