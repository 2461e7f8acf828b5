/**
 * `run-now` for a job whose schedule starts its state machine (a job with `task.timeout` or
 * `task.retries`): the same path as a scheduled run, so the timeout and the retries apply. It starts an
 * execution with the schedule's own input (no scheduled time: a manual run), follows each attempt's task
 * and log stream in turn as the execution history reveals them, and ends with the final attempt's exit
 * code, or a timeout. With `--direct` it runs the task as the definition would, without them.
 */
import {
  DescribeStateMachineCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { attemptsOf, executionEnd, executionHistory, executionInputOf, reasonOf } from './executions.js';
import type { Target } from '@aws-sdk/client-eventbridge';
import type { Task } from '@aws-sdk/client-ecs';
import { randomUUID } from 'node:crypto';
import type { JobConfig } from '../config/schema.js';
import { formatRunDuration } from '../config/run-policy.js';
import { STATES } from '../model/state-machine.js';
import { UserError, awsErrorCode, isNotFound } from '../base/errors.js';
import { sleep, taskIdOf, taskStream } from './logs.js';
import {
  manualInput,
  mergeEnv,
  refuseOverlap,
  waitForTask,
  type AttemptResult,
  type ExecutionInfo,
  type RunNowOptions,
  type RunNowResult,
} from './task-run.js';
import type { OpenStack } from '../engine/stack.js';
import { familyOf } from '../model/policies.js';
import { SFN_MACHINE_GONE } from '../model/aws-errors.js';

/** The input of an execution: the container's command and environment (PascalCase, as the definition reads them). */
export interface ExecutionInput {
  Command?: string[];
  Environment?: { Name: string; Value: string }[];
}

/** What the live definition says about the run: where and how the task runs, its timeout and retries. */
export interface LiveStateMachine {
  arn: string;
  /** The Run task state's Arguments (Cluster, TaskDefinition, NetworkConfiguration...). */
  args: Record<string, any>;
  timeoutSeconds?: number;
  maxAttempts: number;
  /** The first attempt runs on Fargate Spot, the later ones on-demand (`task.capacity: spot`). */
  spot: boolean;
}

/** The state machine as it is in AWS now, read for its definition. */
export async function readStateMachine(sfn: SFNClient, arn: string): Promise<LiveStateMachine> {
  const upFirst = new UserError(
    `the state machine ${arn.split(':').at(-1)} the schedule starts does not exist`,
    'run `batchctl up` first',
  );
  let def: {
    States?: Record<
      string,
      { Arguments?: Record<string, any>; TimeoutSeconds?: number; Retry?: { MaxAttempts?: number }[] }
    >;
  };
  try {
    const out = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    if (out.status === 'DELETING') throw upFirst;
    def = JSON.parse(out.definition ?? '{}');
  } catch (err) {
    if (isNotFound(err, ...SFN_MACHINE_GONE)) throw upFirst;
    if (err instanceof SyntaxError)
      throw new UserError(`the definition of ${arn} is not JSON`, 'run `batchctl up` to restore it');
    throw err;
  }
  const run = def.States?.[STATES.run];
  if (!run?.Arguments)
    throw new UserError(
      `the state machine ${arn} is not the one batchctl writes (no "${STATES.run}" state)`,
      'run `batchctl up` to restore it',
    );
  // A Spot job: the on-demand state makes the attempts after the first (the fallback, then its retries).
  const onDemand = def.States?.[STATES.onDemand];
  const maxAttempts = onDemand ? 2 + (onDemand.Retry?.[0]?.MaxAttempts ?? 0) : 1 + (run.Retry?.[0]?.MaxAttempts ?? 0);
  const spot =
    Array.isArray(run.Arguments.CapacityProviderStrategy) &&
    (run.Arguments.CapacityProviderStrategy as { CapacityProvider?: string }[]).some(
      (x) => x.CapacityProvider === 'FARGATE_SPOT',
    );
  return { arn, args: run.Arguments, timeoutSeconds: run.TimeoutSeconds, maxAttempts, spot };
}

/**
 * The input a manual run starts the execution with: the trigger's, without the scheduled time, with --command and
 * --env.
 */
export function executionInput(t: Target, o: Pick<RunNowOptions, 'command' | 'env'>): ExecutionInput {
  const input =
    manualInput<ExecutionInput>(t, (x, placeholder) => {
      if (x.Environment) x.Environment = x.Environment.filter((v) => v.Value !== placeholder);
    }) ?? {};
  if (o.command) input.Command = o.command;
  if (o.env && Object.keys(o.env).length) {
    const current = (input.Environment ?? []).map((v) => [v.Name, v.Value] as const);
    input.Environment = mergeEnv(current, o.env).map(([Name, Value]) => ({ Name, Value }));
  }
  // The definition appends to both: they must be there, even empty.
  return { Command: input.Command ?? [], Environment: input.Environment ?? [] };
}

/**
 * `--direct`: the target of a RunTask that runs what the state machine runs (its cluster, family and
 * network, the trigger's command and environment), without its timeout and retries.
 */
export function directTarget(
  t: Target,
  sm: LiveStateMachine,
  job: JobConfig,
  o: Pick<RunNowOptions, 'command' | 'env'>,
): Target {
  const a = sm.args;
  const vpc = a.NetworkConfiguration?.AwsvpcConfiguration;
  const input = executionInput(t, o);
  const container: Record<string, unknown> = {
    name: job.task.containerName,
    environment: (input.Environment ?? []).map((v) => ({ name: v.Name, value: v.Value })),
  };
  if (input.Command?.length) container.command = input.Command;
  return {
    Id: t.Id,
    Arn: a.Cluster,
    RoleArn: t.RoleArn,
    Input: JSON.stringify({ containerOverrides: [container] }),
    EcsParameters: {
      TaskDefinitionArn: a.TaskDefinition,
      TaskCount: 1,
      PlatformVersion: a.PlatformVersion,
      // A Spot job's first attempt: its strategy (EventBridge's shape: camelCase members), not a launch type.
      ...(Array.isArray(a.CapacityProviderStrategy)
        ? {
            CapacityProviderStrategy: (
              a.CapacityProviderStrategy as { CapacityProvider: string; Weight?: number; Base?: number }[]
            ).map((x) => ({ capacityProvider: x.CapacityProvider, weight: x.Weight, base: x.Base })),
          }
        : { LaunchType: a.LaunchType }),
      NetworkConfiguration: vpc
        ? {
            awsvpcConfiguration: {
              Subnets: vpc.Subnets,
              SecurityGroups: vpc.SecurityGroups,
              AssignPublicIp: vpc.AssignPublicIp,
            },
          }
        : undefined,
      PropagateTags: a.PropagateTags,
      EnableECSManagedTags: a.EnableECSManagedTags,
    },
  };
}

/**
 * Start the execution, idempotently: the name is derived from the run's token, so a resent StartExecution is the same
 * run.
 */
async function startExecution(sfn: SFNClient, stateMachineArn: string, name: string, input: string): Promise<string> {
  try {
    return (await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }))).executionArn!;
  } catch (err) {
    // The same name and input as a running execution return it; once it has ended, the name is taken:
    // a call resent after a lost answer that finds its own run, ended already, adopts it.
    if (awsErrorCode(err) !== 'ExecutionAlreadyExists') throw err;
    const arn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    // The history is read next anyway: its first event says what the execution started with.
    if (JSON.stringify(executionInputOf(await executionHistory(sfn, arn))) === JSON.stringify(JSON.parse(input)))
      return arn;
    throw err;
  }
}

/**
 * Run the job through its state machine: StartExecution, then every attempt's task and log in turn, and
 * the final attempt's outcome.
 */
export async function runExecution(
  stack: OpenStack,
  job: JobConfig,
  target: Target,
  sm: LiveStateMachine,
  opts: RunNowOptions,
): Promise<RunNowResult> {
  const { aws, config } = stack;
  const family = familyOf(String(sm.args.TaskDefinition ?? job.task.family));
  const cluster = String(sm.args.Cluster ?? '');
  await refuseOverlap(
    opts,
    async () =>
      (
        (
          await aws.sfn.send(
            new ListExecutionsCommand({ stateMachineArn: sm.arn, statusFilter: 'RUNNING', maxResults: 10 }),
          )
        ).executions ?? []
      ).map((x) => x.name ?? ''),
    (ids) =>
      `a run of ${family} is in progress: execution ${ids.join(', ')} of its state machine (a task, or a wait before a retry)`,
  );
  const input = JSON.stringify(executionInput(target, opts));
  const name = `run-now-${opts.clientToken ?? randomUUID()}`;
  const executionArn = await startExecution(aws.sfn, sm.arn, name, input);
  const execution: ExecutionInfo = {
    arn: executionArn,
    name,
    stateMachineArn: sm.arn,
    status: 'RUNNING',
    attempts: [],
    maxAttempts: sm.maxAttempts,
    ...(sm.spot ? { spot: true } : {}),
    ...(sm.timeoutSeconds !== undefined ? { timeoutSeconds: sm.timeoutSeconds } : {}),
  };
  const result: RunNowResult = {
    job: job.name,
    taskArn: '',
    taskId: '',
    cluster,
    logGroup: config.logs.group,
    logStream: '',
    lastStatus: 'RUNNING',
    detached: false,
    execution,
  };
  opts.onStarted?.(result);
  if (opts.wait === false) return result;
  const signal = opts.signal ?? new AbortController().signal;
  let followed = 0;
  for (;;) {
    const events = await executionHistory(aws.sfn, executionArn);
    const attempts = attemptsOf(events);
    const end = executionEnd(events);
    while (followed < attempts.length) {
      const a = attempts[followed]!;
      if (a.taskArn && !execution.attempts[followed]) {
        const taskId = taskIdOf(a.taskArn);
        const info: AttemptResult = {
          attempt: a.attempt,
          taskArn: a.taskArn,
          taskId,
          logStream: taskStream(job, a.taskArn),
        };
        execution.attempts.push(info);
        Object.assign(result, { taskArn: a.taskArn, taskId, logStream: info.logStream, lastStatus: 'PROVISIONING' });
        opts.onAttempt?.(info, execution);
        opts.onStatus?.('PROVISIONING');
        const started: Task = { taskArn: a.taskArn, lastStatus: 'PROVISIONING', createdAt: a.scheduledAt };
        const r = await waitForTask(aws.ecs, aws.logs, started, { ...result }, job.task.containerName, opts);
        if (r.detached) return { ...result, lastStatus: r.lastStatus, detached: true };
        Object.assign(info, {
          exitCode: r.exitCode,
          stopCode: r.stopCode,
          stoppedReason: r.stoppedReason,
          ...(r.capacityProviderName ? { capacityProviderName: r.capacityProviderName } : {}),
        });
      }
      // The attempt's end is in the history once the task stopped (or at once, when none started).
      if (!a.end) break;
      if (!execution.attempts[followed]) execution.attempts.push({ attempt: a.attempt });
      const info = execution.attempts[followed]!;
      info.error = a.end.type === 'TaskSucceeded' ? undefined : a.end.error;
      info.timedOut = a.end.type === 'TaskTimedOut';
      const reason = reasonOf(a.end);
      if (reason) info.reason = reason;
      followed += 1;
      const last = end !== undefined && followed === attempts.length;
      opts.onAttemptEnd?.(info, execution, last);
    }
    if (end && followed === attempts.length) {
      Object.assign(execution, {
        status: end.status,
        ...(end.error ? { error: end.error } : {}),
        ...(end.cause ? { cause: end.cause } : {}),
      });
      break;
    }
    await sleep(opts.statusPollMs ?? 2000, signal);
    if (signal.aborted) return { ...result, detached: true };
  }
  const final = execution.attempts.at(-1);
  return {
    ...result,
    lastStatus: final?.taskArn ? 'STOPPED' : result.lastStatus,
    exitCode: final?.exitCode,
    stopCode: final?.stopCode,
    stoppedReason: final?.reason ?? final?.stoppedReason,
    timedOut: final?.timedOut === true,
    execution,
  };
}

/** A run's limits as a person reads them: `timeout 30m per attempt, 2 retries`. */
export function limitsText(x: Pick<ExecutionInfo, 'maxAttempts' | 'timeoutSeconds' | 'spot'>): string {
  const retries = x.maxAttempts - 1;
  return [
    x.timeoutSeconds !== undefined ? `timeout ${formatRunDuration(x.timeoutSeconds)} per attempt` : 'no timeout',
    x.spot
      ? `first attempt on Fargate Spot, then on-demand, up to ${x.maxAttempts} attempts`
      : `${retries} ${retries === 1 ? 'retry' : 'retries'}`,
  ].join(', ');
}
