/**
 * Names, IAM documents and the target input of the EventBridge Scheduler engine.
 */
import { dnsSuffixOf } from '../config/regions.js';
import type { JobConfig, StackConfig } from '../config/schema.js';
import type { Ctx } from '../engine/types.js';
import { ENV_DUPLICATE_GUARD, ENV_SCHEDULED_TIME } from './guard.js';
import { K, jobKey, type RoleName } from './keys.js';
import { jobOf, jobUsesDeadLetterQueue, schedulerJobs } from './jobs.js';
import { arn, eventsPolicy, inlinePolicy, roleNameOf, trustPolicy, type PolicyDocument } from './policies.js';
import type { EcsTargetParams } from './ecs-target.js';
import {
  startExecutionPolicy,
  stateMachinePolicy,
  stateMachineTrustPolicy,
  usesStateMachine,
} from './state-machine.js';

/** Scheduler's context attribute for the time the schedule was due (`2027-03-14T06:30:00Z`). */
export const SCHEDULED_TIME_ATTRIBUTE = '<aws.scheduler.scheduled-time>';

/** True when a job of the config runs on EventBridge Scheduler: the stack then has its schedule group. */
export const usesScheduler = (config: StackConfig) => schedulerJobs(config).length > 0;

/** True when a job's schedule sends failed invocations to the dead-letter queue, which the stack then shares. */
export const usesDeadLetterQueue = (config: StackConfig) => config.jobs.some(jobUsesDeadLetterQueue);

/**
 * The stack's schedule group. Schedules cannot be tagged; the group can, so it carries our tags and
 * the schedule's ownership follows it.
 */
export const scheduleGroupName = (config: StackConfig) => config.stack;

/** The dead-letter queue's name. */
export const deadLetterQueueName = (config: StackConfig) => `${config.stack}-schedule-dlq`;

/** The queue URL SQS uses for a queue name (GetQueueUrl returns this form). */
export function queueUrl(ctx: Ctx, name: string): string {
  const host = `sqs.${ctx.region}.${dnsSuffixOf(ctx.partition)}`;
  return `https://${host}/${ctx.account}/${name}`;
}

/** SQS ARNs are derived from the name: `arn:<partition>:sqs:<region>:<account>:<name>`. */
export const queueArn = (ctx: Ctx, name: string) => arn(ctx, 'sqs', name);

/** One IAM role of the stack: the shared execution role, or a job's task or trigger role. */
export interface RoleRef {
  role: RoleName;
  /** The job whose role it is; undefined for the execution role. */
  job?: string;
}

/**
 * The roles of a config: the execution role (shared: it only pulls images, writes the shared log group
 * and reads the shared secret), and per job a task role (that job's bucket access), the trigger's role,
 * which follows the job's engine, and for a job with a timeout or retries its state machine's role.
 */
export function stackRoles(config: StackConfig): RoleRef[] {
  return [
    { role: 'execution' },
    ...config.jobs.flatMap((j): RoleRef[] => [
      { role: 'task', job: j.name },
      { role: j.schedule.engine === 'scheduler' ? 'scheduler' : 'events', job: j.name },
      ...(usesStateMachine(j) ? [{ role: 'states' as const, job: j.name }] : []),
    ]),
  ];
}

/** One inline policy of the stack: its role's, or (`start`) the trigger role's that starts the job's state machine. */
export interface PolicyRef extends RoleRef {
  start?: boolean;
}

/**
 * The inline policies of a config, one per role, except that the trigger role of a job that runs through
 * its state machine has the policy that starts it instead of the one that runs the task directly.
 */
export function stackPolicies(config: StackConfig): PolicyRef[] {
  return stackRoles(config).map((r) => {
    const job = r.job === undefined ? undefined : config.jobs.find((j) => j.name === r.job);
    return job && (r.role === 'events' || r.role === 'scheduler') && usesStateMachine(job) ? { ...r, start: true } : r;
  });
}

/** The node key of a policy: its role's `role-policy/<role>`, or the trigger's `role-policy/<role>/start-execution`. */
export function rolePolicyKey(config: StackConfig, r: PolicyRef): string {
  if (r.job === undefined) return K.rolePolicy(r.role);
  return jobKey(jobOf(config, r.job), r.start ? K.startPolicy(r.role as 'events' | 'scheduler') : K.rolePolicy(r.role));
}

/**
 * The inline policy's name: `<stack>-<role>` (as before jobs existed) for the original job, else
 * `<stack>-<job>-<role>`; the trigger's policy that starts the state machine adds `-start-execution`.
 */
export function rolePolicyName(ctx: Pick<Ctx, 'config' | 'stack'>, r: PolicyRef): string {
  const job = r.job === undefined ? undefined : jobOf(ctx.config, r.job);
  const base = !job || job.original ? `${ctx.stack}-${r.role}` : `${ctx.stack}-${job.name}-${r.role}`;
  return r.start ? `${base}-start-execution` : base;
}

/**
 * The inline policies batchctl may have put on the role named `roleName`: the one its config gives it, and
 * every one the state records on that role under any key (a trigger's other variant, when a job gained or
 * lost its state machine; a policy renamed when the stack's names moved into a job): `up` deletes those
 * once the rest has converged. Any other inline policy on the role was added outside batchctl.
 */
export function ownInlinePolicyNames(
  ctx: Pick<Ctx, 'config' | 'stack' | 'recordsOf'>,
  r: RoleRef,
  roleName: string,
): string[] {
  const names = stackPolicies(ctx.config)
    .filter((p) => p.role === r.role && p.job === r.job)
    .map((p) => rolePolicyName(ctx, p));
  // A role policy's record id is `<role name>:<policy name>`.
  for (const { id } of ctx.recordsOf('iam.role-policy')) {
    if (id.startsWith(`${roleName}:`)) names.push(id.slice(roleName.length + 1));
  }
  return [...new Set(names)].sort();
}

/** The name of one of the stack's roles. */
export function stackRoleName(ctx: Ctx, r: RoleRef): string {
  return roleNameOf(ctx, r.role, r.job);
}

/** Who may assume a role: the scheduler role trusts scheduler.amazonaws.com, from this account only. */
export function stackTrustPolicy(ctx: Ctx, r: RoleName): PolicyDocument {
  if (r === 'states') return stateMachineTrustPolicy(ctx);
  if (r !== 'scheduler') return trustPolicy(ctx, r);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        // Scoped to this stack's schedule group: another schedule in the account cannot use this role.
        Condition: {
          StringEquals: {
            'aws:SourceAccount': ctx.account,
            'aws:SourceArn': arn(ctx, 'scheduler', `schedule-group/${scheduleGroupName(ctx.config)}`),
          },
        },
      },
    ],
  };
}

/**
 * The scheduler role's permissions: the same as the EventBridge rule's role (run our family in our
 * cluster, pass our two task roles, tag the task on RunTask), plus sending failed invocations to the
 * dead-letter queue: Scheduler writes to the DLQ with the schedule's execution role.
 */
export function schedulerPolicy(ctx: Ctx, job: JobConfig, doc = eventsPolicy(ctx, job)): PolicyDocument {
  if (!jobUsesDeadLetterQueue(job)) return doc;
  const dlq = ctx.maybeRecord(K.deadLetterQueue)?.arn ?? queueArn(ctx, deadLetterQueueName(ctx.config));
  return {
    ...doc,
    Statement: [...doc.Statement, { Sid: 'DeadLetters', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: dlq }],
  };
}

/** The inline policy of any of the stack's roles (`start`: the trigger's that starts the job's state machine). */
export function stackInlinePolicy(ctx: Ctx, r: RoleName, job: JobConfig | undefined, start = false): PolicyDocument {
  if (start)
    return r === 'scheduler'
      ? schedulerPolicy(ctx, job!, startExecutionPolicy(ctx, job!))
      : startExecutionPolicy(ctx, job!);
  if (r === 'states') return stateMachinePolicy(ctx, job!);
  return r === 'scheduler' ? schedulerPolicy(ctx, job!) : inlinePolicy(ctx, r, job);
}

const SENTINEL = '\u0000time\u0000';

/**
 * The schedule target's Input: the RunTask overrides as JSON, with the scheduled-time context
 * attribute where BATCH_SCHEDULED_TIME's value goes (Scheduler substitutes it on every invocation, so
 * the job's duplicate guard sees the same time the rule engine passes). Any other `<` is written as
 * `\u003c` so a command argument can never be read as a context attribute.
 */
export function schedulerInput(containerName: string, command: string[], duplicateGuard: boolean): string {
  const environment = [{ name: ENV_SCHEDULED_TIME, value: SENTINEL }];
  if (!duplicateGuard) environment.push({ name: ENV_DUPLICATE_GUARD, value: 'off' });
  return JSON.stringify({ containerOverrides: [{ name: containerName, command, environment }] })
    .replaceAll('<', '\\u003c')
    .replace(JSON.stringify(SENTINEL), `"${SCHEDULED_TIME_ATTRIBUTE}"`);
}

/**
 * The universal target that calls ECS RunTask with the whole request as its Input. batchctl uses it for
 * jobs that run their task directly: the Scheduler guide documents context attributes replaced in a
 * target's payload and shows it in a universal target's Input, while an ECS templated target's Input is
 * converted into a TaskOverride when the schedule is created (boto3#4370: "Unable to convert target input
 * to TaskOverride"), where AWS never shows a context attribute replaced. The scheduled time must reach
 * the container, or the duplicate guard would see the same literal text at every run.
 */
export const runTaskTargetArn = (partition: string): string => `arn:${partition}:scheduler:::aws-sdk:ecs:runTask`;

/** True for the universal RunTask target's ARN (any partition). */
export const isRunTaskTarget = (targetArn: string | undefined): boolean =>
  /^arn:[^:]+:scheduler:::aws-sdk:ecs:runTask$/.test(targetArn ?? '');

/**
 * The ECS `startedBy` of tasks a schedule starts through the universal target (RunTask sets what the
 * request says; the templated target set `chronos-schedule/<name>` itself). 18 + 64 characters: within
 * startedBy's 128.
 */
export const SCHEDULE_STARTED_BY = 'batchctl-schedule/';

const OVERRIDES = '\u0000overrides\u0000';

/**
 * The universal target's Input: RunTask's request as the ECS API reference spells it (camelCase), with
 * `overrides` the JSON `schedulerInput` writes (the context attribute inside). Every other `<` is written
 * as `\u003c`, as there.
 */
export function runTaskTargetInput(
  cluster: string,
  e: EcsTargetParams,
  overrides: string,
  scheduleName: string,
): string {
  const request = {
    cluster,
    taskDefinition: e.taskDefinitionArn,
    count: e.taskCount,
    launchType: e.launchType,
    platformVersion: e.platformVersion,
    networkConfiguration: {
      awsvpcConfiguration: { subnets: e.subnets, securityGroups: e.securityGroups, assignPublicIp: e.assignPublicIp },
    },
    propagateTags: e.propagateTags,
    enableECSManagedTags: e.enableEcsManagedTags,
    startedBy: `${SCHEDULE_STARTED_BY}${scheduleName}`,
    overrides: OVERRIDES,
  };
  return JSON.stringify(request)
    .replaceAll('<', '\\u003c')
    .replace(JSON.stringify(OVERRIDES), () => overrides);
}

/**
 * A universal RunTask target's Input read back: the cluster, the ECS settings and the overrides (JSON
 * text); undefined when it is not one.
 */
export function parseRunTaskTargetInput(
  input: string | undefined,
): { cluster: string; ecs: EcsTargetParams; overrides: string; startedBy?: string } | undefined {
  let r: Record<string, any>;
  try {
    r = JSON.parse(input ?? '') as Record<string, any>;
  } catch {
    return undefined;
  }
  if (!r || typeof r !== 'object' || typeof r.taskDefinition !== 'string') return undefined;
  const vpc = r.networkConfiguration?.awsvpcConfiguration;
  return {
    cluster: String(r.cluster ?? ''),
    ecs: {
      taskDefinitionArn: r.taskDefinition,
      taskCount: r.count ?? 1,
      launchType: r.launchType ?? '',
      platformVersion: r.platformVersion ?? '',
      subnets: [...(vpc?.subnets ?? [])].sort(),
      securityGroups: [...(vpc?.securityGroups ?? [])].sort(),
      assignPublicIp: vpc?.assignPublicIp ?? 'DISABLED',
      propagateTags: r.propagateTags ?? '',
      enableEcsManagedTags: r.enableECSManagedTags ?? false,
    },
    overrides: JSON.stringify(r.overrides ?? {}),
    ...(typeof r.startedBy === 'string' ? { startedBy: r.startedBy } : {}),
  };
}
