/**
 * Failure alerts: names, ARNs, the alert rule's event pattern and the topic policy shared by the
 * sns.topic, sns.subscription, events.alert-rule and events.alert-target kinds.
 */
import type { StackConfig } from '../config/schema.js';
import { usesDeadLetterQueue } from './scheduler.js';
import type { Ctx } from '../engine/types.js';
import { arn, type PolicyDocument } from './policies.js';
import { historyEventPattern } from './history.js';

/** True when `up` manages a topic of its own (notify.emails given, no topic of the user's). */
export const ownsTopic = (config: StackConfig): boolean =>
  !!config.notify && !config.notify.topicArn && config.notify.emails.length > 0;

/** True when the config asks for alerts at all. */
export const alertsOn = (config: StackConfig): boolean =>
  !!config.notify && (!!config.notify.topicArn || config.notify.emails.length > 0);

/** The topic batchctl creates: `<stack>-alerts`. */
export const topicName = (ctx: Ctx): string => `${ctx.stack}-alerts`;

/** Topic ARNs are computable from the name, which is what lets `find` cost one call. */
export const ownTopicArn = (ctx: Ctx): string => arn(ctx, 'sns', topicName(ctx));

/** Where alerts go: the user's topic, else ours. */
export const alertTopicArn = (ctx: Ctx): string => ctx.config.notify?.topicArn ?? ownTopicArn(ctx);

/** The alert rule: `<stack>-failed-runs` (stack names are at most 32 characters; rule names 64). */
export const alertRuleName = (ctx: Ctx): string => `${ctx.stack}-failed-runs`;

/** Rules on the default bus have this ARN, known before the rule exists (the topic policy needs it). */
export const alertRuleArn = (ctx: Ctx): string => arn(ctx, 'events', `rule/${alertRuleName(ctx)}`);

/** True when the stack has the dead-letter alarm: alerts on, and a job with a dead-letter queue. */
export const deadLetterAlarmOn = (config: StackConfig): boolean => alertsOn(config) && usesDeadLetterQueue(config);

/** The alarm on the dead-letter queue: `<stack>-dead-letters`. */
export const deadLetterAlarmName = (ctx: Pick<Ctx, 'stack'>): string => `${ctx.stack}-dead-letters`;

/** Alarm ARNs follow from the name: `arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>`. */
export const deadLetterAlarmArn = (ctx: Ctx): string => arn(ctx, 'cloudwatch', `alarm:${deadLetterAlarmName(ctx)}`);

/**
 * The event pattern of the alert rule: an ECS "Task State Change" of this cluster and task family that
 * says STOPPED, and either a container exited non-zero or the task never started.
 *
 * - The family is matched on `taskDefinitionArn` by prefix (`.../task-definition/<family>:`), not on
 *   `group`: RunTask lets the caller set any group (EventBridge and Scheduler ECS targets have a `Group`
 *   field), while the task definition ARN always names the family. The trailing `:` keeps family
 *   `batch` from matching `batch-2`.
 * - `containers` is an array of objects; EventBridge matches a pattern against each element, so
 *   `exitCode: anything-but 0` fires when ANY container exited non-zero. `anything-but` does not match
 *   a missing field, so a container that never ran (no exitCode) does not match that branch.
 * - A task that never started (image pull failed, secret not readable, no ENI) has no exit code at all:
 *   ECS reports it with stopCode TaskFailedToStart, the second `$or` branch.
 */
export function alertEventPattern(
  clusterArn: string,
  taskDefinitionPrefixes: string[],
  config?: Pick<StackConfig, 'jobs'>,
): Record<string, unknown> {
  // The history rule's tasks (the same clusters, families and STOPPED), narrowed to the failed ones.
  const stopped = historyEventPattern(clusterArn, taskDefinitionPrefixes);
  return {
    ...stopped,
    detail: {
      ...stopped.detail,
      $or: [
        { containers: { exitCode: [{ 'anything-but': 0 }] } },
        { stopCode: ['TaskFailedToStart'] },
        // A task Fargate Spot reclaims alerts even when its job exits 0 on the SIGTERM (the run goes on
        // on-demand; the message says so). Only with a Spot job: other stacks keep the rule they have.
        ...(config && spotJobs(config) ? [{ stopCode: ['SpotInterruption'] }] : []),
      ],
    },
  };
}

/** True when a job of the stack runs its first attempt on Fargate Spot. */
export const spotJobs = (config: Pick<StackConfig, 'jobs'>): boolean =>
  config.jobs.some((j) => j.task.capacity === 'spot');

/**
 * The task definition ARN prefixes the alert rule matches: `.../task-definition/<family>:` (every
 * revision of the family, and nothing else) for the original job and for jobs with a family name of
 * their own, and one `.../task-definition/<stack>-` for every job named `<stack>-<job>`.
 *
 * Why not one `<family>:` per job: an event pattern may hold 2,048 characters (EventBridge's default
 * quota, 4,096 at most), and each family costs about 80, so one per job stops fitting at about 20 jobs.
 * The shared prefix keeps the pattern the same size however many jobs there are, so adding or removing
 * a job never rewrites the rule. It can match another stack's `<stack>-...` family only together with
 * this stack's own cluster (the pattern's other condition), where only this stack's jobs run.
 */
export function familyArnPrefixes(ctx: Ctx): string[] {
  const prefix = (rest: string) => arn(ctx, 'ecs', `task-definition/${rest}`);
  const out = new Set<string>();
  for (const job of ctx.config.jobs) {
    out.add(
      !job.original && job.task.family === `${ctx.stack}-${job.name}`
        ? prefix(`${ctx.stack}-`)
        : prefix(`${job.task.family}:`),
    );
  }
  return [...out].sort();
}

/**
 * The policy of our topic. Setting `Policy` replaces the default one SNS writes at creation, so the
 * account's own rights are restated (the root principal delegates to IAM, as the default's
 * `AWS:SourceOwner` condition does); EventBridge may only publish on behalf of the alert rule
 * (`aws:SourceArn`), so no other rule in the account, or any other account, can post to the list.
 */
export function topicPolicy(ctx: Ctx, topicArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AccountOwner',
        Effect: 'Allow',
        Principal: { AWS: `arn:${ctx.partition}:iam::${ctx.account}:root` },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: topicArn,
      },
      {
        Sid: 'AlertRulePublish',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: topicArn,
        Condition: { ArnEquals: { 'aws:SourceArn': alertRuleArn(ctx) } },
      },
      // Setting Policy dropped the default statement (any principal, AWS:SourceOwner = this account) that
      // lets a CloudWatch alarm of the account publish; the root statement above does not admit the
      // cloudwatch.amazonaws.com service principal. So the dead-letter alarm, and only it, is named here.
      ...(deadLetterAlarmOn(ctx.config)
        ? [
            {
              Sid: 'DeadLetterAlarmPublish',
              Effect: 'Allow' as const,
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: topicArn,
              Condition: {
                ArnEquals: { 'aws:SourceArn': deadLetterAlarmArn(ctx) },
                StringEquals: { 'aws:SourceAccount': ctx.account },
              },
            },
          ]
        : []),
    ],
  };
}
