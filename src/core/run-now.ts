/**
 * `run-now`: start the job exactly as the schedule would (the LIVE EventBridge target's settings), then
 * wait for it, streaming that task's own log stream, and report the container's exit code. A job whose
 * schedule starts its state machine (a timeout or retries) runs through it (run-execution.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeTasksCommand, ListTasksCommand, RunTaskCommand,
  type ECSClient, type Failure, type RunTaskCommandInput, type Task, type TaskOverride,
} from '@aws-sdk/client-ecs';
import { ListTargetsByRuleCommand, type Target } from '@aws-sdk/client-eventbridge';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { AwsClients } from '../aws/clients.js';
import { UserError, isNotFound } from './errors.js';
import { LogPoller, sleep, taskIdOf, taskStream, type LogEvent } from './logs.js';
import { openStack, type StackOptions } from './stack.js';
import { pickJob } from './jobs.js';
import { TARGET_ID } from '../resources/events-target.js';
import { scheduleGroupName } from '../resources/lib/scheduler.js';
import type { AttemptResult, ExecutionInfo } from './run-execution.js';

/** What `run-now` takes beyond the stack options. */

/** ECS `startedBy` of tasks run-now starts, so `status` can tell them from scheduled runs. */
export const RUN_NOW_STARTED_BY = 'batchctl-run-now';

export interface RunNowOptions extends Omit<StackOptions, 'forceUnlock'> {
  /** The job to run; may be left out when the stack has one job. */
  job?: string;
  /** Replaces the container's command. */
  command?: string[];
  /** Added to (and overriding) the container's environment for this run. */
  env?: Record<string, string>;
  /** Wait until the task stops (default true). */
  wait?: boolean;
  /** Start even while a task of the family is running. */
  allowOverlap?: boolean;
  /** Aborting while waiting detaches: the task keeps running. */
  signal?: AbortSignal;
  /** Each new task status (PROVISIONING, PENDING, RUNNING, STOPPED...). */
  onStatus?(status: string): void;
  /** Each line of the task's log stream, from its first. */
  onLog?(e: LogEvent): void;
  /** Told once the task exists (before waiting). */
  onStarted?(r: Pick<RunNowResult, 'taskArn' | 'taskId' | 'cluster' | 'logStream' | 'execution'>): void;
  statusPollMs?: number;
  logPollMs?: number;
  /**
   * Idempotency token for RunTask (default: a fresh UUID per invocation); for a state machine, the
   * execution's name is derived from it.
   */
  clientToken?: string;
  /** A job whose schedule starts its state machine: run the task itself, without the timeout and retries. */
  direct?: boolean;
  /** State machine runs: told when an attempt's task exists (each retry is a new task, with its own log stream). */
  onAttempt?(a: AttemptResult, x: ExecutionInfo): void;
  /** State machine runs: told how an attempt ended; `last` when no retry follows. */
  onAttemptEnd?(a: AttemptResult, x: ExecutionInfo, last: boolean): void;
}

/** The outcome of `run-now`. */
export interface RunNowResult {
  /** The job that ran. */
  job: string;
  taskArn: string;
  taskId: string;
  /** Cluster ARN, as the target names it. */
  cluster: string;
  logGroup: string;
  logStream: string;
  lastStatus: string;
  exitCode?: number;
  stopCode?: string;
  stoppedReason?: string;
  /** Waiting ended by the signal: the task is still running. */
  detached: boolean;
  /** The run went through the job's state machine: its execution and attempts (the task fields are the last attempt's). */
  execution?: ExecutionInfo;
  /** The final attempt ran past the job's timeout: Step Functions stopped its task. */
  timedOut?: boolean;
}

/** RunTask answered with failures[] and no task. */
export class NothingStarted extends Error {
  override name = 'NothingStarted';
  constructor(readonly failures: Failure[]) {
    super(`RunTask started no task: ${failures.map(explainFailure).join('; ') || 'no reason given'}`);
  }
}

/** A RunTask failure in words: the raw reasons (`RESOURCE:ENI`...) do not say what to do. */
export function explainFailure(f: Failure): string {
  const raw = [f.reason, f.detail].filter(Boolean).join(': ');
  const r = raw.toUpperCase();
  let why = '';
  if (r.includes('RESOURCE:ENI')) why = 'no network interface could be created (ENI quota or free IP addresses in the batch subnets)';
  else if (/RESOURCE:(CPU|MEMORY)|CAPACITY IS UNAVAILABLE/.test(r)) why = 'Fargate has no capacity for this CPU/memory size in these zones right now; try again later';
  else if (/LIMIT|QUOTA|CONCURRENT/.test(r)) why = 'an account quota on running tasks was reached';
  else if (r.includes('MISSING')) why = 'the cluster or its capacity is missing';
  return why ? `${why} (${raw})` : raw;
}

/** True for the ARN of a Step Functions state machine (the target of a job with a timeout or retries). */
export const isStateMachineArn = (arn: string | undefined): boolean => /^arn:[^:]+:states:[^:]*:\d*:stateMachine:/.test(arn ?? '');

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
export async function readScheduleTarget(aws: Pick<AwsClients, 'scheduler'>, group: string, name: string): Promise<Target> {
  const { GetScheduleCommand } = await import('@aws-sdk/client-scheduler');
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
  if (!t?.Arn || (!e?.TaskDefinitionArn && !isStateMachineArn(t.Arn))) throw upFirst;
  return {
    Id: TARGET_ID,
    Arn: t.Arn,
    RoleArn: t.RoleArn,
    ...(t.Input !== undefined ? { InputTransformer: { InputPathsMap: {}, InputTemplate: t.Input } } : {}),
    ...(e ? { EcsParameters: {
      ...e,
      // Scheduler writes tags as [{key: value}], EventBridge as [{Key, Value}].
      Tags: e.Tags?.flatMap((m) => Object.entries(m).map(([Key, Value]) => ({ Key, Value }))),
    } as Target['EcsParameters'] } : {}),
  };
}

/**
 * The RunTask request that does what the target does: EventBridge's PascalCase EcsParameters mapped to
 * ECS's camelCase, the target's Input as overrides, then `--command` / `--env` on our container.
 */
export function runTaskInput(t: Target, container: string, o: { command?: string[]; env?: Record<string, string>; clientToken: string }): RunTaskCommandInput {
  const e = t.EcsParameters!;
  const vpc = e.NetworkConfiguration?.awsvpcConfiguration;
  const overrides = targetOverrides(t);
  if (o.command || (o.env && Object.keys(o.env).length)) {
    const list = overrides.containerOverrides ?? [];
    let c = list.find((x) => x.name === container);
    if (!c) list.push((c = { name: container }));
    if (o.command) c.command = o.command;
    if (o.env) {
      const merged = new Map((c.environment ?? []).map((v) => [v.name ?? '', v.value ?? '']));
      for (const [k, v] of Object.entries(o.env)) merged.set(k, v);
      c.environment = [...merged].map(([name, value]) => ({ name, value }));
    }
    overrides.containerOverrides = list;
  }
  return {
    cluster: t.Arn,
    taskDefinition: e.TaskDefinitionArn,
    count: e.TaskCount ?? 1,
    ...(e.CapacityProviderStrategy?.length
      ? { capacityProviderStrategy: e.CapacityProviderStrategy.map((s) => ({ capacityProvider: s.capacityProvider, weight: s.weight, base: s.base })) }
      : { launchType: e.LaunchType }),
    platformVersion: e.PlatformVersion,
    networkConfiguration: vpc
      ? { awsvpcConfiguration: { subnets: vpc.Subnets, securityGroups: vpc.SecurityGroups, assignPublicIp: vpc.AssignPublicIp } }
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

const PLACEHOLDER = '\u0000event\u0000';

/**
 * A target's input as a manual run sends it: its static Input, or its InputTransformer's template with
 * the event placeholders taken out: `dropEvent` removes what a placeholder filled (an environment
 * variable), and what is left may hold none. Undefined when the target has no input.
 */
export function manualInput<T>(t: Target, dropEvent: (o: T, placeholder: string) => void): T | undefined {
  const bad = new UserError("the schedule target's input is not the JSON batchctl writes", 'run `batchctl up` to restore it');
  let text = t.Input;
  if (text === undefined && t.InputTransformer?.InputTemplate) {
    // EventBridge fills `<name>` placeholders; inside quotes the value goes in as string text.
    text = t.InputTransformer.InputTemplate.replace(/"<[A-Za-z0-9_.-]+>"/g, JSON.stringify(PLACEHOLDER));
  }
  if (text === undefined) return undefined;
  let o: T;
  try {
    o = JSON.parse(text) as T;
  } catch {
    throw bad;
  }
  dropEvent(o, PLACEHOLDER);
  if (JSON.stringify(o).includes(JSON.stringify(PLACEHOLDER).slice(1, -1))) throw bad;
  return o;
}

/**
 * The container overrides the target would send: its static Input, or its InputTransformer's template
 * with the event placeholders taken out. A manual run has no scheduled event, so an environment variable
 * filled from the event (BATCH_SCHEDULED_TIME) is left unset, which the job reads as "not scheduled".
 */
export function targetOverrides(t: Target): TaskOverride {
  return manualInput<TaskOverride>(t, (o, placeholder) => {
    for (const c of o.containerOverrides ?? []) {
      if (c.environment) c.environment = c.environment.filter((v) => v.value !== placeholder);
    }
  }) ?? {};
}

/** The task definition family of a family or revision ARN. */
export function familyOf(taskDefinitionArn: string): string {
  return taskDefinitionArn.split('/').at(-1)!.replace(/:\d+$/, '');
}

/** Start the job now; by default wait for it to stop, streaming its log. */
export async function runNow(opts: RunNowOptions): Promise<RunNowResult> {
  // Step Functions too: the live trigger, not the config, says whether the job runs through its state machine.
  const stack = await openStack(opts, ['ecs', 'eventBridge', 'scheduler', 'logs', 'sts', 'sfn']);
  try {
    const { config, aws } = stack;
    const job = pickJob(config, opts.job, 'batchctl run-now <job>');
    // Exactly what the job's trigger in force would start: the live rule target or the live schedule's.
    let target = job.schedule.engine === 'scheduler'
      ? await readScheduleTarget(aws, scheduleGroupName(config), job.schedule.name)
      : await readTarget(aws, job.schedule.name);
    if (isStateMachineArn(target.Arn)) {
      const { readStateMachine, runExecution, directTarget } = await import('./run-execution.js');
      const sm = await readStateMachine(aws.sfn, target.Arn!);
      if (!opts.direct) return await runExecution(stack, job, target, sm, opts);
      target = directTarget(target, sm, job, opts);
    } else if (opts.direct) {
      opts.reporter.warn(`job ${job.name} has no timeout or retries: its schedule runs the task directly already (--direct changes nothing)`);
    }
    const cluster = target.Arn!;
    const family = familyOf(target.EcsParameters!.TaskDefinitionArn!);
    if (!opts.allowOverlap) {
      const running = (await aws.ecs.send(new ListTasksCommand({ cluster, family, desiredStatus: 'RUNNING' }))).taskArns ?? [];
      if (running.length) {
        throw new UserError(
          `a task of family ${family} is already running (${running.map(taskIdOf).join(', ')})`,
          'wait for it to finish, stop it, or pass --allow-overlap to run another one alongside',
        );
      }
    }
    const input = runTaskInput(target, job.task.containerName, { command: opts.command, env: opts.env, clientToken: opts.clientToken ?? randomUUID() });
    const out = await aws.ecs.send(new RunTaskCommand(input));
    const task = out.tasks?.[0];
    if (!task?.taskArn) throw new NothingStarted(out.failures ?? []);
    const taskArn = task.taskArn;
    const result: RunNowResult = {
      job: job.name, taskArn, taskId: taskIdOf(taskArn), cluster, logGroup: config.logs.group, logStream: taskStream(job, taskArn),
      lastStatus: task.lastStatus ?? 'PROVISIONING', detached: false,
    };
    opts.onStarted?.(result);
    if (opts.wait === false) return result;
    opts.onStatus?.(result.lastStatus);
    return await waitForTask(aws.ecs, aws.logs, task, result, job.task.containerName, opts);
  } finally {
    await stack.close();
  }
}

/** How long DescribeTasks may say MISSING for a task RunTask just returned (ECS is eventually consistent). */
const MISSING_BUDGET_MS = 60_000;

export async function waitForTask(
  ecs: ECSClient, logs: CloudWatchLogsClient,
  started: Task, result: RunNowResult, container: string, opts: RunNowOptions,
): Promise<RunNowResult> {
  const signal = opts.signal ?? new AbortController().signal;
  const createdAt = started.createdAt ? new Date(started.createdAt).getTime() : Date.now();
  // A minute of slack for clock skew between AWS and the container's timestamps; the stream is the
  // task's own, so nothing of another run can appear.
  const poller = new LogPoller(logs, { group: result.logGroup, streamPrefix: result.logStream, since: createdAt - 60_000 });
  const emit = (evs: LogEvent[]) => { for (const e of evs) opts.onLog?.(e); };
  const logsDone = new AbortController();
  const stopLogs = () => logsDone.abort();
  signal.addEventListener('abort', stopLogs, { once: true });
  const logPollMs = opts.logPollMs ?? 1000;
  const follower = (async () => {
    while (!logsDone.signal.aborted) {
      try {
        emit(await poller.poll(logsDone.signal));
      } catch (err) {
        // Log reading is a side show: a throttled or failed poll must not lose the exit code.
        if (logsDone.signal.aborted) return;
        if (isNotFound(err) && !/stream/i.test((err as Error).message ?? '')) throw err;
      }
      await sleep(logPollMs, logsDone.signal);
    }
  })();
  let t: Task | undefined = started;
  let missingSince: number | undefined;
  try {
    for (;;) {
      await sleep(opts.statusPollMs ?? 2000, signal);
      if (signal.aborted) return { ...result, lastStatus: t?.lastStatus ?? result.lastStatus, detached: true };
      const d = await ecs.send(new DescribeTasksCommand({ cluster: result.cluster, tasks: [result.taskArn] }));
      const now = d.tasks?.[0];
      if (!now) {
        missingSince ??= Date.now();
        if (Date.now() - missingSince > MISSING_BUDGET_MS) throw new Error(`task ${result.taskArn} disappeared: ${d.failures?.[0]?.reason ?? 'MISSING'}`);
        continue;
      }
      missingSince = undefined;
      if (now.lastStatus && now.lastStatus !== t?.lastStatus) opts.onStatus?.(now.lastStatus);
      t = now;
      if (now.lastStatus === 'STOPPED') break;
    }
  } finally {
    stopLogs();
    signal.removeEventListener('abort', stopLogs);
    await follower.catch(() => {});
  }
  // The awslogs driver flushes when the container exits; a last read, and one more a poll later,
  // catch the final lines that CloudWatch ingests just after ECS reports STOPPED.
  if (!signal.aborted) {
    for (let n = 0; n < 2; n++) {
      if (n) await sleep(logPollMs, signal);
      emit(await poller.poll().catch(() => []));
    }
  }
  const c = t.containers?.find((x) => x.name === container) ?? t.containers?.find((x) => x.exitCode !== undefined) ?? t.containers?.[0];
  return {
    ...result,
    lastStatus: 'STOPPED',
    exitCode: c?.exitCode ?? undefined,
    stopCode: t.stopCode,
    // The container's own reason (CannotPullContainerError: ..., OutOfMemoryError: ...) is often the only
    // useful part; often the task's stoppedReason already repeats it.
    stoppedReason: [...new Set([t.stoppedReason, c?.reason].filter(Boolean))].join(': ') || undefined,
  };
}
