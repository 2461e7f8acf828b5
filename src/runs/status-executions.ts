/**
 * `status` for jobs with a timeout or retries: their runs are their state machine's executions, one
 * per run whatever its attempts, shown with the last attempt's task and the number of attempts. The
 * attempts' own tasks (started by Step Functions) are not listed as runs of their own.
 *
 * Reads: one ListExecutions per such job, and one GetExecutionHistory per execution that is shown (the
 * newest runs of the stack and each job's last), so the count stays bounded at 50 jobs.
 */
import { ListExecutionsCommand, type ExecutionListItem, type SFNClient } from '@aws-sdk/client-sfn';
import type { JobConfig, StackConfig } from '../config/schema.js';
import { stateMachineName, usesStateMachine } from '../model/state-machine.js';
import { ENV_SCHEDULED_TIME } from '../model/guard.js';
import { isNotFound } from '../base/errors.js';
import { attemptTask, attemptsOf, executionEnd, executionHistory, executionInputOf, reasonOf } from './executions.js';
import type { RecentRuns, RunInfo } from './run-info.js';
import { SFN_MACHINE_GONE } from '../model/aws-errors.js';

/** ECS's `startedBy` of the tasks Step Functions starts. */
export const STARTED_BY_STEP_FUNCTIONS = 'AWS Step Functions';

/** The name run-now gives its executions: `run-now-<token>`. */
const RUN_NOW_EXECUTION = /^run-now-/;

const iso = (ms: number | Date | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** What started an execution: run-now by its name, the schedule by the scheduled time in its input. */
export function triggerOfExecution(name: string, input: unknown): RunInfo['trigger'] {
  if (RUN_NOW_EXECUTION.test(name)) return 'run-now';
  const env = (input as { Environment?: { Name?: string; Value?: string }[] } | undefined)?.Environment;
  return env?.some((v) => v.Name === ENV_SCHEDULED_TIME && v.Value) ? 'schedule' : 'manual';
}

/** One execution as a run: the last attempt's task, every attempt's billed time, the attempt count. */
async function executionRun(
  sfn: SFNClient,
  job: JobConfig,
  x: ExecutionListItem,
  tasks: Map<string, RunInfo>,
  now: Date,
): Promise<RunInfo> {
  const events = await executionHistory(sfn, x.executionArn!);
  const attempts = attemptsOf(events);
  const end = executionEnd(events);
  const last = attempts.at(-1);
  // The last attempt's task as ECS shows it now (while it runs, or in the hour after), else as the history reports it.
  const live = last?.taskArn ? tasks.get(last.taskArn) : undefined;
  const reported = last ? attemptTask(last) : undefined;
  const container = reported?.Containers?.find((c) => c.Name === job.task.containerName) ?? reported?.Containers?.[0];
  const billed = attempts.reduce((sum, a) => {
    const t = attemptTask(a);
    const from = t?.PullStartedAt ?? t?.StartedAt;
    return sum + (t?.StoppedAt && from ? Math.ceil((t.StoppedAt - from) / 1000) : 0);
  }, 0);
  const start = x.startDate!;
  const stop = x.stopDate;
  const waiting = !end && last?.end !== undefined;
  const arn = last?.taskArn ?? '';
  return {
    job: job.name,
    taskArn: arn,
    shortId: arn ? arn.split('/').pop()!.slice(0, 8) : '-',
    trigger: triggerOfExecution(x.name ?? '', executionInputOf(events)),
    startedBy: STARTED_BY_STEP_FUNCTIONS,
    createdAt: iso(start),
    // From the first attempt's start to the last one's stop: the run, retries included.
    startedAt:
      (attempts.length > 1 ? iso(attemptTask(attempts[0]!)?.StartedAt) : undefined) ??
      live?.startedAt ??
      iso(reported?.StartedAt),
    stoppedAt: live?.stoppedAt ?? iso(reported?.StoppedAt),
    // A run lasts from its execution's start to its end: every attempt and the waits between them.
    durationSeconds: Math.max(0, Math.round(((stop ?? now).getTime() - start.getTime()) / 1000)),
    billedSeconds: end ? billed : undefined,
    lastStatus: waiting ? 'RETRY_PENDING' : (live?.lastStatus ?? (end || last?.end ? 'STOPPED' : 'PROVISIONING')),
    exitCode: live?.exitCode ?? container?.ExitCode,
    stopCode: live?.stopCode ?? reported?.StopCode,
    stoppedReason: (last && reasonOf(last.end)) ?? live?.stoppedReason ?? reported?.StoppedReason ?? container?.Reason,
    execution: { name: x.name ?? '', status: x.status ?? 'RUNNING' },
    attempts: attempts.length,
    timedOut: last?.end?.type === 'TaskTimedOut',
  };
}

/**
 * Replace, in each state machine job's recent runs, the tasks Step Functions started by the executions
 * they belong to. `byJob` is changed in place.
 */
export async function withExecutions(
  sfn: SFNClient,
  config: StackConfig,
  account: string,
  partition: string,
  byJob: Map<string, RecentRuns>,
  opts: { limit: number; now: Date },
): Promise<void> {
  const jobs = config.jobs.filter(usesStateMachine);
  if (!jobs.length) return;
  const listed = new Map<string, ExecutionListItem[]>();
  await Promise.all(
    jobs.map(async (job) => {
      const stateMachineArn = `arn:${partition}:states:${config.region}:${account}:stateMachine:${stateMachineName(job)}`;
      try {
        listed.set(
          job.name,
          (await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: opts.limit }))).executions ?? [],
        );
      } catch (err) {
        // Not created yet: the job has no runs through it.
        if (!isNotFound(err, ...SFN_MACHINE_GONE)) throw err;
      }
    }),
  );
  // Which executions will be shown: the stack's newest runs and each job's last. Only those are read.
  type Candidate = { job: string; time: number; x?: ExecutionListItem };
  const candidates: Candidate[] = [];
  for (const [name, recent] of byJob) {
    const sfnJob = listed.has(name);
    for (const r of recent.runs)
      if (!sfnJob || r.startedBy !== STARTED_BY_STEP_FUNCTIONS)
        candidates.push({ job: name, time: Date.parse(r.createdAt ?? r.startedAt ?? '') || 0 });
  }
  for (const [name, xs] of listed)
    for (const x of xs) candidates.push({ job: name, time: x.startDate?.getTime() ?? 0, x });
  candidates.sort((a, b) => b.time - a.time);
  const shown = new Set(candidates.slice(0, opts.limit).filter((c) => c.x));
  for (const name of listed.keys()) {
    const first = candidates.find((c) => c.job === name);
    if (first?.x) shown.add(first);
  }
  const runsOf = new Map<string, RunInfo[]>();
  await Promise.all(
    [...shown].map(async (c) => {
      const job = config.jobs.find((j) => j.name === c.job)!;
      const tasks = new Map((byJob.get(c.job)?.runs ?? []).map((r) => [r.taskArn, r]));
      const run = await executionRun(sfn, job, c.x!, tasks, opts.now);
      runsOf.set(c.job, [...(runsOf.get(c.job) ?? []), run]);
    }),
  );
  const time = (r: RunInfo) => Date.parse(r.createdAt ?? r.startedAt ?? '') || 0;
  for (const name of listed.keys()) {
    const before = byJob.get(name) ?? { runs: [] };
    const runs = [...before.runs.filter((r) => r.startedBy !== STARTED_BY_STEP_FUNCTIONS), ...(runsOf.get(name) ?? [])]
      .sort((a, b) => time(b) - time(a))
      .slice(0, opts.limit);
    byJob.set(name, runs.length ? { runs } : before.runs.length ? { runs, note: `no runs of ${name} found` } : before);
  }
}
