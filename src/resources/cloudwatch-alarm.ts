/**
 * The CloudWatch alarm on the dead-letter queue (`<stack>-dead-letters`): as soon as the queue holds a
 * message, a run never started (RunTask refused, throttled past the retries, no capacity...) and no ECS
 * event exists for the failed-run rule to catch. It notifies the alert topic (ours, or notify.topicArn).
 * Only with `notify:` and a job whose schedule.deadLetterQueue is on.
 *
 * Why the queue's metric and not AWS/Events FailedInvocations: one alarm covers both engines (Scheduler
 * reports no FailedInvocations per rule), and the queue keeps the error that `status` then shows.
 *
 * Timing: SQS publishes ApproximateNumberOfMessagesVisible every 5 minutes, so the alarm fires up to ~5
 * minutes (plus the 5-minute period) after the failure. SQS stops publishing metrics for a queue that has
 * been idle (no messages, no calls) for about six hours; the missing data is treated as notBreaching so
 * an empty idle queue is OK, not INSUFFICIENT_DATA. A message sent wakes the queue up again.
 *
 * Ownership: found by name (DescribeAlarms), ours only with our tag (ListTagsForResource). PutMetricAlarm
 * is an upsert that ignores Tags on an existing alarm, so tags converge with TagResource/UntagResource.
 */
import {
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand,
  PutMetricAlarmCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type PutMetricAlarmCommandInput,
} from '@aws-sdk/client-cloudwatch';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import {
  alertTopicArn,
  deadLetterAlarmArn,
  deadLetterAlarmName,
  deadLetterAlarmOn,
  ownsTopic,
} from '../model/notify.js';
import { deadLetterQueueName } from '../model/scheduler.js';
import { hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges, tagList, tagRecord } from './lib/tags.js';
import { convergeTags, ifExists, unlessGone } from './lib/aws-calls.js';
import { CLOUDWATCH_GONE } from '../model/aws-errors.js';

/** The alarm's settings, in PutMetricAlarm's terms. */
export interface AlarmDesired {
  name: string;
  description: string;
  namespace: string;
  metricName: string;
  /** The queue's name (the metric's QueueName dimension). */
  queue: string;
  statistic: string;
  periodSeconds: number;
  evaluationPeriods: number;
  threshold: number;
  comparison: string;
  treatMissingData: string;
  /** The alert topic. */
  actions: string[];
  tags: Record<string, string>;
}

/** Settings compared field by field (tags and name apart). */
const FIELDS = [
  'description',
  'namespace',
  'metricName',
  'queue',
  'statistic',
  'periodSeconds',
  'evaluationPeriods',
  'threshold',
  'comparison',
  'treatMissingData',
  'actions',
] as const;

function putInput(d: AlarmDesired): PutMetricAlarmCommandInput {
  return {
    AlarmName: d.name,
    AlarmDescription: d.description,
    ActionsEnabled: true,
    AlarmActions: d.actions,
    Namespace: d.namespace,
    MetricName: d.metricName,
    Dimensions: [{ Name: 'QueueName', Value: d.queue }],
    Statistic: d.statistic as 'Maximum',
    Period: d.periodSeconds,
    EvaluationPeriods: d.evaluationPeriods,
    DatapointsToAlarm: d.evaluationPeriods,
    Threshold: d.threshold,
    ComparisonOperator: d.comparison as 'GreaterThanThreshold',
    TreatMissingData: d.treatMissingData,
  };
}

async function alarmTags(ctx: Ctx, alarmArn: string): Promise<Record<string, string> | undefined> {
  const read = new ListTagsForResourceCommand({ ResourceARN: alarmArn });
  const out = await ifExists(ctx.aws.cloudwatch.send(read), CLOUDWATCH_GONE);
  return out && tagRecord(out.Tags);
}

/** The dead-letter alarm. */
export const cloudwatchAlarm: ResourceKind<AlarmDesired> = {
  kind: 'cloudwatch.alarm',
  label: 'CloudWatch alarm',
  dependsOn: ['sqs.queue', 'sns.topic'],
  costly: false,

  nodes: (config) =>
    deadLetterAlarmOn(config)
      ? [
          {
            key: K.deadLetterAlarm,
            deps: [K.deadLetterQueue, ...(ownsTopic(config) ? [K.alertTopic] : [])],
            params: {},
          },
        ]
      : [],

  desired: (ctx, node) => ({
    name: deadLetterAlarmName(ctx),
    description: `Scheduled runs of batchctl stack ${ctx.stack} that never reached ECS (dead-lettered invocations): see batchctl status`,
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    queue: ctx.record(K.deadLetterQueue).id.split('/').pop() ?? deadLetterQueueName(ctx.config),
    statistic: 'Maximum',
    // SQS's metrics are 5-minute data points: a shorter period would only see missing data.
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
    actions: [ownsTopic(ctx.config) ? (ctx.record(K.alertTopic).arn ?? alertTopicArn(ctx)) : alertTopicArn(ctx)],
    tags: resourceTags(ctx, node.key),
  }),

  async find(ctx, _node, recorded) {
    const name = recorded?.id ?? deadLetterAlarmName(ctx);
    const out = await ctx.aws.cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: [name], AlarmTypes: ['MetricAlarm'] }),
    );
    const a = out.MetricAlarms?.find((m) => m.AlarmName === name);
    if (!a?.AlarmArn) return undefined;
    const tags = (await alarmTags(ctx, a.AlarmArn)) ?? {};
    return {
      record: { kind: 'cloudwatch.alarm', id: name, arn: a.AlarmArn },
      ...ownershipOf(ctx, tags),
      observed: {
        name,
        description: a.AlarmDescription ?? '',
        namespace: a.Namespace ?? '',
        metricName: a.MetricName ?? '',
        queue: a.Dimensions?.find((d) => d.Name === 'QueueName')?.Value ?? '',
        statistic: a.Statistic ?? '',
        periodSeconds: a.Period ?? 0,
        evaluationPeriods: a.EvaluationPeriods ?? 0,
        threshold: a.Threshold ?? 0,
        comparison: a.ComparisonOperator ?? '',
        treatMissingData: a.TreatMissingData ?? 'missing',
        actions: [...(a.AlarmActions ?? [])].sort(),
        tags: managedTags(ctx, tags),
      },
    };
  },

  async create(ctx, _node, d) {
    // PutMetricAlarm is an upsert by name, so a lost response's retry converges to the same alarm; find
    // saw no alarm of this name, so this does not take over someone else's.
    await ctx.aws.cloudwatch.send(new PutMetricAlarmCommand({ ...putInput(d), Tags: tagList(d.tags) }));
    return { kind: 'cloudwatch.alarm', id: d.name, arn: deadLetterAlarmArn(ctx) };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.name !== o.name) changes.push({ field: 'name', from: o.name, to: d.name, replace: true });
    for (const f of FIELDS) {
      const [to, from] = [f === 'actions' ? [...d.actions].sort() : d[f], o[f]];
      if (JSON.stringify(to) !== JSON.stringify(from)) changes.push({ field: f, from, to });
    }
    changes.push(...tagChanges(d.tags, o.tags));
    return changes;
  },

  async update(ctx, _node, found, d, changes) {
    // PutMetricAlarm replaces every setting (so all are sent) and ignores Tags on an existing alarm.
    const ResourceARN = found.record.arn ?? deadLetterAlarmArn(ctx);
    // The settings and the tags are independent calls: together.
    await Promise.all([
      changes.some((c) => c.field !== 'tags') &&
        ctx.aws.cloudwatch.send(new PutMetricAlarmCommand(putInput({ ...d, name: found.record.id }))),
      hasTagChange(changes) &&
        convergeTags(d.tags, found.observed.tags, {
          tag: (tags) => ctx.aws.cloudwatch.send(new TagResourceCommand({ ResourceARN, Tags: tagList(tags) })),
          untag: (TagKeys) => ctx.aws.cloudwatch.send(new UntagResourceCommand({ ResourceARN, TagKeys })),
        }),
    ]);
  },

  async ownerOf(ctx, record) {
    const tags = await alarmTags(ctx, record.arn ?? deadLetterAlarmArn(ctx));
    return tags && ownershipOf(ctx, tags);
  },

  async delete(ctx, record) {
    await unlessGone(ctx.aws.cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [record.id] })), CLOUDWATCH_GONE);
  },
};
