/**
 * `batchctl stop [job]`: stop the job's running tasks (scheduled runs and run-now's alike), with a reason
 * naming batchctl and the caller, which ECS keeps as the task's stoppedReason. ECS sends the container
 * SIGTERM, then SIGKILL after the container's stop timeout (30 s by default).
 */
import { DescribeTasksCommand, ListTasksCommand, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { awsErrorCode, UserError } from '../base/errors.js';
import { jobsOf } from '../model/job-select.js';
import { taskIdOf } from './logs.js';
import { openStack, type StackOptions } from '../engine/stack.js';
import { triggerOf } from './status.js';
import type { RunInfo } from './run-info.js';

/** Options of `stop`. */
export interface StopOptions extends Omit<StackOptions, 'forceUnlock'> {
  /** One job; left out, every job of the stack. */
  job?: string;
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
}

/** The outcome of `stop`. */
export interface StopReport {
  stack: string;
  region: string;
  account: string;
  /** The tasks found running (and stopped, unless declined). */
  tasks: RunningTask[];
  /** The reason given to ECS (the tasks' stoppedReason). */
  reason: string;
  declined: boolean;
}

/** ECS takes a reason of at most 255 characters. */
const REASON_MAX = 255;

/** The running tasks of one family in the cluster (desired RUNNING: pending ones too). */
async function runningTasks(ecs: import('@aws-sdk/client-ecs').ECSClient, cluster: string, family: string): Promise<Task[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const out = await ecs.send(new ListTasksCommand({ cluster, family, desiredStatus: 'RUNNING', nextToken }));
      arns.push(...(out.taskArns ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
  } catch (err) {
    if (awsErrorCode(err) === 'ClusterNotFoundException') return [];
    throw err;
  }
  const tasks: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    tasks.push(...((await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }))).tasks ?? []));
  }
  return tasks;
}

/** Find the running tasks of the job (or every job), confirm, and stop them. */
export async function runStop(opts: StopOptions): Promise<StopReport> {
  const stack = await openStack(opts, ['ecs', 'sts']);
  try {
    const { config, aws } = stack;
    const cluster = config.cluster.name;
    const jobs = jobsOf(config, opts.job);
    const found = await Promise.all(jobs.map(async (job) => (await runningTasks(aws.ecs, cluster, job.task.family)).map((t): RunningTask => ({
      job: job.name, taskArn: t.taskArn ?? '', taskId: taskIdOf(t.taskArn ?? ''), lastStatus: t.lastStatus ?? 'UNKNOWN',
      trigger: triggerOf(t.startedBy), ...(t.startedBy ? { startedBy: t.startedBy } : {}), ...(t.createdAt ? { createdAt: t.createdAt.toISOString() } : {}),
    }))));
    const tasks = found.flat().filter((t) => t.taskArn);
    const reason = `Stopped by batchctl stop (${stack.caller})`.slice(0, REASON_MAX);
    const head = { stack: config.stack, region: config.region, account: stack.account, tasks, reason };
    if (!tasks.length) return { ...head, declined: false };
    const lines = tasks.map((t) => `  ${t.job.padEnd(16)} ${t.taskId}  ${t.lastStatus.padEnd(12)} ${t.trigger}${t.createdAt ? `  since ${t.createdAt}` : ''}`);
    if (!opts.yes) {
      if (!opts.interactive || !opts.confirm) {
        throw new UserError(`stop needs --yes when not on a terminal (it would stop ${tasks.length} running task${tasks.length === 1 ? '' : 's'})`, 'run it on a terminal to confirm, or pass --yes', lines);
      }
      if (!(await opts.confirm([`batchctl stop will stop ${tasks.length} running task${tasks.length === 1 ? '' : 's'} of stack ${config.stack}:`, ...lines]))) {
        opts.reporter.info('Cancelled: no task was stopped.');
        return { ...head, declined: true };
      }
    }
    // StopTask is idempotent: a task stopped already (or stopping) is answered as it is.
    await Promise.all(tasks.map((t) => aws.ecs.send(new StopTaskCommand({ cluster, task: t.taskArn, reason }))));
    return { ...head, declined: false };
  } finally {
    await stack.close();
  }
}
