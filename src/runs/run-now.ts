/**
 * `run-now`: start the job exactly as the schedule would (the LIVE EventBridge target's settings), then
 * wait for it, streaming that task's own log stream, and report the container's exit code. A job whose
 * schedule starts its state machine (a timeout or retries) runs through it (run-execution.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  ListTasksCommand,
  RunTaskCommand,
  type ECSClient,
  type Failure,
  type RunTaskCommandInput,
  type Task,
  type TaskOverride,
} from '@aws-sdk/client-ecs';
import { ListTargetsByRuleCommand, type Target } from '@aws-sdk/client-eventbridge';
import type { AwsClients, ServiceName } from '../aws/clients.js';
import type { JobConfig } from '../config/schema.js';
import { UserError, awsErrorCode, isNotFound, NothingStarted } from '../base/errors.js';
import { taskIdOf, taskStream } from './logs.js';
import { loadStackConfig, openStack, type OpenStack } from '../engine/stack.js';
import { needsEndpoints, runBlockers } from './run-check.js';
import { pickJob } from '../model/job-select.js';
import { TARGET_ID } from '../resources/events-target.js';
import { isRunTaskTarget, parseRunTaskTargetInput, scheduleGroupName } from '../model/scheduler.js';
import {
  RUN_NOW_STARTED_BY,
  explainFailure,
  manualInput,
  mergeEnv,
  refuseOverlap,
  waitForTask,
  type RunNowOptions,
  type RunNowResult,
} from './task-run.js';
import { familyOf } from '../model/policies.js';

/** True for the ARN of a Step Functions state machine (the target of a job with a timeout or retries). */
export const isStateMachineArn = (arn: string | undefined): boolean =>
  /^arn:[^:]+:states:[^:]*:\d*:stateMachine:/.test(arn ?? '');

/** Read the schedule's target (ECS, or the job's state machine) as it is in AWS now. */
export async function readTarget(aws: Pick<AwsClients, 'eventBridge'>, rule: string): Promise<Target> {
  const upFirst = new UserError(`the schedule target of rule ${rule} does not exist`, 'run `batchctl up` first');
  let targets: Target[];
  try {
    targets = (await aws.eventBridge.send(new ListTargetsByRuleCommand({ Rule: rule }))).Targets ?? [];
  } catch (err) {
    if (isNotFound(err)) throw upFirst;
    throw err;
  }
  const t = targets.find((x) => x.Id === TARGET_ID);
  if (!t?.Arn || (!t.EcsParameters?.TaskDefinitionArn && !isStateMachineArn(t.Arn))) throw upFirst;
  return t;
}

/**
 * Read the Scheduler schedule's target, in the rule target's shape so the rest of run-now is shared.
 * Its Input goes in as an input template: the scheduled-time context attribute is a placeholder like
 * the rule's `<time>`, and is dropped the same way (a manual run has no scheduled time).
 */
export async function readScheduleTarget(
  aws: Pick<AwsClients, 'scheduler'>,
  group: string,
  name: string,
): Promise<Target> {
  const { GetScheduleCommand } = await import('../aws/sdk/scheduler.js');
  const upFirst = new UserError(`the schedule ${group}/${name} does not exist`, 'run `batchctl up` first');
  let s;
  try {
    s = await aws.scheduler.send(new GetScheduleCommand({ GroupName: group, Name: name }));
  } catch (err) {
    if (isNotFound(err)) throw upFirst;
    throw err;
  }
  const t = s.Target;
  const e = t?.EcsParameters;
  // The universal RunTask target: its Input is the whole request; the overrides go in as the template.
  const run = isRunTaskTarget(t?.Arn) ? parseRunTaskTargetInput(t?.Input) : undefined;
  if (run) {
    const x = run.ecs;
    return {
      Id: TARGET_ID,
      Arn: run.cluster,
      RoleArn: t!.RoleArn,
      InputTransformer: { InputPathsMap: {}, InputTemplate: run.overrides },
      EcsParameters: {
        TaskDefinitionArn: x.taskDefinitionArn,
        TaskCount: x.taskCount,
        LaunchType: x.launchType as 'FARGATE',
        PlatformVersion: x.platformVersion,
        NetworkConfiguration: {
          awsvpcConfiguration: {
            Subnets: x.subnets,
            SecurityGroups: x.securityGroups,
            AssignPublicIp: x.assignPublicIp as 'DISABLED',
          },
        },
        PropagateTags: x.propagateTags as 'TASK_DEFINITION',
        EnableECSManagedTags: x.enableEcsManagedTags,
      },
    };
  }
  if (!t?.Arn || (!e?.TaskDefinitionArn && !isStateMachineArn(t.Arn))) throw upFirst;
  return {
    Id: TARGET_ID,
    Arn: t.Arn,
    RoleArn: t.RoleArn,
    ...(t.Input !== undefined ? { InputTransformer: { InputPathsMap: {}, InputTemplate: t.Input } } : {}),
    ...(e
      ? {
          EcsParameters: {
            ...e,
            // Scheduler writes tags as [{key: value}], EventBridge as [{Key, Value}].
            Tags: e.Tags?.flatMap((m) => Object.entries(m).map(([Key, Value]) => ({ Key, Value }))),
          } as Target['EcsParameters'],
        }
      : {}),
  };
}

/**
 * The RunTask request that does what the target does: EventBridge's PascalCase EcsParameters mapped to
 * ECS's camelCase, the target's Input as overrides, then `--command` / `--env` on our container.
 */
export function runTaskInput(
  t: Target,
  container: string,
  o: { command?: string[]; env?: Record<string, string>; clientToken: string },
): RunTaskCommandInput {
  const e = t.EcsParameters!;
  const vpc = e.NetworkConfiguration?.awsvpcConfiguration;
  const overrides = targetOverrides(t);
  if (o.command || (o.env && Object.keys(o.env).length)) {
    const list = overrides.containerOverrides ?? [];
    let c = list.find((x) => x.name === container);
    if (!c) list.push((c = { name: container }));
    if (o.command) c.command = o.command;
    if (o.env) {
      const current = (c.environment ?? []).map((v) => [v.name ?? '', v.value ?? ''] as const);
      c.environment = mergeEnv(current, o.env).map(([name, value]) => ({ name, value }));
    }
    overrides.containerOverrides = list;
  }
  return {
    cluster: t.Arn,
    taskDefinition: e.TaskDefinitionArn,
    count: e.TaskCount ?? 1,
    ...(e.CapacityProviderStrategy?.length
      ? {
          capacityProviderStrategy: e.CapacityProviderStrategy.map((s) => ({
            capacityProvider: s.capacityProvider,
            weight: s.weight,
            base: s.base,
          })),
        }
      : { launchType: e.LaunchType }),
    platformVersion: e.PlatformVersion,
    networkConfiguration: vpc
      ? {
          awsvpcConfiguration: {
            subnets: vpc.Subnets,
            securityGroups: vpc.SecurityGroups,
            assignPublicIp: vpc.AssignPublicIp,
          },
        }
      : undefined,
    propagateTags: e.PropagateTags,
    enableECSManagedTags: e.EnableECSManagedTags,
    enableExecuteCommand: e.EnableExecuteCommand,
    group: e.Group,
    referenceId: e.ReferenceId,
    tags: e.Tags?.map((x) => ({ key: x.Key, value: x.Value })),
    overrides,
    // startedBy allows 36 letters, digits, hyphens and underscores; scheduled runs show events-rule/<name>.
    startedBy: RUN_NOW_STARTED_BY,
    // The SDK resends the same serialized request on a retry, token included: a RunTask whose response
    // was lost is answered with the task it already started instead of starting a second one.
    clientToken: o.clientToken,
  };
}

/**
 * The container overrides the target would send: its static Input, or its InputTransformer's template
 * with the event placeholders taken out. A manual run has no scheduled event, so an environment variable
 * filled from the event (BATCH_SCHEDULED_TIME) is left unset, which the job reads as "not scheduled".
 */
export function targetOverrides(t: Target): TaskOverride {
  return (
    manualInput<TaskOverride>(t, (o, placeholder) => {
      for (const c of o.containerOverrides ?? []) {
        if (c.environment) c.environment = c.environment.filter((v) => v.value !== placeholder);
      }
    }) ?? {}
  );
}

/**
 * A run known to fail before its container starts (its image missing, the endpoints down) is refused
 * before anything is started, saying why and what fixes it; `force` starts it anyway, with a warning.
 */
async function refuseDoomed(
  stack: OpenStack,
  job: JobConfig,
  taskDefinition: string,
  opts: RunNowOptions,
): Promise<void> {
  const blockers = await runBlockers(stack.aws, stack.config, stack.account, job, taskDefinition);
  if (!blockers.length) return;
  if (opts.force) {
    for (const b of blockers) opts.reporter.warn(`starting job ${job.name} anyway (--force), although ${b.what}`);
    return;
  }
  const [first, ...more] = blockers;
  throw new UserError(
    `job ${job.name} would fail before its container starts: ${first!.what}`,
    `${blockers.map((b) => b.fix).join('; ')}; or pass --force to start it anyway`,
    more.map((b) => `also: ${b.what}`),
  );
}

/** Start the job now; by default wait for it to stop, streaming its log. */
export async function runNow(opts: RunNowOptions): Promise<RunNowResult> {
  const config = await loadStackConfig(opts);
  // Step Functions too: the live trigger, not the config, says whether the job runs through its state
  // machine. ECR for the image check; EC2 only where the tasks depend on the interface endpoints.
  const services: ServiceName[] = [
    'ecs',
    'ecr',
    'eventBridge',
    'scheduler',
    'logs',
    'sts',
    'sfn',
    ...(needsEndpoints(config) ? ['ec2' as const] : []),
  ];
  const stack = await openStack(opts, services, undefined, config);
  try {
    const { aws } = stack;
    const job = pickJob(config, opts.job, 'batchctl run-now <job>');
    // Exactly what the job's trigger in force would start: the live rule target or the live schedule's.
    let target =
      job.schedule.engine === 'scheduler'
        ? await readScheduleTarget(aws, scheduleGroupName(config), job.schedule.name)
        : await readTarget(aws, job.schedule.name);
    if (isStateMachineArn(target.Arn)) {
      const { readStateMachine, runExecution, directTarget } = await import('./run-execution.js');
      const sm = await readStateMachine(aws.sfn, target.Arn!);
      if (!opts.direct) {
        await refuseDoomed(stack, job, String(sm.args.TaskDefinition ?? job.task.family), opts);
        return await runExecution(stack, job, target, sm, opts);
      }
      target = directTarget(target, sm, job, opts);
    } else if (opts.direct) {
      opts.reporter.warn(
        `job ${job.name} has no timeout or retries: its schedule runs the task directly already (--direct changes nothing)`,
      );
    }
    const cluster = target.Arn!;
    const family = familyOf(target.EcsParameters!.TaskDefinitionArn!);
    await refuseOverlap(
      opts,
      async () =>
        ((await aws.ecs.send(new ListTasksCommand({ cluster, family, desiredStatus: 'RUNNING' }))).taskArns ?? []).map(
          taskIdOf,
        ),
      (ids) => `a task of family ${family} is already running (${ids.join(', ')})`,
    );
    await refuseDoomed(stack, job, target.EcsParameters!.TaskDefinitionArn!, opts);
    const input = runTaskInput(target, job.task.containerName, {
      command: opts.command,
      env: opts.env,
      clientToken: opts.clientToken ?? randomUUID(),
    });
    const spot = input.capacityProviderStrategy?.some((x) => x.capacityProvider === 'FARGATE_SPOT') ?? false;
    // Fargate Spot, run directly (`--direct` on a Spot job): what its state machine does, done here. Spot
    // starting no task, or reclaiming the one it started, is not the run's failure: it goes on on-demand.
    const onDemand = {
      ...input,
      capacityProviderStrategy: undefined,
      launchType: 'FARGATE' as const,
      clientToken: `${input.clientToken}-on-demand`,
    };
    let first = await startTask(aws.ecs, input, spot);
    let fallback: RunNowResult['spotFallback'];
    if (!first.task && spot) {
      fallback = { reason: `Fargate Spot started no task (${first.why})` };
      opts.onFallback?.(`${fallback.reason}: starting it on on-demand Fargate`);
      first = await startTask(aws.ecs, onDemand, false);
    }
    if (!first.task) throw new NothingStarted(first.failures.map(explainFailure));
    const follow = async (task: Task): Promise<RunNowResult> => {
      const result: RunNowResult = {
        job: job.name,
        taskArn: task.taskArn!,
        taskId: taskIdOf(task.taskArn!),
        cluster,
        logGroup: config.logs.group,
        logStream: taskStream(job, task.taskArn!),
        lastStatus: task.lastStatus ?? 'PROVISIONING',
        detached: false,
        ...(task.capacityProviderName ? { capacityProviderName: task.capacityProviderName } : {}),
        ...(fallback ? { spotFallback: fallback } : {}),
      };
      opts.onStarted?.(result);
      if (opts.wait === false) return result;
      opts.onStatus?.(result.lastStatus);
      return await waitForTask(aws.ecs, aws.logs, task, result, job.task.containerName, opts);
    };
    const r = await follow(first.task);
    if (!spot || fallback || r.detached || r.stopCode !== 'SpotInterruption') return r;
    const why = [r.stopCode, r.stoppedReason].filter(Boolean).join(': ');
    fallback = {
      reason: `Fargate Spot reclaimed task ${r.taskId} (${why})`,
      taskId: r.taskId,
      exitCode: r.exitCode,
      stopCode: r.stopCode,
    };
    opts.onFallback?.(`${fallback.reason}: running it again on on-demand Fargate`);
    const again = await startTask(aws.ecs, onDemand, false);
    if (!again.task) throw new NothingStarted(again.failures.map(explainFailure));
    return await follow(again.task);
  } finally {
    await stack.close();
  }
}

/**
 * RunTask once: the task it started, or why none. On Fargate Spot (`spot`) a refusal that names capacity
 * (RunTask may answer it as an error rather than in failures[]) is an answer too: the caller goes on-demand.
 */
async function startTask(
  ecs: ECSClient,
  input: RunTaskCommandInput,
  spot: boolean,
): Promise<{ task?: Task; failures: Failure[]; why?: string }> {
  try {
    const out = await ecs.send(new RunTaskCommand(input));
    const task = out.tasks?.[0];
    if (task?.taskArn) return { task, failures: [] };
    const failures = out.failures ?? [];
    // On Spot, ECS's own words: explainFailure's advice (try again later) is not what happens next.
    const why = failures
      .map((f) => (spot ? [f.reason, f.detail].filter(Boolean).join(': ') : explainFailure(f)))
      .join('; ');
    return { failures, why: why || 'no reason given' };
  } catch (err) {
    if (!spot || !/capacity/i.test((err as Error).message ?? '')) throw err;
    return { failures: [], why: `${awsErrorCode(err)}: ${(err as Error).message}` };
  }
}
