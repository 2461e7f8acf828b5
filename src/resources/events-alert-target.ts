/**
 * The alert rule's SNS target: turns the ECS event into a readable message. Targets are not taggable and
 * have no ARN; one belongs to us when its rule does. An SNS target needs no role: EventBridge publishes
 * under the topic's resource policy (ours allows exactly the alert rule; a topic of the user's is checked
 * and a warning given when its policy does not mention EventBridge).
 */
import { PutTargetsCommand, type Target } from '@aws-sdk/client-eventbridge';
import { GetTopicAttributesCommand } from '@aws-sdk/client-sns';
import { UserError, awsErrorCode, isNotFound } from '../base/errors.js';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { alertRuleArn, alertRuleName, alertTopicArn, alertsOn, ownsTopic, spotJobs } from '../model/notify.js';
import { canonicalJson, sortKeys } from '../base/json.js';
import {
  checkFailedEntries,
  findTarget,
  prefetchTargets,
  removeTarget,
  ruleOwnership,
  targetOwnership,
} from './lib/events.js';
import { foundWith } from './lib/tags.js';

export const ALERT_TARGET_ID = 'notify';

export interface AlertTargetDesired {
  rule: string;
  /** The topic ARN. */
  arn: string;
  inputTransformer: { inputPathsMap: Record<string, string>; inputTemplate: string } | undefined;
}

/**
 * Values taken from the event. EventBridge input paths take dot notation and array indices; the job has
 * one container, so `containers[0]` is it.
 */
/** What the message needs besides ALERT_INPUT_PATHS when the stack has several jobs: which job's run it was. */
const JOB_INPUT_PATHS: Record<string, string> = { taskDefinitionArn: '$.detail.taskDefinitionArn' };

export const ALERT_INPUT_PATHS: Record<string, string> = {
  taskArn: '$.detail.taskArn',
  exitCode: '$.detail.containers[0].exitCode',
  stopCode: '$.detail.stopCode',
  stoppedReason: '$.detail.stoppedReason',
  startedBy: '$.detail.startedBy',
  stoppedAt: '$.detail.stoppedAt',
};

/**
 * The message. A plain-text template (not JSON): SNS e-mails it as is. Every placeholder sits outside
 * quotes, where EventBridge writes a string value as a JSON string, so the ARN arrives in quotes, which
 * a shell accepts in `batchctl logs --task "<arn>"`. EventBridge cannot split strings, so the message
 * gives the whole task ARN (logs --task takes the ARN, the task id that ends it, or the id's first 8
 * characters).
 */
export function alertTemplate(ctx: Ctx): string {
  const c = ctx.config;
  const one = c.jobs.length === 1 ? c.jobs[0]! : undefined;
  return [
    one
      ? `batchctl: a run of ${one.task.family} failed (stack ${ctx.stack}, cluster ${c.cluster.name}, ${ctx.region}).`
      : `batchctl: a run of a job of stack ${ctx.stack} failed (cluster ${c.cluster.name}, ${ctx.region}).`,
    '',
    // With several jobs the task definition (family:revision) says whose run it was.
    ...(one ? [] : ['Task definition: <taskDefinitionArn>']),
    'Task: <taskArn>',
    'Exit code: <exitCode>',
    'Stop code: <stopCode>',
    'Reason: <stoppedReason>',
    'Started by: <startedBy>',
    'Stopped at: <stoppedAt>',
    '',
    'Read its log:',
    '  batchctl logs --task <taskArn>',
    '(the task id is the last part of the task ARN; --task takes the ARN, the id, or its first 8 characters)',
    // An input template cannot branch on the stop code: with a Spot job, every message says what it means.
    ...(spotJobs(c)
      ? [
          '',
          'Stop code SpotInterruption: Fargate Spot reclaimed the task, and the run continues on on-demand Fargate',
          '(batchctl history shows how it ended).',
        ]
      : []),
  ].join('\n');
}

function toTarget(d: AlertTargetDesired): Target {
  return {
    Id: ALERT_TARGET_ID,
    Arn: d.arn,
    ...(d.inputTransformer
      ? {
          InputTransformer: {
            InputPathsMap: d.inputTransformer.inputPathsMap,
            InputTemplate: d.inputTransformer.inputTemplate,
          },
        }
      : {}),
  };
}

/**
 * A topic of the user's must let EventBridge publish. Its policy cannot be changed from here (it is not
 * ours), so `up` reads it and warns when no statement mentions events.amazonaws.com.
 */
async function checkUserTopic(ctx: Ctx, topicArn: string): Promise<void> {
  let policy: string | undefined;
  try {
    policy = (await ctx.aws.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes?.Policy;
  } catch (err) {
    if (isNotFound(err))
      throw new UserError(
        `notify.topicArn ${topicArn} does not exist`,
        'create the topic first, or list e-mail addresses under notify.emails instead',
      );
    // Another account's topic, or no sns:GetTopicAttributes: the target still works if the policy allows it.
    ctx.reporter.warn(
      `cannot read the policy of ${topicArn} (${awsErrorCode(err)}): make sure it lets events.amazonaws.com publish`,
    );
    return;
  }
  if (!policy?.includes('events.amazonaws.com')) {
    ctx.reporter.warn(
      `the policy of ${topicArn} does not mention events.amazonaws.com: EventBridge cannot publish failure alerts to it. ` +
        `Add a statement allowing Service events.amazonaws.com sns:Publish (Condition ArnEquals aws:SourceArn ${alertRuleArn(ctx)})`,
    );
  }
}

const canonicalTransformer = (x: AlertTargetDesired['inputTransformer']) =>
  x && JSON.stringify({ paths: sortKeys(x.inputPathsMap), template: canonicalJson(x.inputTemplate) });

/** The alert rule's SNS target. */
export const eventsAlertTarget: ResourceKind<AlertTargetDesired> = {
  kind: 'events.alert-target',
  label: 'EventBridge alert target',
  dependsOn: ['events.alert-rule', 'sns.topic'],
  costly: false,

  nodes: (config) =>
    alertsOn(config)
      ? [
          {
            key: K.alertTarget,
            deps: [K.alertRule, ...(ownsTopic(config) ? [K.alertTopic] : [])],
            partOf: [K.alertRule],
            params: {},
          },
        ]
      : [],

  prefetch: (ctx) => prefetchTargets(ctx, [ctx.maybeRecord(K.alertRule)?.id]),

  async desired(ctx) {
    const own = ownsTopic(ctx.config);
    const arn = own ? (ctx.record(K.alertTopic).arn ?? ctx.record(K.alertTopic).id) : alertTopicArn(ctx);
    if (!own) await checkUserTopic(ctx, arn);
    return {
      rule: ctx.record(K.alertRule).id,
      arn,
      inputTransformer: {
        inputPathsMap: { ...ALERT_INPUT_PATHS, ...(ctx.config.jobs.length > 1 ? JOB_INPUT_PATHS : {}) },
        inputTemplate: alertTemplate(ctx),
      },
    };
  },

  async find(ctx, _node, recorded) {
    const rule = recorded?.attrs?.rule ?? ctx.maybeRecord(K.alertRule)?.id ?? alertRuleName(ctx);
    const t = await findTarget(ctx, rule, ALERT_TARGET_ID);
    if (!t) return undefined;
    // Targets cannot be tagged: ours when the rule is.
    return foundWith(await targetOwnership(ctx, K.alertRule, rule), {
      record: { kind: 'events.alert-target', id: `${rule}:${ALERT_TARGET_ID}`, attrs: { rule } },
      observed: {
        rule,
        arn: t.Arn ?? '',
        inputTransformer: t.InputTransformer
          ? {
              inputPathsMap: { ...t.InputTransformer.InputPathsMap },
              inputTemplate: t.InputTransformer.InputTemplate ?? '',
            }
          : undefined,
      },
    });
  },

  async create(ctx, _node, d) {
    checkFailedEntries(await ctx.aws.eventBridge.send(new PutTargetsCommand({ Rule: d.rule, Targets: [toTarget(d)] })));
    return { kind: 'events.alert-target', id: `${d.rule}:${ALERT_TARGET_ID}`, attrs: { rule: d.rule } };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.rule !== o.rule) changes.push({ field: 'rule', from: o.rule, to: d.rule, replace: true });
    if (d.arn !== o.arn) changes.push({ field: 'arn', from: o.arn, to: d.arn });
    if (canonicalTransformer(d.inputTransformer) !== canonicalTransformer(o.inputTransformer)) {
      changes.push({ field: 'inputTransformer', from: o.inputTransformer, to: d.inputTransformer });
    }
    return changes;
  },

  async update(ctx, _node, _found, d) {
    // PutTargets with the same Id replaces the whole target.
    checkFailedEntries(await ctx.aws.eventBridge.send(new PutTargetsCommand({ Rule: d.rule, Targets: [toTarget(d)] })));
  },

  async delete(ctx, record) {
    await removeTarget(ctx, record, ALERT_TARGET_ID);
  },

  ownerOf: (ctx, record) => ruleOwnership(ctx, record.attrs?.rule ?? record.id.slice(0, record.id.lastIndexOf(':'))),
};
