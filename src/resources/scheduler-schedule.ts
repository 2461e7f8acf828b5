/**
 * The EventBridge Scheduler schedule that starts the task (engine `scheduler`): the cron in the
 * configured time zone, the same RunTask as the rule engine's target (through Scheduler's universal
 * target, model/scheduler.ts), a retry policy and a dead-letter queue. Schedules are not taggable: one
 * belongs to us when its group (which carries our tags) does, and a pause is recorded at the end of its
 * description (model/pause.ts).
 */
import { sortKeys } from '../base/json.js';
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
  type GetScheduleOutput,
  type Target,
} from '@aws-sdk/client-scheduler';
import { awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, Found, ResourceKind } from '../engine/types.js';
import {
  ecsChanges,
  ecsTargetDeps,
  ecsTargetParams,
  observeEcsParams,
  TARGET_NETWORK_KINDS,
  type EcsTargetParams,
} from '../model/ecs-target.js';
import { executionInputTemplate, stateMachineArn, usesStateMachine } from '../model/state-machine.js';
import { K, jobKey } from '../model/keys.js';
import { jobOf, jobUsesDeadLetterQueue, schedulerJobs, type JobParams } from '../model/jobs.js';
import { findRule } from './lib/events.js';
import type { JobConfig } from '../config/schema.js';
import {
  SCHEDULED_TIME_ATTRIBUTE,
  isRunTaskTarget,
  parseRunTaskTargetInput,
  runTaskTargetArn,
  runTaskTargetInput,
  scheduleGroupName,
  schedulerInput,
} from '../model/scheduler.js';
import {
  describeMark,
  keptPause,
  markField,
  splitMark,
  withMark,
  type PauseMark,
  type Pausable,
} from '../model/pause.js';
import { clientToken, foundWith, inheritedOwnership } from './lib/tags.js';
import { createUnique } from './lib/create.js';
import { scheduleGroupOwnership } from './scheduler-schedule-group.js';
import { ifExists, unlessGone } from './lib/aws-calls.js';

/** Schedules cannot be tagged: ours when the group is (its node's verdict from this walk, else its tags). */
const groupOwnership = (ctx: Ctx, group: string) =>
  inheritedOwnership(ctx, K.scheduleGroup, group, () => scheduleGroupOwnership(ctx, group));

export interface ScheduleDesired {
  name: string;
  group: string;
  expression: string;
  timezone: string;
  state: 'ENABLED' | 'DISABLED';
  /** The description without the pause mark, which `paused` holds. */
  description: string;
  /** The pause the schedule's description records, or none. */
  paused?: PauseMark;
  /** 0: OFF (on time); else FLEXIBLE within this many minutes. */
  flexibleWindowMinutes: number;
  target: {
    /**
     * The universal RunTask target (model/scheduler.ts), or the job's state machine ARN (a job with a
     * timeout or retries). Schedules written by earlier batchctl have the cluster ARN here (the ECS
     * templated target): `up` replaces them with the universal target.
     */
    arn: string;
    roleArn: string;
    /** The cluster the task runs in; undefined for a state machine target. */
    cluster?: string;
    /** The RunTask settings; undefined for a state machine target, whose definition holds them. */
    ecs?: EcsTargetParams;
    /**
     * The RunTask overrides JSON (or the state machine's execution input), with the scheduled-time context
     * attribute. Compared canonically.
     */
    input: string;
    retry: { maximumEventAgeInSeconds?: number; maximumRetryAttempts?: number };
    /** The dead-letter queue ARN, or undefined for none. */
    deadLetterArn?: string;
  };
}

const idOf = (group: string, name: string) => `${group}/${name}`;
const splitId = (id: string) => {
  const i = id.lastIndexOf('/');
  return { GroupName: id.slice(0, i), Name: id.slice(i + 1) };
};

/** A schedule, read once per walk (Scheduler has no call answering many schedules' targets). */
function getSchedule(ctx: Ctx, group: string, name: string): Promise<GetScheduleOutput | undefined> {
  // ResourceNotFoundException covers a missing schedule and a missing group.
  return ctx.memo(`scheduler:schedule:${group}/${name}`, () =>
    ifExists(ctx.aws.scheduler.send(new GetScheduleCommand({ GroupName: group, Name: name }))),
  );
}

/**
 * The pause a job's rule carries, when the state records one for the job: a paused job whose engine
 * switches to the Scheduler stays paused (the rule is deleted once the schedule exists).
 */
async function pauseOfRule(ctx: Ctx, job: JobConfig): Promise<PauseMark | undefined> {
  const rec = ctx.maybeRecord(jobKey(job, K.rule));
  const hit = rec ? await findRule(ctx, rec, rec.id) : undefined;
  return hit?.owned ? hit.paused : undefined;
}

/** The pause a schedule's description records (undefined: none, or no such schedule). */
export async function scheduleMark(ctx: Ctx, id: string): Promise<PauseMark | undefined> {
  const s = await getSchedule(ctx, splitId(id).GroupName, splitId(id).Name);
  return s ? splitMark(s.Description ?? '').paused : undefined;
}

/** The full definition: CreateSchedule's input, and UpdateSchedule's (which replaces every field). */
function definition(d: ScheduleDesired): Omit<CreateScheduleCommandInput, 'ClientToken'> {
  const e = d.target.ecs;
  // The universal target takes the whole RunTask request as its Input; the templated one (only ever sent
  // back as it is, by pause and resume of a schedule `up` has not converted yet) takes EcsParameters.
  const universal = isRunTaskTarget(d.target.arn);
  const target: Target = {
    Arn: d.target.arn,
    RoleArn: d.target.roleArn,
    Input: universal && e ? runTaskTargetInput(d.target.cluster ?? '', e, d.target.input, d.name) : d.target.input,
    RetryPolicy: {
      MaximumEventAgeInSeconds: d.target.retry.maximumEventAgeInSeconds,
      MaximumRetryAttempts: d.target.retry.maximumRetryAttempts,
    },
    ...(d.target.deadLetterArn ? { DeadLetterConfig: { Arn: d.target.deadLetterArn } } : {}),
    ...(e && !universal
      ? {
          EcsParameters: {
            TaskDefinitionArn: e.taskDefinitionArn,
            TaskCount: e.taskCount,
            LaunchType: e.launchType as 'FARGATE',
            PlatformVersion: e.platformVersion,
            NetworkConfiguration: {
              awsvpcConfiguration: {
                Subnets: e.subnets,
                SecurityGroups: e.securityGroups,
                AssignPublicIp: e.assignPublicIp as 'DISABLED',
              },
            },
            PropagateTags: e.propagateTags as 'TASK_DEFINITION',
            EnableECSManagedTags: e.enableEcsManagedTags,
          },
        }
      : {}),
  };
  return {
    Name: d.name,
    GroupName: d.group,
    ScheduleExpression: d.expression,
    ScheduleExpressionTimezone: d.timezone,
    State: d.state,
    Description: withMark(d.description, d.paused),
    FlexibleTimeWindow:
      d.flexibleWindowMinutes > 0
        ? { Mode: 'FLEXIBLE', MaximumWindowInMinutes: d.flexibleWindowMinutes }
        : { Mode: 'OFF' },
    Target: target,
  };
}

/** The schedule's settings as GetSchedule shows them, in the shape of ScheduleDesired. */
export function observedSchedule(s: GetScheduleOutput): ScheduleDesired {
  const t = s.Target;
  const e = t?.EcsParameters;
  const run = isRunTaskTarget(t?.Arn) ? parseRunTaskTargetInput(t?.Input) : undefined;
  const { description, paused } = splitMark(s.Description ?? '');
  return {
    name: s.Name ?? '',
    group: s.GroupName ?? '',
    expression: s.ScheduleExpression ?? '',
    timezone: s.ScheduleExpressionTimezone ?? 'UTC',
    state: s.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
    description,
    ...(paused ? { paused } : {}),
    flexibleWindowMinutes:
      s.FlexibleTimeWindow?.Mode === 'FLEXIBLE' ? (s.FlexibleTimeWindow.MaximumWindowInMinutes ?? 0) : 0,
    target: {
      arn: t?.Arn ?? '',
      roleArn: t?.RoleArn ?? '',
      ...(run ? { cluster: run.cluster, ecs: run.ecs } : e ? { cluster: t?.Arn ?? '', ecs: observeEcsParams(e) } : {}),
      input: run ? run.overrides : (t?.Input ?? ''),
      retry: {
        maximumEventAgeInSeconds: t?.RetryPolicy?.MaximumEventAgeInSeconds,
        maximumRetryAttempts: t?.RetryPolicy?.MaximumRetryAttempts,
      },
      deadLetterArn: t?.DeadLetterConfig?.Arn,
    },
  };
}

/** JSON text in comparable form (parsed, keys sorted); text that is not JSON as is. */
function canonicalJson(text: string): string {
  try {
    return JSON.stringify(sortKeys(JSON.parse(text)));
  } catch {
    return text;
  }
}

/**
 * Scheduler refuses a role it cannot assume yet with this ValidationException, without naming the
 * role. The message gets the role ARN so the engine's propagation retry can say which role it waits for.
 */
const NOT_ASSUMABLE = /must allow AWS EventBridge Scheduler to assume the role/i;
async function send<T>(roleArn: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (
      awsErrorCode(err) === 'ValidationException' &&
      NOT_ASSUMABLE.test((err as Error).message) &&
      !(err as Error).message.includes(roleArn)
    ) {
      (err as Error).message = `${(err as Error).message} (role ${roleArn})`;
    }
    throw err;
  }
}

/**
 * The target of a job with a timeout or retries: its state machine, started with the same command and
 * environment as the ECS target's input (the scheduled time as BATCH_SCHEDULED_TIME). UpdateSchedule
 * replaces the target in one call: the schedule never starts both, nor neither.
 */
function stateMachineTarget(ctx: Ctx, job: JobConfig): Pick<ScheduleDesired['target'], 'arn' | 'input'> {
  return {
    arn: ctx.maybeRecord(jobKey(job, K.stateMachine))?.arn ?? stateMachineArn(ctx, job),
    input: executionInputTemplate(job.task.command, job.schedule.duplicateGuard, SCHEDULED_TIME_ATTRIBUTE),
  };
}

/** A job's schedule (scheduler engine). */
export const schedulerSchedule: ResourceKind<ScheduleDesired, JobParams> = {
  kind: 'scheduler.schedule',
  label: 'Schedule',
  dependsOn: [
    'scheduler.schedule-group',
    'sqs.queue',
    'ecs.cluster',
    'ecs.task-definition',
    'iam.role',
    'iam.role-policy',
    'states.state-machine',
    ...TARGET_NETWORK_KINDS,
  ],
  costly: false,

  nodes: (config) =>
    schedulerJobs(config).map((job) => ({
      key: jobKey(job, K.schedule),
      // The role's inline policy must be in place before Scheduler first assumes the role.
      deps: [
        K.scheduleGroup,
        jobKey(job, K.role('scheduler')),
        ...(usesStateMachine(job)
          ? [jobKey(job, K.startPolicy('scheduler')), jobKey(job, K.stateMachine)]
          : [jobKey(job, K.rolePolicy('scheduler')), ...ecsTargetDeps(config, job)]),
        ...(jobUsesDeadLetterQueue(job) ? [K.deadLetterQueue] : []),
      ],
      // A schedule lives in its group: a group that does not exist holds none.
      partOf: [K.scheduleGroup],
      params: { job: job.name },
    })),

  // The schedules the state records, read in the walk's first round instead of once their dependencies are.
  prefetch(ctx, nodes) {
    for (const n of nodes) {
      const id = ctx.maybeRecord(n.key)?.id;
      if (id) getSchedule(ctx, splitId(id).GroupName, splitId(id).Name).catch(() => undefined);
    }
  },

  // A pause of `down --endpoints` is lifted only once the endpoints are back: the schedule depends on
  // them (ecsTargetDeps), as its target's network needs them.
  async desired(ctx, node, found) {
    const job = jobOf(ctx.config, node.params.job);
    const { task, schedule } = job;
    const paused = keptPause(found ? found.observed.paused : await pauseOfRule(ctx, job));
    return {
      name: schedule.name,
      group: ctx.record(K.scheduleGroup).id,
      expression: schedule.expression,
      timezone: schedule.timezone ?? 'UTC',
      state: schedule.enabled && !paused ? 'ENABLED' : 'DISABLED',
      description: schedule.description ?? `Runs the ${task.family} task (batchctl stack ${ctx.stack})`,
      ...(paused ? { paused } : {}),
      flexibleWindowMinutes: schedule.flexibleWindowMinutes,
      target: {
        roleArn: ctx.record(jobKey(job, K.role('scheduler'))).arn ?? '',
        ...(usesStateMachine(job)
          ? stateMachineTarget(ctx, job)
          : {
              arn: runTaskTargetArn(ctx.partition),
              cluster: ctx.record(K.cluster).arn ?? '',
              ecs: ecsTargetParams(ctx, job),
              input: schedulerInput(task.containerName, task.command, schedule.duplicateGuard),
            }),
        retry: {
          maximumEventAgeInSeconds: schedule.retry.maximumEventAgeSeconds,
          maximumRetryAttempts: schedule.retry.maximumRetryAttempts,
        },
        deadLetterArn: jobUsesDeadLetterQueue(job) ? ctx.record(K.deadLetterQueue).arn : undefined,
      },
    };
  },

  notes: (d, found) => {
    const m = found ? found.observed.paused : d.paused;
    // A pause this run lifts (down --endpoints', once the endpoints are back) is a change, not a note: the
    // up that resumes the schedule must not warn that it is paused.
    if (m && found && !d.paused && m.reason !== 'user') return [];
    return m ? [describeMark(m)] : [];
  },

  async find(ctx, node, recorded) {
    const group = ctx.maybeRecord(K.scheduleGroup)?.id ?? scheduleGroupName(ctx.config);
    const name = jobOf(ctx.config, node.params.job).schedule.name;
    let s = recorded ? await getSchedule(ctx, splitId(recorded.id).GroupName, splitId(recorded.id).Name) : undefined;
    if (!s && recorded?.id !== idOf(group, name)) s = await getSchedule(ctx, group, name);
    if (!s?.Name || !s.GroupName) return undefined;
    return foundWith(await groupOwnership(ctx, s.GroupName), {
      record: {
        kind: 'scheduler.schedule',
        id: idOf(s.GroupName, s.Name),
        arn: s.Arn,
        attrs: { group: s.GroupName, name: s.Name },
      },
      observed: observedSchedule(s),
    });
  },

  async create(ctx, node, d) {
    // CreateSchedule takes an idempotency token: a retried call after a lost response gets the first
    // call's answer from AWS. An endpoint that does not honour the token (an emulator) answers the resend
    // ConflictException: right after our own attempt, a schedule of this name in our group with exactly
    // our settings is that attempt's (schedules take no tags: the group is ours).
    const ClientToken = await clientToken(ctx, node.key);
    const arn = await createUnique(
      'Schedule',
      `${d.group}/${d.name}`,
      async () =>
        (
          await send(d.target.roleArn, () =>
            ctx.aws.scheduler.send(new CreateScheduleCommand({ ...definition(d), ClientToken })),
          )
        ).ScheduleArn,
      (err) => awsErrorCode(err) === 'ConflictException',
      async () => {
        const s = await getSchedule(ctx, d.group, d.name);
        if (!s?.Arn || schedulerSchedule.diff(d, observedSchedule(s)).length) return undefined;
        const own = await groupOwnership(ctx, d.group);
        return own && { ...own, value: s.Arn };
      },
    );
    return { kind: 'scheduler.schedule', id: idOf(d.group, d.name), arn, attrs: { group: d.group, name: d.name } };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    for (const f of ['name', 'group'] as const)
      if (d[f] !== o[f]) changes.push({ field: f, from: o[f], to: d[f], replace: true });
    for (const f of ['expression', 'timezone', 'state', 'description', 'flexibleWindowMinutes'] as const) {
      if (d[f] !== o[f]) changes.push({ field: f, from: o[f], to: d[f] });
    }
    if (markField(d.paused) !== markField(o.paused))
      changes.push({ field: 'paused', from: markField(o.paused), to: markField(d.paused) });
    for (const f of ['arn', 'roleArn', 'cluster', 'deadLetterArn'] as const) {
      if ((d.target[f] ?? null) !== (o.target[f] ?? null))
        changes.push({ field: `target.${f}`, from: o.target[f], to: d.target[f] });
    }
    if (canonicalJson(d.target.input) !== canonicalJson(o.target.input))
      changes.push({ field: 'target.input', from: o.target.input, to: d.target.input });
    if (JSON.stringify(sortKeys(d.target.retry)) !== JSON.stringify(sortKeys(o.target.retry))) {
      changes.push({ field: 'target.retry', from: o.target.retry, to: d.target.retry });
    }
    changes.push(...ecsChanges(d.target.ecs, o.target.ecs, 'target.ecs'));
    return changes;
  },

  async update(ctx, _node, found, d) {
    // UpdateSchedule replaces the whole schedule: every field is sent, or the omitted ones are reset.
    const { GroupName, Name } = splitId(found.record.id);
    await send(d.target.roleArn, () =>
      ctx.aws.scheduler.send(new UpdateScheduleCommand({ ...definition(d), GroupName, Name })),
    );
  },

  ownerOf: (ctx, record) => groupOwnership(ctx, splitId(record.id).GroupName),

  async delete(ctx, record) {
    await unlessGone(ctx.aws.scheduler.send(new DeleteScheduleCommand(splitId(record.id))));
  },
};

/**
 * `batchctl pause` and `resume` on a schedule: UpdateSchedule replaces the whole schedule, so it is sent
 * as it is live (not as the config says now) with only the state and the description's mark changed, in
 * one call.
 */
export const schedulePause: Pausable<ScheduleDesired> = {
  async pause(ctx, found: Found<ScheduleDesired>, mark) {
    await setSchedule(ctx, found, { ...found.observed, state: 'DISABLED', paused: mark });
  },
  async resume(ctx, found, enabled) {
    const { paused: _gone, ...rest } = found.observed;
    await setSchedule(ctx, found, { ...rest, state: enabled ? 'ENABLED' : 'DISABLED' });
  },
};

async function setSchedule(ctx: Ctx, found: Found<ScheduleDesired>, d: ScheduleDesired): Promise<void> {
  const { GroupName, Name } = splitId(found.record.id);
  await send(d.target.roleArn, () =>
    ctx.aws.scheduler.send(new UpdateScheduleCommand({ ...definition(d), GroupName, Name })),
  );
}
