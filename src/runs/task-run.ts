/**
 * What a manual run is, whichever way it starts (the task directly, or through the job's state
 * machine: run-execution.ts): its options and outcome, RunTask's failures in words, the target's input
 * without the scheduled event, and waiting for a task while streaming its log.
 */
import { DescribeTasksCommand, type ECSClient, type Failure, type Task } from '@aws-sdk/client-ecs';
import type { Target } from '@aws-sdk/client-eventbridge';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { UserError, isNotFound } from '../base/errors.js';
import type { StackOptions } from '../engine/stack.js';
import { LogPoller, sleep, type LogEvent } from './logs.js';

/**
 * `--env` laid over an environment (name, value pairs): a name given again takes the new value in its
 * place, new names follow. The same merge whichever form the run takes (RunTask's container overrides,
 * the state machine's input).
 */
export function mergeEnv(
  current: Iterable<readonly [string, string]>,
  env: Record<string, string>,
): [string, string][] {
  const merged = new Map(current);
  for (const [k, v] of Object.entries(env)) merged.set(k, v);
  return [...merged];
}

/**
 * Refuse to start a run while one of the job's runs is in progress (`running` lists them: the family's
 * tasks, or the state machine's executions), unless `--allow-overlap`.
 */
export async function refuseOverlap(
  opts: Pick<RunNowOptions, 'allowOverlap'>,
  running: () => Promise<string[]>,
  refusal: (ids: string[]) => string,
): Promise<void> {
  if (opts.allowOverlap) return;
  const ids = await running();
  if (ids.length)
    throw new UserError(
      refusal(ids),
      'wait for it to finish, stop it, or pass --allow-overlap to run another one alongside',
    );
}

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
  /** Start even when the run would fail before its container starts (image missing, endpoints down). */
  force?: boolean;
  allowOverlap?: boolean;
  /** Aborting while waiting detaches: the task keeps running. */
  signal?: AbortSignal;
  /** Each new task status (PROVISIONING, PENDING, RUNNING, STOPPED...). */
  onStatus?(status: string): void;
  /** Each line of the task's log stream, from its first. */
  onLog?(e: LogEvent): void;
  /** Told once the task exists (before waiting). */
  onStarted?(r: Pick<RunNowResult, 'job' | 'taskArn' | 'taskId' | 'cluster' | 'logStream' | 'execution'>): void;
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
  /** `--direct` on Fargate Spot: told when the run goes on on-demand instead (why, in words). */
  onFallback?(why: string): void;
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
  /**
   * The run went through the job's state machine: its execution and attempts (the task fields are the last attempt's).
   */
  execution?: ExecutionInfo;
  /** The final attempt ran past the job's timeout: Step Functions stopped its task. */
  timedOut?: boolean;
  /** The capacity provider the (last) task ran on, when it was started with a strategy (FARGATE_SPOT, FARGATE). */
  capacityProviderName?: string;
  /**
   * `--direct` on Fargate Spot: the run went on on-demand because Spot started no task, or reclaimed the one
   * it started (that task's id, exit code and stop code).
   */
  spotFallback?: { reason: string; taskId?: string; exitCode?: number; stopCode?: string };
}

/** A RunTask failure in words: the raw reasons (`RESOURCE:ENI`...) do not say what to do. */
export function explainFailure(f: Failure): string {
  const raw = [f.reason, f.detail].filter(Boolean).join(': ');
  const r = raw.toUpperCase();
  let why = '';
  if (r.includes('RESOURCE:ENI'))
    why = 'no network interface could be created (ENI quota or free IP addresses in the batch subnets)';
  else if (/RESOURCE:(CPU|MEMORY)|CAPACITY IS UNAVAILABLE/.test(r))
    why = 'Fargate has no capacity for this CPU/memory size in these zones right now; try again later';
  else if (/LIMIT|QUOTA|CONCURRENT/.test(r)) why = 'an account quota on running tasks was reached';
  else if (r.includes('MISSING')) why = 'the cluster or its capacity is missing';
  return why ? `${why} (${raw})` : raw;
}

/** One attempt of a run: its task (when one started), how it ended. */
export interface AttemptResult {
  /** 1 for the first run of the task, 2 for the first retry... */
  attempt: number;
  taskArn?: string;
  taskId?: string;
  logStream?: string;
  exitCode?: number;
  stopCode?: string;
  stoppedReason?: string;
  /** The Step Functions error that ended the attempt (States.TaskFailed, States.Timeout, AmazonECS.Unknown...). */
  error?: string;
  /** Why the attempt failed, in words, when no task says it (no capacity, access denied...). */
  reason?: string;
  timedOut?: boolean;
  /** The capacity provider its task ran on (FARGATE_SPOT for a Spot job's first attempt). */
  capacityProviderName?: string;
}

/** The execution run-now started, and its attempts. */
export interface ExecutionInfo {
  arn: string;
  name: string;
  stateMachineArn: string;
  /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED. */
  status: string;
  attempts: AttemptResult[];
  /** The definition's limits: the attempts it allows (retries + 1) and the timeout of each, in seconds. */
  maxAttempts: number;
  timeoutSeconds?: number;
  /** The first attempt runs on Fargate Spot, the later ones on-demand. */
  spot?: boolean;
  error?: string;
  cause?: string;
}

const PLACEHOLDER = '\u0000event\u0000';

/**
 * A target's input as a manual run sends it: its static Input, or its InputTransformer's template with
 * the event placeholders taken out: `dropEvent` removes what a placeholder filled (an environment
 * variable), and what is left may hold none. Undefined when the target has no input.
 */
export function manualInput<T>(t: Target, dropEvent: (o: T, placeholder: string) => void): T | undefined {
  const bad = new UserError(
    "the schedule target's input is not the JSON batchctl writes",
    'run `batchctl up` to restore it',
  );
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

/** How long DescribeTasks may say MISSING for a task RunTask just returned (ECS is eventually consistent). */
const MISSING_BUDGET_MS = 60_000;

export async function waitForTask(
  ecs: ECSClient,
  logs: CloudWatchLogsClient,
  started: Task,
  result: RunNowResult,
  container: string,
  opts: RunNowOptions,
): Promise<RunNowResult> {
  const signal = opts.signal ?? new AbortController().signal;
  const createdAt = started.createdAt ? new Date(started.createdAt).getTime() : Date.now();
  // A minute of slack for clock skew between AWS and the container's timestamps; the stream is the
  // task's own, so nothing of another run can appear.
  const poller = new LogPoller(logs, {
    group: result.logGroup,
    streamPrefix: result.logStream,
    since: createdAt - 60_000,
  });
  const emit = (evs: LogEvent[]) => {
    for (const e of evs) opts.onLog?.(e);
  };
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
        if (Date.now() - missingSince > MISSING_BUDGET_MS)
          throw new Error(`task ${result.taskArn} disappeared: ${d.failures?.[0]?.reason ?? 'MISSING'}`);
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
  const c =
    t.containers?.find((x) => x.name === container) ??
    t.containers?.find((x) => x.exitCode !== undefined) ??
    t.containers?.[0];
  return {
    ...result,
    lastStatus: 'STOPPED',
    exitCode: c?.exitCode ?? undefined,
    stopCode: t.stopCode,
    ...(t.capacityProviderName ? { capacityProviderName: t.capacityProviderName } : {}),
    // The container's own reason (CannotPullContainerError: ..., OutOfMemoryError: ...) is often the only
    // useful part; often the task's stoppedReason already repeats it.
    stoppedReason: [...new Set([t.stoppedReason, c?.reason].filter(Boolean))].join(': ') || undefined,
  };
}
