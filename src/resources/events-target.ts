/**
 * The rule's ECS target: what the schedule starts. Targets are not taggable and have no ARN; one
 * belongs to us when its rule does.
 *
 * The container override is an input transformer, not a static Input, so the event's scheduled time
 * reaches the job as BATCH_SCHEDULED_TIME: the job's duplicate-trigger guard claims that time.
 */
import {
  checkFailedEntries,
  findTarget,
  prefetchTargets,
  removeTarget,
  ruleOwnership,
  targetOwnership,
} from './lib/events.js';
import { foundWith } from './lib/tags.js';
import { PutTargetsCommand, type Target } from '@aws-sdk/client-eventbridge';
import type { FieldChange, ResourceKind } from '../engine/types.js';
import { K, jobKey } from '../model/keys.js';
import { jobOf, jobUsesDeadLetterQueue, ruleJobs, type JobParams } from '../model/jobs.js';
import { ENV_DUPLICATE_GUARD, ENV_SCHEDULED_TIME } from '../model/guard.js';
import {
  ecsChanges,
  ecsTargetDeps,
  ecsTargetParams,
  observeEcsParams,
  TARGET_NETWORK_KINDS,
  type EcsTargetParams,
} from '../model/ecs-target.js';
import { executionInputTemplate, stateMachineArn, usesStateMachine } from '../model/state-machine.js';
import type { JobConfig } from '../config/schema.js';
import type { Ctx } from '../engine/types.js';

export const TARGET_ID = 'batch';

export interface TargetDesired {
  rule: string;
  /** The cluster ARN, or the job's state machine ARN (a job with a timeout or retries). */
  arn: string;
  roleArn: string;
  /** The RunTask settings; undefined for a state machine target, whose definition holds them. */
  ecs?: EcsTargetParams;
  /**
   * A static JSON input, parsed. Always undefined in desired: targets created before the input
   * transformer carry one, and the diff then shows it going away.
   */
  input: unknown;
  /** Passes the event's `time` into the container override. */
  inputTransformer?: { inputPathsMap: Record<string, string>; inputTemplate: string };
  retry: { maximumEventAgeInSeconds?: number; maximumRetryAttempts?: number };
  /**
   * The stack's dead-letter queue (schedule.deadLetterQueue): an invocation EventBridge could not deliver
   * (RunTask refused, throttled past the retries, the role gone) lands there instead of being dropped.
   */
  deadLetterArn?: string;
}

const sortKeys = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(sortKeys)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sortKeys((v as any)[k])]),
        )
      : v;

/** The template's placeholder for the event time (the key of InputPathsMap). */
const TIME = 'time';
const SENTINEL = '\u0000time\u0000';

/**
 * The InputTemplate: the container override as JSON, with `"<time>"` where the event time goes.
 * EventBridge replaces a placeholder written inside quotes with the value's bare text, so the result is
 * a JSON string. Every other `<` is written as the JSON escape `\u003c`: EventBridge would otherwise read
 * `<word>` in a command argument as a placeholder, and the container still receives a plain `<`.
 */
export function inputTemplate(containerName: string, command: string[], duplicateGuard: boolean): string {
  const environment = [{ name: ENV_SCHEDULED_TIME, value: SENTINEL }];
  // The time is passed even with the guard off: the job logs it, and turning the guard back on needs no other change.
  if (!duplicateGuard) environment.push({ name: ENV_DUPLICATE_GUARD, value: 'off' });
  return JSON.stringify({ containerOverrides: [{ name: containerName, command, environment }] })
    .replaceAll('<', '\\u003c')
    .replace(JSON.stringify(SENTINEL), `"<${TIME}>"`);
}

/** A template in comparable form: parsed and key-sorted when it is JSON (ours always is), else as is. */
function canonicalTemplate(t: string | undefined): string | undefined {
  if (t === undefined) return undefined;
  try {
    return JSON.stringify(sortKeys(JSON.parse(t)));
  } catch {
    return t;
  }
}

const canonicalTransformer = (x: TargetDesired['inputTransformer']) =>
  x && JSON.stringify({ paths: sortKeys(x.inputPathsMap), template: canonicalTemplate(x.inputTemplate) });

function toTarget(d: TargetDesired): Target {
  return {
    Id: TARGET_ID,
    Arn: d.arn,
    RoleArn: d.roleArn,
    // Input and InputTransformer are exclusive; PutTargets replaces the whole target, dropping the other.
    ...(d.inputTransformer
      ? {
          InputTransformer: {
            InputPathsMap: d.inputTransformer.inputPathsMap,
            InputTemplate: d.inputTransformer.inputTemplate,
          },
        }
      : d.input !== undefined
        ? { Input: JSON.stringify(d.input) }
        : {}),
    RetryPolicy: {
      MaximumEventAgeInSeconds: d.retry.maximumEventAgeInSeconds,
      MaximumRetryAttempts: d.retry.maximumRetryAttempts,
    },
    ...(d.deadLetterArn ? { DeadLetterConfig: { Arn: d.deadLetterArn } } : {}),
    ...(d.ecs
      ? {
          EcsParameters: {
            TaskDefinitionArn: d.ecs.taskDefinitionArn,
            TaskCount: d.ecs.taskCount,
            LaunchType: d.ecs.launchType as 'FARGATE',
            PlatformVersion: d.ecs.platformVersion,
            NetworkConfiguration: {
              awsvpcConfiguration: {
                Subnets: d.ecs.subnets,
                SecurityGroups: d.ecs.securityGroups,
                AssignPublicIp: d.ecs.assignPublicIp as 'DISABLED',
              },
            },
            PropagateTags: d.ecs.propagateTags as 'TASK_DEFINITION',
            EnableECSManagedTags: d.ecs.enableEcsManagedTags,
          },
        }
      : {}),
  };
}

/**
 * The target of a job with a timeout or retries: its state machine, started with the same command and
 * environment the ECS target passes (the event's time as BATCH_SCHEDULED_TIME) as the execution input.
 * The same target Id: PutTargets replaces the ECS target in one call, so the rule never has two targets
 * nor none, and switching back is the same single call.
 */
function stateMachineTarget(ctx: Ctx, job: JobConfig): TargetDesired {
  const { task, schedule } = job;
  return {
    rule: ctx.record(jobKey(job, K.rule)).id,
    arn: ctx.maybeRecord(jobKey(job, K.stateMachine))?.arn ?? stateMachineArn(ctx, job),
    roleArn: ctx.record(jobKey(job, K.role('events'))).arn ?? '',
    input: undefined,
    inputTransformer: {
      inputPathsMap: { [TIME]: '$.time' },
      inputTemplate: executionInputTemplate(task.command, schedule.duplicateGuard, `<${TIME}>`),
    },
    retry: {
      maximumEventAgeInSeconds: schedule.retry.maximumEventAgeSeconds,
      maximumRetryAttempts: schedule.retry.maximumRetryAttempts,
    },
    ...deadLetters(ctx, job),
  };
}

/** The dead-letter queue's ARN for a job that uses it (the same for a state machine target). */
const deadLetters = (ctx: Ctx, job: JobConfig): Pick<TargetDesired, 'deadLetterArn'> =>
  jobUsesDeadLetterQueue(job) ? { deadLetterArn: ctx.record(K.deadLetterQueue).arn } : {};

/** PutTargets and RemoveTargets report per-target failures in the response, not as an exception. */
/** The schedule's ECS target. */
export const eventsTarget: ResourceKind<TargetDesired, JobParams> = {
  kind: 'events.target',
  label: 'EventBridge target',
  dependsOn: [
    'events.rule',
    'ecs.cluster',
    'ecs.task-definition',
    'iam.role',
    'iam.role-policy',
    'states.state-machine',
    'sqs.queue',
    'sqs.queue-policy',
    ...TARGET_NETWORK_KINDS,
  ],
  costly: false,

  // Only with the rule engine: switching to Scheduler drops this node, and `up` deletes the target
  // after the schedule exists.
  nodes: (config) =>
    ruleJobs(config).map((job) => ({
      key: jobKey(job, K.target),
      // The events role's inline policy must be in place before EventBridge first assumes the role.
      deps: [
        jobKey(job, K.rule),
        jobKey(job, K.role('events')),
        ...(usesStateMachine(job)
          ? [jobKey(job, K.startPolicy('events')), jobKey(job, K.stateMachine)]
          : [jobKey(job, K.rolePolicy('events')), ...ecsTargetDeps(config, job)]),
        // The queue policy first: EventBridge may dead-letter the very first invocation.
        ...(jobUsesDeadLetterQueue(job) ? [K.deadLetterQueue, K.deadLetterQueuePolicy] : []),
      ],
      // A target is its rule's: a rule that does not exist has none.
      partOf: [jobKey(job, K.rule)],
      params: { job: job.name },
    })),

  prefetch: (ctx, nodes) =>
    prefetchTargets(
      ctx,
      nodes.map((n) => ctx.maybeRecord(jobKey(jobOf(ctx.config, n.params.job), K.rule))?.id),
    ),

  desired(ctx, node) {
    const job = jobOf(ctx.config, node.params.job);
    if (usesStateMachine(job)) return stateMachineTarget(ctx, job);
    const { task, schedule } = job;
    return {
      rule: ctx.record(jobKey(job, K.rule)).id,
      arn: ctx.record(K.cluster).arn ?? '',
      roleArn: ctx.record(jobKey(job, K.role('events'))).arn ?? '',
      ecs: ecsTargetParams(ctx, job),
      input: undefined,
      inputTransformer: {
        inputPathsMap: { [TIME]: '$.time' },
        inputTemplate: inputTemplate(task.containerName, task.command, schedule.duplicateGuard),
      },
      retry: {
        maximumEventAgeInSeconds: schedule.retry.maximumEventAgeSeconds,
        maximumRetryAttempts: schedule.retry.maximumRetryAttempts,
      },
      ...deadLetters(ctx, job),
    };
  },

  async find(ctx, node, recorded) {
    const job = jobOf(ctx.config, node.params.job);
    const ruleKey = jobKey(job, K.rule);
    const rule = recorded
      ? recorded.id.slice(0, recorded.id.lastIndexOf(':'))
      : (ctx.maybeRecord(ruleKey)?.id ?? job.schedule.name);
    const t = await findTarget(ctx, rule, TARGET_ID);
    if (!t) return undefined;
    const e = t.EcsParameters;
    let input: unknown = t.Input;
    try {
      input = t.Input === undefined ? undefined : JSON.parse(t.Input);
    } catch {
      // Not JSON: keep the raw text, which then differs from the desired object.
    }
    // Targets cannot be tagged: ours when the rule is.
    return foundWith(await targetOwnership(ctx, ruleKey, rule), {
      record: { kind: 'events.target', id: `${rule}:${TARGET_ID}`, attrs: { rule } },
      observed: {
        rule,
        arn: t.Arn ?? '',
        roleArn: t.RoleArn ?? '',
        ...(e ? { ecs: observeEcsParams(e) } : {}),
        input,
        inputTransformer: t.InputTransformer
          ? {
              inputPathsMap: { ...t.InputTransformer.InputPathsMap },
              inputTemplate: t.InputTransformer.InputTemplate ?? '',
            }
          : undefined,
        retry: {
          maximumEventAgeInSeconds: t.RetryPolicy?.MaximumEventAgeInSeconds,
          maximumRetryAttempts: t.RetryPolicy?.MaximumRetryAttempts,
        },
        ...(t.DeadLetterConfig?.Arn ? { deadLetterArn: t.DeadLetterConfig.Arn } : {}),
      },
    });
  },

  async create(ctx, _node, d) {
    // A just-created events role comes back as a failed entry ("cannot be assumed by principal"),
    // rethrown by checkFailed so the engine's propagation retry sees it.
    checkFailedEntries(await ctx.aws.eventBridge.send(new PutTargetsCommand({ Rule: d.rule, Targets: [toTarget(d)] })));
    return { kind: 'events.target', id: `${d.rule}:${TARGET_ID}`, attrs: { rule: d.rule } };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.rule !== o.rule) changes.push({ field: 'rule', from: o.rule, to: d.rule, replace: true });
    for (const f of ['arn', 'roleArn', 'input', 'retry', 'deadLetterArn'] as const) {
      if (JSON.stringify(sortKeys(d[f])) !== JSON.stringify(sortKeys(o[f])))
        changes.push({ field: f, from: o[f], to: d[f] });
    }
    if (canonicalTransformer(d.inputTransformer) !== canonicalTransformer(o.inputTransformer)) {
      changes.push({ field: 'inputTransformer', from: o.inputTransformer, to: d.inputTransformer });
    }
    changes.push(...ecsChanges(d.ecs, o.ecs, 'ecs'));
    return changes;
  },

  async update(ctx, _node, _found, d) {
    // PutTargets with the same Id replaces the whole target.
    checkFailedEntries(await ctx.aws.eventBridge.send(new PutTargetsCommand({ Rule: d.rule, Targets: [toTarget(d)] })));
  },

  async delete(ctx, record) {
    await removeTarget(ctx, record, TARGET_ID);
  },

  ownerOf: (ctx, record) => ruleOwnership(ctx, record.attrs?.rule ?? record.id.slice(0, record.id.lastIndexOf(':'))),
};
