/**
 * `batchctl stop [job]`: stop the job's runs (scheduled and run-now's alike). A job with a timeout or
 * retries runs through its state machine: its running executions are stopped first (StopExecution, with a
 * cause naming batchctl and the caller), THEN the tasks. The order matters: a task stopped while its
 * execution runs exits 143, `.sync` fails the Task state with States.TaskFailed, and the state's Retry
 * starts a new attempt; an execution stopped first has no retry left to run. Then every running task of
 * the job is stopped with a reason naming batchctl and the caller, which ECS keeps as its stoppedReason
 * (ECS sends the container SIGTERM, then SIGKILL after its stop timeout, 30 s by default).
 */
import {
  DescribeTasksCommand,
  ListTasksCommand,
  StopTaskCommand,
  type ECSClient,
  type Task,
} from '@aws-sdk/client-ecs';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { UserError } from '../base/errors.js';
import { jobsOf } from '../model/job-select.js';
import { SFN_TAGGED_GONE } from '../model/aws-errors.js';
import { ifExists } from '../resources/lib/aws-calls.js';
import { stateMachineName } from '../model/state-machine.js';
import { TAG_STACK } from '../engine/types.js';
import { taskIdOf } from './logs.js';
import { openStack, type StackOptions } from '../engine/stack.js';
import { triggerOf } from './status.js';
import { triggerOfExecution } from './status-executions.js';
import type { RunInfo } from './run-info.js';
import type { JobConfig } from '../config/schema.js';
import { ENV_RUN_ID } from '../model/guard.js';

/** Options of `stop`. */
export interface StopOptions extends Omit<StackOptions, 'forceUnlock'> {
  /** One job; left out, every job of the stack. */
  job?: string;
  /**
   * One run only: an execution's name or ARN (a job with a timeout or retries), or a task's id or ARN
   * (a prefix of 8 or more characters of the id will do). Left out, every run of the job(s).
   */
  run?: string;
  /** Skip the confirmation. */
  yes?: boolean;
  /** On a terminal: ask through `confirm`; otherwise `yes` is required. */
  interactive: boolean;
  /** Shows the lines and answers whether to go ahead. */
  confirm?: (lines: string[]) => Promise<boolean>;
}

/** One task `stop` found running. */
export interface RunningTask {
  job: string;
  taskArn: string;
  taskId: string;
  lastStatus: string;
  trigger: RunInfo['trigger'];
  startedBy?: string;
  createdAt?: string;
  /** A state machine's attempt: its execution's ARN (BATCH_RUN_ID in the container's environment). */
  runId?: string;
}

/** One running execution of a job's state machine `stop` found. */
export interface RunningExecution {
  job: string;
  arn: string;
  name: string;
  startedAt?: string;
}

/** The outcome of `stop`. */
export interface StopReport {
  stack: string;
  region: string;
  account: string;
  /** The executions found running (and stopped, unless declined): stopped first, so no retry starts. */
  executions: RunningExecution[];
  /** The tasks found running (and stopped, unless declined). */
  tasks: RunningTask[];
  /** The reason given to ECS (the tasks' stoppedReason) and, as the cause, to Step Functions. */
  reason: string;
  declined: boolean;
  /** State machines of the job's name that are not this stack's (no batchctl:stack tag of ours): left alone. */
  notOurs?: string[];
}

/** ECS takes a reason of at most 255 characters. */
const REASON_MAX = 255;

/** The error StopExecution records (Step Functions takes up to 256 characters). */
export const STOPPED_ERROR = 'batchctl.Stopped';

/** The reason and cause `stop` gives: who stopped the run. `history` reads the caller back from it. */
export const stopReason = (caller: string): string => `Stopped by batchctl stop (${caller})`.slice(0, REASON_MAX);

/** The caller a reason written by `stop` names, or undefined for any other reason. */
export function stoppedByOf(reason: string | undefined): string | undefined {
  return /^Stopped by batchctl stop \((.+)\)$/.exec(reason ?? '')?.[1];
}

/** The running tasks of one family in the cluster (desired RUNNING: pending ones too). */
async function runningTasks(ecs: ECSClient, cluster: string, family: string): Promise<Task[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  // No cluster: nothing runs.
  const listed = await ifExists(async () => {
    do {
      const out = await ecs.send(new ListTasksCommand({ cluster, family, desiredStatus: 'RUNNING', nextToken }));
      arns.push(...(out.taskArns ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    return arns;
  });
  if (!listed) return [];
  const tasks: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    tasks.push(...((await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }))).tasks ?? []));
  }
  return tasks;
}

/**
 * The running executions of a job's state machine, when the machine is this stack's (its tag): both read
 * at once. A machine that does not exist has none; one that is not ours is reported, never touched.
 */
async function runningExecutions(
  sfn: SFNClient,
  machineArn: string,
  stack: string,
): Promise<{ executions: { arn: string; name: string; startedAt?: Date }[]; notOurs?: boolean }> {
  const { ListExecutionsCommand, ListTagsForResourceCommand } = await import('@aws-sdk/client-sfn');
  const list = async () => {
    const out: { arn: string; name: string; startedAt?: Date }[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: machineArn, statusFilter: 'RUNNING', nextToken }),
      );
      for (const x of page.executions ?? [])
        if (x.executionArn) out.push({ arn: x.executionArn, name: x.name ?? '', startedAt: x.startDate });
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  };
  // No state machine (not created yet, or deleted): nothing of it runs.
  const read = await ifExists(
    () => Promise.all([list(), sfn.send(new ListTagsForResourceCommand({ resourceArn: machineArn }))]),
    SFN_TAGGED_GONE,
  );
  if (!read) return { executions: [] };
  const [executions, tags] = read;
  if (!(tags.tags ?? []).some((t) => t.key === TAG_STACK && t.value === stack))
    return { executions: [], notOurs: true };
  return { executions };
}

/** Whether a run matches `--run`: an execution's name or ARN, a task's ARN, id or id prefix (8+ characters). */
function matches(run: string | undefined, ids: string[]): boolean {
  if (run === undefined) return true;
  return ids.some((id) => id === run || (run.length >= 8 && id.startsWith(run)));
}

/** Find the running executions and tasks of the job (or every job), confirm, and stop them: executions first. */
export async function runStop(opts: StopOptions): Promise<StopReport> {
  const { loadStackConfig } = await import('../engine/stack.js');
  const config = await loadStackConfig(opts);
  const jobs = jobsOf(config, opts.job);
  const machines = jobs.filter((j) => j.runPolicy);
  const stack = await openStack(opts, machines.length ? ['ecs', 'sts', 'sfn'] : ['ecs', 'sts'], undefined, config);
  try {
    const { aws, account, partition } = stack;
    const cluster = config.cluster.name;
    const machineArn = (job: JobConfig) =>
      `arn:${partition}:states:${config.region}:${account}:stateMachine:${stateMachineName(job)}`;
    const [found, running] = await Promise.all([
      Promise.all(
        jobs.map(async (job) =>
          (await runningTasks(aws.ecs, cluster, job.task.family)).map((t): RunningTask => ({
            job: job.name,
            taskArn: t.taskArn ?? '',
            taskId: taskIdOf(t.taskArn ?? ''),
            lastStatus: t.lastStatus ?? 'UNKNOWN',
            trigger: triggerOfTask(t),
            ...(t.startedBy ? { startedBy: t.startedBy } : {}),
            ...(t.createdAt ? { createdAt: t.createdAt.toISOString() } : {}),
            ...(runIdOf(t) ? { runId: runIdOf(t) } : {}),
          })),
        ),
      ),
      Promise.all(
        machines.map(async (job) => ({ job, ...(await runningExecutions(aws.sfn, machineArn(job), config.stack)) })),
      ),
    ]);
    const executions = running
      .flatMap((r) =>
        r.executions.map((x): RunningExecution => ({
          job: r.job.name,
          arn: x.arn,
          name: x.name,
          ...(x.startedAt ? { startedAt: x.startedAt.toISOString() } : {}),
        })),
      )
      .filter((x) => matches(opts.run, [x.name, x.arn]));
    const notOurs = running.filter((r) => r.notOurs).map((r) => machineArn(r.job));
    // With --run naming an execution, its task goes too: the attempt whose BATCH_RUN_ID is that execution.
    const tasks = found
      .flat()
      .filter((t) => t.taskArn)
      .filter(
        (t) =>
          matches(opts.run, [t.taskArn, t.taskId]) ||
          (opts.run !== undefined && executions.some((x) => x.arn === t.runId)),
      );
    const reason = stopReason(stack.caller);
    const head = {
      stack: config.stack,
      region: config.region,
      account,
      executions,
      tasks,
      reason,
      ...(notOurs.length ? { notOurs } : {}),
    };
    for (const m of notOurs)
      opts.reporter.warn(
        `state machine ${m.split(':').at(-1)} does not carry this stack's batchctl:stack tag: ` +
          'its executions were left alone',
      );
    if (!tasks.length && !executions.length) {
      if (opts.run !== undefined)
        throw new UserError(
          `no running execution or task of ${opts.job ? `job ${opts.job}` : `stack ${config.stack}`} ` +
            `matches --run ${opts.run}`,
          'list the runs with `batchctl status`',
        );
      return { ...head, declined: false };
    }
    const lines = [
      ...executions.map(
        (x) => `  ${x.job.padEnd(16)} execution ${x.name}${x.startedAt ? `  since ${x.startedAt}` : ''}`,
      ),
      ...tasks.map(
        (t) =>
          `  ${t.job.padEnd(16)} ${t.taskId}  ${t.lastStatus.padEnd(12)} ${t.trigger}` +
          (t.createdAt ? `  since ${t.createdAt}` : ''),
      ),
    ];
    const what = describeCount(executions.length, tasks.length);
    if (!opts.yes) {
      if (!opts.interactive || !opts.confirm) {
        throw new UserError(
          `stop needs --yes when not on a terminal (it would stop ${what})`,
          'run it on a terminal to confirm, or pass --yes',
          lines,
        );
      }
      if (!(await opts.confirm([`batchctl stop will stop ${what} of stack ${config.stack}:`, ...lines]))) {
        opts.reporter.info('Cancelled: nothing was stopped.');
        return { ...head, declined: true };
      }
    }
    if (executions.length) {
      const { StopExecutionCommand } = await import('@aws-sdk/client-sfn');
      // StopExecution of an execution that ended meanwhile answers with its end: nothing to undo.
      await Promise.all(
        executions.map((x) =>
          aws.sfn.send(new StopExecutionCommand({ executionArn: x.arn, error: STOPPED_ERROR, cause: reason })),
        ),
      );
    }
    // StopTask is idempotent: a task stopped already (or stopping, as the stopped execution's is) is
    // answered as it is.
    await Promise.all(tasks.map((t) => aws.ecs.send(new StopTaskCommand({ cluster, task: t.taskArn, reason }))));
    return { ...head, declined: false };
  } finally {
    await stack.close();
  }
}

/** What started a task: an attempt's execution (scheduled, run-now) rather than Step Functions itself. */
function triggerOfTask(t: Task): RunInfo['trigger'] {
  const runId = runIdOf(t);
  if (!runId) return triggerOf(t.startedBy);
  const env = (t.overrides?.containerOverrides ?? [])
    .flatMap((c) => c.environment ?? [])
    .map((v) => ({ Name: v.name, Value: v.value }));
  return triggerOfExecution(runId.split(':').at(-1) ?? '', { Environment: env });
}

/** The execution a state machine's attempt belongs to: the BATCH_RUN_ID its definition appends to the environment. */
function runIdOf(t: Task): string | undefined {
  for (const c of t.overrides?.containerOverrides ?? []) {
    const v = c.environment?.find((e) => e.name === ENV_RUN_ID)?.value;
    if (v) return v;
  }
  return undefined;
}

/** `1 execution and 2 tasks`, `1 running task`. */
function describeCount(executions: number, tasks: number): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (!executions) return `${plural(tasks, 'running task')}`;
  return tasks
    ? `${plural(executions, 'running execution')} and ${plural(tasks, 'task')}`
    : plural(executions, 'running execution');
}
