/**
 * `batchctl history`: every run of the stack's jobs since a time, newest first, and the scheduled times
 * that produced no run (`missed`).
 *
 * Where runs come from:
 * - the history log group (model/history.ts): the STOPPED "ECS Task State Change" event of every
 *   task, kept for `logs.retentionDays`, read with FilterLogEvents from `since` on;
 * - ECS (ListTasks + DescribeTasks): runs still going, and those stopped too recently to be logged yet.
 *
 * What a run is: a task, or, for a job with a timeout or retries, the tasks of one state machine
 * execution (its attempts, which carry the same BATCH_RUN_ID). Its scheduled time is the
 * BATCH_SCHEDULED_TIME the trigger put in the container's environment, which the event carries in
 * `overrides`.
 *
 * Missed scheduled times: the times the job's schedule fired since `since` (from its expression) with no
 * run, and the dead-lettered invocations and duplicate-guard claims with no run. The reason is the
 * dead letter's error where there is one.
 *
 * Reads, all in parallel: FilterLogEvents pages (10,000 events or 1 MB each), DescribeLogGroups (when
 * history began), ListObjectsV2 of the claims, the dead-letter queue, ListTasks/DescribeTasks; then, for
 * each run through a state machine whose last attempt did not succeed, its execution's newest event
 * (retrying, stopped, or failed). No EC2.
 */
import type { Task } from '@aws-sdk/client-ecs';
import type { JobConfig, StackConfig } from '../config/schema.js';
import { nextRuns, parseScheduleExpression } from '../config/cron.js';
import { historyGroupName } from '../model/history.js';
import { ENV_RUN_ID, ENV_SCHEDULED_TIME, LOCK_PREFIX, lockPrefixOf } from '../model/guard.js';
import { usesDeadLetterQueue } from '../model/scheduler.js';
import { K } from '../model/keys.js';
import { UserError } from '../base/errors.js';
import { jobsOf } from '../model/job-select.js';
import { openStack, type StackOptions } from '../engine/stack.js';
import { clusterTasks, triggerOf } from './status.js';
import type { RunInfo } from './run-info.js';
import { triggerOfExecution } from './status-executions.js';
import type { DeadLetter } from './dead-letters.js';
import { familyOf } from '../model/policies.js';
import { SFN_EXECUTION_GONE, SQS_QUEUE_GONE } from '../model/aws-errors.js';
import { ifExists } from '../resources/lib/aws-calls.js';
import { executionEnd } from './executions.js';
import { stoppedByOf } from './stop.js';

/** Options of `history`. */
export interface HistoryOptions extends Omit<StackOptions, 'forceUnlock'> {
  /** One job; left out, every job of the stack. */
  job?: string;
  /** The oldest time to list (runs that stopped, and scheduled times, from then on). */
  since: Date;
  /** Now (tests). */
  now?: Date;
}

/** One attempt of a run: a task. Times are ISO strings. */
export interface HistoryAttempt {
  taskArn: string;
  shortId: string;
  createdAt?: string;
  startedAt?: string;
  stoppedAt?: string;
  lastStatus: string;
  exitCode?: number;
  stopCode?: string;
  stoppedReason?: string;
  imageDigest?: string;
  /** The capacity provider the task ran on, when started with a strategy (FARGATE_SPOT: a Spot job's first attempt). */
  capacityProviderName?: string;
}

/** One line of the history: a run, or a scheduled time that produced none. */
export interface HistoryEntry {
  job: string;
  /**
   * `succeeded`: the (last attempt's) container exited 0; `failed`: it stopped otherwise; `stopped`:
   * someone stopped it (`batchctl stop`, StopTask, StopExecution: `stoppedBy` says who when batchctl
   * did); `running`: not stopped yet (or an execution between attempts); `missed`: a scheduled time
   * without a run.
   */
  result: 'succeeded' | 'failed' | 'stopped' | 'running' | 'missed';
  /** A stopped run: who stopped it (the caller `batchctl stop` names), else the reason given. */
  stoppedBy?: string;
  /** What started it (missed times: `schedule`). */
  trigger: RunInfo['trigger'];
  /** The time the run was due (BATCH_SCHEDULED_TIME), ISO; undefined for a run started by hand. */
  scheduledTime?: string;
  /**
   * The scheduled time was not in the task's environment (a target from before the scheduled time was
   * passed, or one edited outside batchctl): it is the schedule's last time before the task was created.
   */
  scheduledTimeDerived?: boolean;
  createdAt?: string;
  /** From the first attempt's container start to the last one's stop. */
  startedAt?: string;
  stoppedAt?: string;
  durationSeconds?: number;
  exitCode?: number;
  stopCode?: string;
  stoppedReason?: string;
  /** The image digest the (last) attempt's container ran. */
  imageDigest?: string;
  /** The (last) attempt's task. */
  taskArn?: string;
  shortId?: string;
  /** A run through the job's state machine: the execution (BATCH_RUN_ID) and its attempts, oldest first. */
  runId?: string;
  attempts?: HistoryAttempt[];
  /** Missed: why, where known. */
  reason?: string;
  /** Where the entry comes from. */
  source: 'history' | 'ecs' | 'schedule' | 'dead-letter' | 'claim';
}

export interface HistoryReport {
  stack: string;
  region: string;
  account: string;
  since: string;
  now: string;
  jobs: string[];
  /** Newest first (by scheduled time, else creation, else stop). */
  entries: HistoryEntry[];
  /** What limits the answer (no history group yet, a missing queue, claims expired...). */
  notes: string[];
}

/** Most scheduled times derived per job (a `rate(1 minute)` over 30 days would be 43,200). */
const MAX_EXPECTED = 10_000;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
/** A scheduled time in canonical form (`2026-11-28T03:30:00Z`), as the duplicate guard writes it. */
const canonical = (raw: string | undefined): string | undefined => {
  const ms = raw ? Date.parse(raw) : NaN;
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
};
const ms = (v: unknown): number | undefined => {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string' || typeof v === 'number') {
    const n = typeof v === 'number' ? v : Date.parse(v);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
};

/** A task as the event logs it or DescribeTasks returns it, reduced to what history shows. */
interface TaskView {
  taskArn: string;
  family: string;
  startedBy?: string;
  createdAt?: number;
  startedAt?: number;
  stoppedAt?: number;
  lastStatus: string;
  exitCode?: number;
  stopCode?: string;
  stoppedReason?: string;
  imageDigest?: string;
  capacityProviderName?: string;
  scheduledTime?: string;
  runId?: string;
  /** The environment of the job's container override, for the execution's trigger. */
  env: { Name: string; Value: string }[];
}

type LooseTask = Omit<Task, 'createdAt' | 'startedAt' | 'stoppedAt'> & {
  createdAt?: unknown;
  startedAt?: unknown;
  stoppedAt?: unknown;
};

/** Either form of a task (the event's JSON: ISO strings; the SDK's: Dates) as a TaskView for `job`. */
function viewOf(t: LooseTask, job: JobConfig): TaskView {
  const container = t.containers?.find((c) => c.name === job.task.containerName) ?? t.containers?.[0];
  const override =
    t.overrides?.containerOverrides?.find((c) => c.name === job.task.containerName) ??
    t.overrides?.containerOverrides?.[0];
  const env = (override?.environment ?? []).map((v) => ({ Name: v.name ?? '', Value: v.value ?? '' }));
  const get = (name: string) => env.find((v) => v.Name === name)?.Value || undefined;
  return {
    taskArn: t.taskArn ?? '',
    family: job.task.family,
    startedBy: t.startedBy,
    createdAt: ms(t.createdAt),
    startedAt: ms(t.startedAt),
    stoppedAt: ms(t.stoppedAt),
    lastStatus: t.lastStatus ?? 'UNKNOWN',
    exitCode: container?.exitCode ?? undefined,
    stopCode: t.stopCode,
    stoppedReason: t.stoppedReason ?? container?.reason,
    imageDigest: container?.imageDigest,
    ...(t.capacityProviderName ? { capacityProviderName: t.capacityProviderName } : {}),
    scheduledTime: canonical(get(ENV_SCHEDULED_TIME)),
    runId: get(ENV_RUN_ID),
    env,
  };
}

const shortOf = (arn: string) => arn.split('/').pop()!.slice(0, 8);
const seconds = (from: number | undefined, to: number | undefined) =>
  from !== undefined && to !== undefined ? Math.max(0, Math.round((to - from) / 1000)) : undefined;

function attemptOf(v: TaskView): HistoryAttempt {
  return {
    taskArn: v.taskArn,
    shortId: shortOf(v.taskArn),
    createdAt: iso(v.createdAt),
    startedAt: iso(v.startedAt),
    stoppedAt: iso(v.stoppedAt),
    lastStatus: v.lastStatus,
    exitCode: v.exitCode,
    stopCode: v.stopCode,
    stoppedReason: v.stoppedReason,
    imageDigest: v.imageDigest,
    ...(v.capacityProviderName ? { capacityProviderName: v.capacityProviderName } : {}),
  };
}

/** One run from its tasks (one task, or an execution's attempts), as of `now`. */
function runOf(job: JobConfig, tasks: TaskView[], source: HistoryEntry['source'], now: number): HistoryEntry {
  const sorted = [...tasks].sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
  const first = sorted[0]!;
  const last = sorted.at(-1)!;
  const runId = last.runId;
  // An execution's trigger: run-now names its executions; a scheduled one carries the scheduled time.
  const trigger = runId
    ? triggerOfExecution(runId.split(':').pop() ?? '', { Environment: last.env })
    : triggerOf(last.startedBy);
  const stopped = last.lastStatus === 'STOPPED';
  const startedAt = first.startedAt ?? last.startedAt;
  // StopTask from outside (`batchctl stop`, the console). A run through a state machine is judged by how
  // its execution ended instead (runEnds): its timeout stops the task the same way.
  const stoppedByHand = stopped && last.stopCode === 'UserInitiated' && !runId;
  return {
    job: job.name,
    result: !stopped ? 'running' : stoppedByHand ? 'stopped' : last.exitCode === 0 ? 'succeeded' : 'failed',
    ...(stoppedByHand
      ? { stoppedBy: stoppedByOf(last.stoppedReason) ?? last.stoppedReason ?? 'StopTask (no reason given)' }
      : {}),
    trigger,
    ...(last.scheduledTime ? { scheduledTime: last.scheduledTime } : {}),
    createdAt: iso(first.createdAt),
    startedAt: iso(startedAt),
    stoppedAt: iso(last.stoppedAt),
    durationSeconds: seconds(startedAt, last.stoppedAt ?? (startedAt !== undefined ? now : undefined)),
    exitCode: last.exitCode,
    stopCode: last.stopCode,
    stoppedReason: last.stoppedReason,
    imageDigest: last.imageDigest,
    taskArn: last.taskArn,
    shortId: shortOf(last.taskArn),
    ...(runId ? { runId, attempts: sorted.map(attemptOf) } : {}),
    source,
  };
}

/**
 * A scheduled run whose task carried no BATCH_SCHEDULED_TIME: its due time is the schedule's last one
 * at or before the task's creation, within the time a trigger may take to start it (graceMs).
 */
function withDerivedTime(r: HistoryEntry, job: JobConfig): HistoryEntry {
  const created = ms(r.createdAt);
  if (r.scheduledTime || r.trigger !== 'schedule' || created === undefined) return r;
  let t: number | undefined;
  try {
    t = scheduledTimes(job, created - graceMs(job), created).times.at(-1);
  } catch {
    // An expression our parser rejects (edited outside batchctl): no time.
  }
  return t === undefined
    ? r
    : { ...r, scheduledTime: canonical(new Date(t).toISOString()), scheduledTimeDerived: true };
}

/** Every logged STOPPED event of the group from `since` on (FilterLogEvents, every page); undefined: no group. */
async function loggedTasks(
  logs: import('@aws-sdk/client-cloudwatch-logs').CloudWatchLogsClient,
  group: string,
  since: number,
): Promise<LooseTask[] | undefined> {
  const { FilterLogEventsCommand } = await import('../aws/sdk/cloudwatch-logs.js');
  const out: LooseTask[] = [];
  let nextToken: string | undefined;
  // No group: no history yet.
  return ifExists(async () => {
    do {
      const page = await logs.send(new FilterLogEventsCommand({ logGroupName: group, startTime: since, nextToken }));
      for (const e of page.events ?? []) {
        try {
          const event = JSON.parse(e.message ?? '') as { detail?: LooseTask };
          if (event.detail?.taskArn) out.push(event.detail);
        } catch {
          // Not an event of ours (someone wrote to the group): skipped.
        }
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  });
}

/** When the history group was created (history knows nothing before), or undefined when it does not exist. */
async function historyStart(
  logs: import('@aws-sdk/client-cloudwatch-logs').CloudWatchLogsClient,
  group: string,
): Promise<number | undefined> {
  const { DescribeLogGroupsCommand } = await import('../aws/sdk/cloudwatch-logs.js');
  const out = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group }));
  return out.logGroups?.find((g) => g.logGroupName === group)?.creationTime;
}

/** One duplicate-guard claim: a job's scheduled time, claimed when (the object's LastModified). */
interface Claim {
  job: string;
  scheduledTime: string;
  claimedAt?: number;
}

/**
 * The claims in the bucket (`.batchctl/runs/[<job>/]<time>.json`), every page of ListObjectsV2. The
 * original job claims directly under the prefix; the others under their name. Undefined: no bucket.
 */
async function claims(
  s3: import('@aws-sdk/client-s3').S3Client,
  bucket: string,
  jobs: JobConfig[],
): Promise<Claim[] | undefined> {
  const { ListObjectsV2Command } = await import('../aws/sdk/s3.js');
  const out: Claim[] = [];
  const byPrefix = new Map(jobs.map((j) => [lockPrefixOf(j), j.name]));
  let ContinuationToken: string | undefined;
  // No bucket: no claims.
  return ifExists(async () => {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: LOCK_PREFIX, ContinuationToken }));
      for (const o of page.Contents ?? []) {
        const key = o.Key ?? '';
        const slash = key.lastIndexOf('/');
        const job = byPrefix.get(key.slice(0, slash + 1));
        const time = canonical(key.slice(slash + 1).replace(/\.json$/, ''));
        if (job && time) out.push({ job, scheduledTime: time, claimedAt: o.LastModified?.getTime() });
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return out;
  }, ['NoSuchBucket']);
}

/**
 * The times a job's schedule fired in (from, to]. A cron comes from its expression and zone. A rate
 * fires every interval counted from the rule's creation, which the expression does not say: its phase is
 * taken from a run it started (`anchor`); without one, no time is derived.
 */
export function scheduledTimes(
  job: JobConfig,
  from: number,
  to: number,
  anchor?: number,
): { times: number[]; truncated: boolean } {
  if (from >= to) return { times: [], truncated: false };
  const expr = job.schedule.expression;
  const parsed = parseScheduleExpression(expr);
  const times: number[] = [];
  if (parsed.kind === 'rate') {
    if (anchor === undefined) return { times, truncated: false };
    const step = parsed.intervalMs;
    let t = anchor - Math.floor((anchor - from) / step) * step;
    if (t <= from) t += step;
    for (; t <= to && times.length < MAX_EXPECTED; t += step) times.push(t);
    return { times, truncated: t <= to };
  }
  let cursor = new Date(from);
  while (times.length < MAX_EXPECTED) {
    const batch = nextRuns(expr, cursor, 500, job.schedule.timezone ?? 'UTC');
    if (!batch.length) break;
    for (const d of batch) {
      if (d.getTime() > to) return { times, truncated: false };
      times.push(d.getTime());
    }
    cursor = batch.at(-1)!;
  }
  return { times, truncated: times.length >= MAX_EXPECTED };
}

/**
 * How long after a scheduled time its run may still legitimately be missing: EventBridge (or Scheduler)
 * retries a failed invocation for up to the event age, Scheduler may start it up to the flexible window
 * late, and the task takes a while to be created. Before that a time is not called missed.
 */
export function graceMs(job: JobConfig): number {
  return (job.schedule.retry.maximumEventAgeSeconds + job.schedule.flexibleWindowMinutes * 60 + 300) * 1000;
}

/** `batchctl history`: open the stack (read-only, no lock), read every source in parallel, merge. */
export async function runHistory(opts: HistoryOptions): Promise<HistoryReport> {
  const { loadStackConfig } = await import('../engine/stack.js');
  const loaded = await loadStackConfig(opts);
  // Step Functions only for jobs with a state machine: how their executions ended.
  const sfn = loaded.jobs.some((j) => j.runPolicy) ? ['sfn' as const] : [];
  const stack = await openStack(opts, ['logs', 's3', 'ecs', 'sqs', 'sts', ...sfn], undefined, loaded);
  try {
    const { config, aws } = stack;
    const jobs = jobsOf(config, opts.job);
    const now = (opts.now ?? new Date(opts.clock?.now() ?? Date.now())).getTime();
    const since = opts.since.getTime();
    if (since > now)
      throw new UserError(
        `--since ${opts.since.toISOString()} is in the future`,
        'give a past time, or a duration such as 7d, 24h or 30m',
      );
    const group = historyGroupName(config);
    const notes: string[] = [];
    const dlqUrl = usesDeadLetterQueue(config) ? stack.state.records().get(K.deadLetterQueue)?.id : undefined;

    const [logged, started, tasks, claimList, deadLetters] = await Promise.all([
      loggedTasks(aws.logs, group, since),
      historyStart(aws.logs, group),
      clusterTasks(aws.ecs, config.cluster.name, 1000),
      claims(aws.s3, config.bucket.name!, config.jobs),
      dlqUrl ? readQueue(aws.sqs, dlqUrl, config) : Promise.resolve(undefined),
    ]);
    if (!logged)
      notes.push(
        `the history log group ${group} does not exist yet: \`batchctl up\` creates it; until then only the runs ECS still shows (about an hour) are listed`,
      );
    else if (started !== undefined && started > since)
      notes.push(
        `history began ${iso(started)} (when \`up\` created ${group}): earlier runs are not recorded, nor judged missed`,
      );
    if (!claimList) notes.push(`the bucket ${config.bucket.name} does not exist: no duplicate-guard claims read`);
    if (dlqUrl && !deadLetters) notes.push('the dead-letter queue does not exist: no dead letters read');
    if (deadLetters && !deadLetters.complete)
      notes.push(`the dead-letter queue holds ${deadLetters.count} messages; ${deadLetters.sampled.length} were read`);

    // Every task once: the logged STOPPED event, else what ECS shows now (running, or stopped moments ago).
    const byFamily = new Map(config.jobs.map((j) => [j.task.family, j]));
    const wanted = new Set(jobs.map((j) => j.name));
    const views = new Map<string, { view: TaskView; job: JobConfig; source: HistoryEntry['source'] }>();
    const add = (t: LooseTask, source: HistoryEntry['source']) => {
      const job = byFamily.get(familyOf(t.taskDefinitionArn));
      if (!job || !wanted.has(job.name) || !t.taskArn) return;
      const prev = views.get(t.taskArn);
      if (prev && prev.view.lastStatus === 'STOPPED') return;
      views.set(t.taskArn, { view: viewOf(t, job), job, source });
    };
    for (const t of logged ?? []) add(t, 'history');
    for (const t of tasks ?? []) add(t as LooseTask, 'ecs');

    // Tasks to runs: an execution's attempts are one run.
    const groups = new Map<string, { job: JobConfig; tasks: TaskView[]; source: HistoryEntry['source'] }>();
    for (const { view, job, source } of views.values()) {
      const key = view.runId ? `run:${view.runId}` : `task:${view.taskArn}`;
      const g = groups.get(key) ?? { job, tasks: [], source };
      g.tasks.push(view);
      if (source === 'history') g.source = 'history';
      groups.set(key, g);
    }
    const runs = await withExecutionEnds(
      aws,
      [...groups.values()]
        .map((g) => withDerivedTime(runOf(g.job, g.tasks, g.source, now), g.job))
        // ECS may show a run that stopped before `since` (within its hour): the window is the caller's.
        .filter((r) => (ms(r.stoppedAt) ?? now) >= since || (ms(r.scheduledTime) ?? -Infinity) >= since),
    );

    const missed = missedTimes({
      jobs,
      runs,
      claims: claimList ?? [],
      deadLetters: deadLetters?.sampled ?? [],
      since,
      now,
      historyFrom: logged ? (started ?? since) : now,
      notes,
    });

    const time = (e: HistoryEntry) => ms(e.scheduledTime) ?? ms(e.createdAt) ?? ms(e.stoppedAt) ?? 0;
    const entries = [...runs, ...missed].sort(
      (a, b) => time(b) - time(a) || (ms(b.createdAt) ?? 0) - (ms(a.createdAt) ?? 0),
    );
    return {
      stack: config.stack,
      region: config.region,
      account: stack.account,
      since: iso(since)!,
      now: iso(now)!,
      jobs: jobs.map((j) => j.name),
      entries,
      notes,
    };
  } finally {
    await stack.close();
  }
}

/** How many executions' ends are read at once. */
const EXECUTION_READS = 8;

/**
 * A run through a state machine whose last attempt did not succeed is judged by its execution: still
 * RUNNING (waiting to retry: `running`), ABORTED (stopped: by the cause `batchctl stop` gave), or
 * failed. One GetExecutionHistory (newest event only) for each such run; Step Functions keeps an ended
 * execution 90 days, and one it no longer has keeps the result its task gave.
 */
async function withExecutionEnds(
  aws: import('../aws/clients.js').AwsClients,
  runs: HistoryEntry[],
): Promise<HistoryEntry[]> {
  const judged = runs.filter((r) => r.runId && r.result === 'failed');
  if (!judged.length) return runs;
  const { GetExecutionHistoryCommand } = await import('@aws-sdk/client-sfn');
  const ends = new Map<string, Partial<HistoryEntry>>();
  for (let i = 0; i < judged.length; i += EXECUTION_READS) {
    await Promise.all(
      judged.slice(i, i + EXECUTION_READS).map(async (r) => {
        const out = await ifExists(
          aws.sfn.send(new GetExecutionHistoryCommand({ executionArn: r.runId, reverseOrder: true, maxResults: 1 })),
          SFN_EXECUTION_GONE,
        );
        // Gone (past Step Functions' 90 days): the run keeps the result its task gave.
        if (!out) return;
        const end = executionEnd(out.events ?? []);
        if (!end) ends.set(r.runId!, { result: 'running' });
        else if (end.status === 'ABORTED') {
          const given = [end.error, end.cause].filter(Boolean).join(': ') || 'StopExecution';
          ends.set(r.runId!, { result: 'stopped', stoppedBy: stoppedByOf(end.cause) ?? given });
        }
      }),
    );
  }
  return runs.map((r) => (r.runId && ends.has(r.runId) ? { ...r, ...ends.get(r.runId) } : r));
}

/** The dead-letter queue, read without consuming it (runs/dead-letters.ts); undefined when it is gone. */
async function readQueue(sqs: import('@aws-sdk/client-sqs').SQSClient, url: string, config: StackConfig) {
  const { readDeadLetters } = await import('./dead-letters.js');
  return ifExists(readDeadLetters(sqs, url, config, { max: 100 }), SQS_QUEUE_GONE);
}

/**
 * The scheduled times without a run, per job: what the schedule fired since history began (and
 * `since`), the dead letters and the claims. A time is judged only once its grace has passed.
 */
export function missedTimes(a: {
  jobs: JobConfig[];
  runs: HistoryEntry[];
  claims: Claim[];
  deadLetters: DeadLetter[];
  since: number;
  now: number;
  /** Nothing before this is judged: history was not recorded yet. */
  historyFrom: number;
  notes: string[];
}): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const job of a.jobs) {
    const ran = new Set(a.runs.filter((r) => r.job === job.name && r.scheduledTime).map((r) => r.scheduledTime!));
    const from = Math.max(a.since, a.historyFrom);
    const to = a.now - graceMs(job);
    const inWindow = (t: number) => t > from && t <= to;
    const dead = new Map<string, DeadLetter>();
    for (const d of a.deadLetters) {
      const t = canonical(d.scheduledTime);
      if (d.job === job.name && t && !dead.has(t)) dead.set(t, d);
    }
    const claimed = new Map(a.claims.filter((c) => c.job === job.name).map((c) => [c.scheduledTime, c]));
    const times = new Set<string>();
    if (job.schedule.enabled) {
      const anchor = ms([...ran].sort().at(-1));
      const { times: expected, truncated } = scheduledTimes(job, from, to, anchor);
      for (const t of expected) times.add(canonical(new Date(t).toISOString())!);
      if (truncated) a.notes.push(`job ${job.name}: only the first ${MAX_EXPECTED} scheduled times are checked`);
    }
    // Evidence of a due time even where the schedule says nothing (it changed, or a rate without a run).
    for (const t of [...dead.keys(), ...claimed.keys()]) if (inWindow(Date.parse(t))) times.add(t);
    for (const t of times) {
      if (ran.has(t)) continue;
      const d = dead.get(t);
      const c = claimed.get(t);
      const reason = d
        ? `not started: ${[d.errorCode, d.errorMessage].filter(Boolean).join(': ') || 'dead-lettered'}${d.exhaustedRetryCondition ? ` (gave up: ${d.exhaustedRetryCondition})` : ''}`
        : c
          ? `claimed${c.claimedAt ? ` at ${iso(c.claimedAt)}` : ''} by a task that left no record`
          : 'no task started: no dead letter and no claim (the trigger did not fire, or the schedule was paused or disabled)';
      out.push({
        job: job.name,
        result: 'missed',
        trigger: 'schedule',
        scheduledTime: t,
        reason,
        source: d ? 'dead-letter' : c ? 'claim' : 'schedule',
      });
    }
  }
  return out;
}
