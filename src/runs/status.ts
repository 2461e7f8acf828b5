/**
 * `status`: what exists of the stack's shared resources and whether they match the config (the same
 * read-only walk as `plan`), whether the billed interface endpoints are up, and per job when its
 * schedule fires next and how its last runs ended.
 *
 * Its reads are bounded to stay quick at 50 jobs: the shared resources' walk (a constant), each job's
 * rule or schedule (the rules in one listing, then their tags: one call a job), and the runs of the whole
 * cluster in one listing. Each job's task definition, roles and target are `plan`'s to check.
 */
import { RUN_NOW_STARTED_BY } from './task-run.js';
import type { RecentRuns, RunInfo } from './run-info.js';
import { DescribeTasksCommand, ListTasksCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import type { JobConfig, NetworkMode, StackConfig } from '../config/schema.js';
import { K, jobKey } from '../model/keys.js';
import { nextRuns } from '../config/cron.js';
import { awsErrorCode } from '../base/errors.js';
import type { StackOptions } from '../engine/stack.js';
import { describeMark, type PauseMark } from '../model/pause.js';
import { buildContext } from '../engine/context.js';
import { buildGraph } from '../engine/graph.js';
import { jobImages, type ImageStatus } from '../releases/images.js';
import type { ImageCheck } from '../model/image-check.js';
import { stateMachineName } from '../model/state-machine.js';
import { describeJobSecrets } from '../model/secrets.js';
import { SCHEDULE_STARTED_BY } from '../model/scheduler.js';
import { readDeadLetters, type DeadLetter, type DeadLetterSummary } from './dead-letters.js';
import { familyOf } from '../model/policies.js';

/** One resource of the stack as it is now. */
export interface ResourceStatus {
  key: string;
  kind: string;
  label: string;
  /** present: matches the config; missing: does not exist; drifted: exists with other settings. */
  /** `stale`: recorded in the state but no longer in the config (`up` deletes it). */
  state: 'present' | 'missing' | 'drifted' | 'error' | 'stale';
  id?: string;
  /** The drifted fields. */
  changes: string[];
  /** What was added outside batchctl (an inline policy on a role, a target on a rule...): `up` deletes it. */
  added?: string[];
  /** Drifted in a way `up` cannot repair in place. */
  replace?: boolean;
  error?: string;
  /** Other resources carrying this node's tags (a race or an interrupted run): `up` deletes them. */
  duplicates?: string[];
  /** A state record that is not ours, ignored; duplicates. */
  notes?: string[];
  /** `you`: your VPC or subnet (network mode existing), read only. */
  owner?: 'you';
}

/** One interface endpoint: billed per hour while it exists. */
export interface EndpointStatus {
  key: string;
  id?: string;
  state: 'up' | 'down' | 'unknown';
}

/** One upcoming run, as the instant in UTC and in the display zone. */
export interface NextRun {
  utc: string;
  /** The same instant in `displayTimeZone`, ISO 8601 with its offset. */
  local: string;
}

export interface ScheduleStatus {
  expression: string;
  enabled: boolean;
  /** Where expression and enabled come from: the live rule or schedule, or the config when it does not exist. */
  source: 'rule' | 'schedule' | 'config';
  /** The trigger the config uses: an EventBridge rule, or an EventBridge Scheduler schedule. */
  engine: 'rule' | 'scheduler';
  /** The zone the cron fields are read in (config.schedule.timezone ?? UTC). */
  timezone: string;
  /** The zone `next[].local` is shown in: the configured one, else this machine's. */
  displayTimeZone: string;
  next: NextRun[];
  /** Paused by `batchctl pause` or `down --endpoints`: who, when and why (read from the live schedule). */
  paused?: PauseMark;
}

/** One job: its schedule as it stands, and its last run. */
export interface JobStatus {
  job: string;
  family: string;
  schedule: ScheduleStatus;
  /**
   * The job's timeout and retries (config), when it has either: its schedule then starts its state
   * machine, which runs the task.
   */
  runPolicy?: { timeoutSeconds?: number; retries: number; spot?: true; stateMachine: string };
  /** Where its first attempt runs: `spot` (Fargate Spot, then on-demand) or `on-demand` (config). */
  capacity: 'on-demand' | 'spot';
  /** Its ephemeral storage, when the config sets one (GiB). */
  ephemeralStorageGiB?: number;
  /** Its secrets as the config names them (`NAME <- source name`): names only, never a value. */
  secrets?: string[];
  /** The newest run ECS still shows (it drops stopped tasks about an hour after they stop). */
  lastRun?: RunInfo;
  /**
   * The image the job runs: the reference its task definition names, its deployed digest and whether its
   * tag moved since (ImageStatus), and whether the configured image is in its repository (runs fail until it is).
   */
  image: ImageStatus & JobImage;
  /**
   * The job's invocations in the dead-letter queue (runs its rule or schedule could not start: RunTask
   * refused, throttled past the retries...), from the messages sampled, and the newest one's error.
   * Absent when the job has no dead-letter queue, or the queue could not be read.
   */
  deadLetters?: {
    count: number;
    newest?: { sentAt: string; scheduledTime?: string; errorCode?: string; errorMessage?: string };
  };
}

/**
 * Whether a job's configured image is in its repository: the reference checked, present / missing / unchecked (with
 * why).
 */
export interface JobImage {
  image: string;
  state: ImageCheck['state'];
  note?: string;
}

export interface StatusReport {
  stack: string;
  region: string;
  account: string;
  resources: ResourceStatus[];
  counts: Record<ResourceStatus['state'], number>;
  /**
   * The resources the config describes, as plan, up and down count them; status reads the shared ones
   * and each job's trigger (`resources`), and leaves each job's roles, task definition and target to plan.
   */
  total: number;
  endpoints: { up: number; down: number; list: EndpointStatus[] };
  /** How tasks reach AWS services (network.mode), and in which VPC. */
  network: { mode: NetworkMode; vpcId?: string; vpcOwner: 'batchctl' | 'you'; publicIp: boolean };
  /** Per job, in the config's order. */
  jobs: JobStatus[];
  /** The dead-letter queue the Scheduler jobs share: invocations that could not start a task after retries. */
  deadLetters?: {
    queue: string;
    /** Messages in the queue (SQS's ApproximateNumberOfMessages). */
    count?: number;
    note?: string;
    /** Messages read to attribute them to jobs; fewer than count when SQS's sample missed some. */
    sampled?: number;
    /** Messages of no job of the config (a job removed since, or a rule renamed). */
    unattributed?: number;
  };
  /** Each distinct image the jobs run, checked in its repository (what the jobs' `image` fields come from). */
  images: ImageCheck[];
  /** The last runs of every job, newest first. */
  runs: RunInfo[];
  runsNote?: string;
  /** Where failed runs are reported (`notify:`), and whether each e-mail recipient confirmed. */
  alerts: AlertStatus;
}

/** ECS drops stopped tasks from its API about an hour after they stop; older runs exist only in the logs. */
export const STOPPED_TASK_VISIBILITY =
  'ECS shows stopped tasks for about an hour only; older runs are in the log group (batchctl logs)';

const iso = (d: Date | undefined) => (d ? d.toISOString() : undefined);
/** ISO without milliseconds, for schedule times (always whole minutes). */
const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const seconds = (from: Date | undefined, to: Date | undefined) =>
  from && to ? Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000)) : undefined;

/**
 * ECS `startedBy` prefixes of the two schedule engines: rules say `events-rule/`, Scheduler's universal
 * RunTask target what batchctl writes in its request (`batchctl-schedule/`), its templated target (earlier
 * batchctl) `chronos-schedule/`.
 */
const SCHEDULED_BY = ['events-rule/', SCHEDULE_STARTED_BY, 'chronos-schedule/'];

/** What started a task, from its `startedBy`. */
export function triggerOf(startedBy: string | undefined): RunInfo['trigger'] {
  if (startedBy && SCHEDULED_BY.some((p) => startedBy.startsWith(p))) return 'schedule';
  return startedBy === RUN_NOW_STARTED_BY ? 'run-now' : 'manual';
}

export function runInfo(t: Task, job: JobConfig, now: Date): RunInfo {
  const containerName = job.task.containerName;
  const arn = t.taskArn ?? '';
  const container = t.containers?.find((c) => c.name === containerName);
  const started = t.startedAt;
  const stopped = t.stoppedAt;
  const billedFrom = t.pullStartedAt ?? started;
  return {
    job: job.name,
    taskArn: arn,
    shortId: arn.split('/').pop()!.slice(0, 8),
    trigger: triggerOf(t.startedBy),
    startedBy: t.startedBy,
    createdAt: iso(t.createdAt),
    startedAt: iso(started),
    stoppedAt: iso(stopped),
    durationSeconds: seconds(started, stopped ?? (started ? now : undefined)),
    billedSeconds: stopped && billedFrom ? Math.ceil((stopped.getTime() - billedFrom.getTime()) / 1000) : undefined,
    lastStatus: t.lastStatus ?? 'UNKNOWN',
    exitCode: container?.exitCode,
    stopCode: t.stopCode,
    stoppedReason: t.stoppedReason ?? container?.reason,
  };
}

/** Every task ARN of the cluster in one desired status, up to `cap` (ListTasks pages are at most 100). */
async function listTaskArns(
  ecs: ECSClient,
  cluster: string,
  desiredStatus: 'RUNNING' | 'STOPPED',
  cap: number,
): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecs.send(new ListTasksCommand({ cluster, desiredStatus, nextToken, maxResults: 100 }));
    arns.push(...(out.taskArns ?? []));
    nextToken = out.nextToken;
  } while (nextToken && arns.length < cap);
  return arns;
}

/**
 * Every task ECS still shows in the cluster (running, and stopped within about the last hour), up to
 * `cap` of each desired status: ListTasks for both, DescribeTasks in batches of 100 (its limit).
 * Undefined when the cluster does not exist.
 */
export async function clusterTasks(ecs: ECSClient, cluster: string, cap: number): Promise<Task[] | undefined> {
  let arns: string[];
  try {
    const [running, stopped] = await Promise.all([
      listTaskArns(ecs, cluster, 'RUNNING', cap),
      listTaskArns(ecs, cluster, 'STOPPED', cap),
    ]);
    arns = [...new Set([...running, ...stopped])];
  } catch (err) {
    if (awsErrorCode(err) === 'ClusterNotFoundException') return undefined;
    throw err;
  }
  const batches: string[][] = [];
  for (let i = 0; i < arns.length; i += 100) batches.push(arns.slice(i, i + 100));
  const described = await Promise.all(batches.map((b) => ecs.send(new DescribeTasksCommand({ cluster, tasks: b }))));
  return described.flatMap((d) => d.tasks ?? []);
}

/**
 * The last `limit` tasks of each job, newest first (running and stopped). Read-only, and one listing for
 * the whole cluster rather than one per job: ListTasks for both desired statuses, DescribeTasks in
 * batches of 100 (its limit), then each task to its job by family. A missing cluster is no error: there
 * are simply no runs.
 */
export async function recentRunsByJob(
  ecs: ECSClient,
  config: StackConfig,
  opts: { limit: number; now: Date },
): Promise<Map<string, RecentRuns>> {
  const out = new Map<string, RecentRuns>();
  const none = (note: string) => {
    for (const j of config.jobs) out.set(j.name, { runs: [], note });
    return out;
  };
  // ListTasks returns ARNs in no documented order and without times, so describe up to a bounded number
  // and sort by creation time ourselves.
  const tasks = await clusterTasks(ecs, config.cluster.name, Math.max(opts.limit, 100) * config.jobs.length);
  if (!tasks) return none(`cluster ${config.cluster.name} does not exist`);
  const time = (t: Task) => (t.createdAt ?? t.startedAt ?? new Date(0)).getTime();
  const byFamily = new Map(config.jobs.map((j) => [j.task.family, j]));
  const grouped = new Map<string, Task[]>(config.jobs.map((j) => [j.name, []]));
  for (const t of tasks) {
    const job = byFamily.get(familyOf(t.taskDefinitionArn));
    if (job) grouped.get(job.name)!.push(t);
  }
  for (const job of config.jobs) {
    const runs = grouped
      .get(job.name)!
      .sort((a, b) => time(b) - time(a))
      .slice(0, opts.limit)
      .map((t) => runInfo(t, job, opts.now));
    out.set(
      job.name,
      runs.length ? { runs } : { runs, note: `no runs of ${job.task.family} found: ${STOPPED_TASK_VISIBILITY}` },
    );
  }
  return out;
}

/** ISO 8601 of an instant as the wall clock of `timeZone` reads it, with the offset (`2026-11-28T12:30:00+09:00`). */
export function isoInZone(d: Date, timeZone: string): string {
  const parts: Record<string, string> = {};
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  for (const p of f.formatToParts(d)) if (p.type !== 'literal') parts[p.type] = p.value;
  const wall = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const offMin = Math.round((wall - Math.floor(d.getTime() / 1000) * 1000) / 60_000);
  const sign = offMin < 0 ? '-' : '+';
  const abs = Math.abs(offMin);
  const offset =
    offMin === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

/** The machine's own zone (TZ or the system setting). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** A job's schedule block: next `count` fire times from `now`, shown in UTC and in the display zone. */
export function scheduleStatus(
  job: JobConfig,
  live: { expression: string; enabled: boolean; timezone?: string; paused?: PauseMark } | undefined,
  now: Date,
  opts: { count?: number; displayTimeZone?: string } = {},
): ScheduleStatus {
  // A live schedule's zone wins over the config's: the times shown are the ones AWS will fire at.
  const timezone = live?.timezone ?? job.schedule.timezone ?? 'UTC';
  const displayTimeZone = live?.timezone ?? job.schedule.timezone ?? opts.displayTimeZone ?? localTimeZone();
  const expression = live?.expression ?? job.schedule.expression;
  let next: NextRun[] = [];
  try {
    next = nextRuns(expression, now, opts.count ?? 3, timezone).map((d) => ({
      utc: isoSeconds(d),
      local: isoInZone(d, displayTimeZone),
    }));
  } catch {
    // A live rule edited outside batchctl can carry an expression our parser rejects: show it, without times.
  }
  const engine = job.schedule.engine;
  return {
    expression,
    enabled: live?.enabled ?? job.schedule.enabled,
    source: live ? (engine === 'scheduler' ? 'schedule' : 'rule') : 'config',
    engine,
    timezone,
    displayTimeZone,
    next,
    ...(live?.paused ? { paused: live.paused } : {}),
  };
}

/** A job's dead letters as status reports them (ISO times, the newest's error). */
function jobDeadLetters(e: { count: number; newest?: DeadLetter } | undefined): NonNullable<JobStatus['deadLetters']> {
  if (!e) return { count: 0 };
  const n = e.newest;
  return {
    count: e.count,
    ...(n
      ? {
          newest: {
            sentAt: n.sentAt.toISOString(),
            ...(n.scheduledTime ? { scheduledTime: n.scheduledTime } : {}),
            ...(n.errorCode ? { errorCode: n.errorCode } : {}),
            ...(n.errorMessage ? { errorMessage: n.errorMessage } : {}),
          },
        }
      : {}),
  };
}

/**
 * The kinds of a job's that status reads with the shared resources: its trigger (what fires, and when)
 * and its roles (what the job may do: access added to them behind batchctl's back is drift to see).
 */
const TRIGGER_KINDS = new Set(['events.rule', 'scheduler.schedule', 'iam.role']);

/**
 * `batchctl status`: open the stack (no lock: read-only), plan its shared resources and each job's rule
 * or schedule to classify them, then read the recent runs of the cluster.
 */
export async function runStatus(
  opts: StackOptions & { now?: Date; runs?: number; displayTimeZone?: string },
): Promise<StatusReport> {
  const [
    { openStack },
    { planStack },
    { RESOURCE_KINDS },
    { ALL_SERVICES },
    { usesDeadLetterQueue, deadLetterQueueName },
    { checkStackImages },
  ] = await Promise.all([
    import('../engine/stack.js'),
    import('../engine/plan.js'),
    import('../resources/index.js'),
    import('../aws/clients.js'),
    import('../model/scheduler.js'),
    import('../model/image-check.js'),
  ]);
  const stack = await openStack(opts, ALL_SERVICES);
  try {
    const { config } = stack;
    const now = opts.now ?? new Date(opts.clock?.now() ?? Date.now());
    // A job's rule or schedule is read with the walk (the rules in one listing); its other resources are
    // plan's. Whatever a schedule's settings name that the walk does not read comes from the state.
    // The images alongside the walk: one DescribeImages per repository.
    const [plan, images] = await Promise.all([
      planStack(
        {
          config,
          aws: stack.aws,
          account: stack.account,
          partition: stack.partition,
          reporter: opts.reporter,
          state: stack.state,
          clock: opts.clock,
          kinds: RESOURCE_KINDS,
        },
        {
          select: (n) =>
            (n.spec.params as { job?: string } | undefined)?.job === undefined || TRIGGER_KINDS.has(n.kind.kind),
        },
      ),
      checkStackImages(stack.aws.ecr, config, stack.account),
    ]);
    const STATE = {
      unchanged: 'present',
      create: 'missing',
      update: 'drifted',
      replace: 'drifted',
      error: 'error',
      delete: 'stale',
      forget: 'stale',
    } as const;
    const resources: ResourceStatus[] = plan.entries.map((e) => ({
      key: e.key,
      kind: e.kind,
      label: e.label,
      // Exists, but its settings name resources the state does not know: not compared here.
      state: e.partial && e.found ? 'present' : STATE[e.action],
      id: e.record?.id,
      changes:
        !e.partial && (e.action === 'update' || e.action === 'replace')
          ? (e.changes ?? []).filter((c) => !c.removes?.length).map((c) => c.field)
          : [],
      ...(!e.partial && e.changes?.some((c) => c.removes?.length)
        ? { added: e.changes.flatMap((c) => c.removes ?? []) }
        : {}),
      ...(e.action === 'replace' ? { replace: true } : {}),
      ...(e.error ? { error: e.error.message } : {}),
      ...(e.found?.duplicates?.length ? { duplicates: e.found.duplicates.map((d) => d.id) } : {}),
      // A pause is shown with its job (renderJobs), not once more as a note of the schedule.
      ...(e.notes?.length && notesBesidesPause(e).length ? { notes: notesBesidesPause(e) } : {}),
      ...(e.external ? { owner: 'you' as const } : {}),
    }));
    const counts = { present: 0, missing: 0, drifted: 0, error: 0, stale: 0 };
    for (const r of resources) counts[r.state] += 1;

    const endpointList: EndpointStatus[] = resources
      .filter((r) => r.kind === 'ec2.vpc-interface-endpoint')
      .map((r) => ({
        key: r.key,
        id: r.id,
        state: r.state === 'missing' ? 'down' : r.state === 'error' ? 'unknown' : 'up',
      }));

    let deadLetters: StatusReport['deadLetters'];
    let perJob: DeadLetterSummary['perJob'] | undefined;
    if (usesDeadLetterQueue(config)) {
      const dlq = plan.entries.find((e) => e.key === K.deadLetterQueue)?.found?.record;
      const queue = dlq?.id.split('/').pop() ?? deadLetterQueueName(config);
      // Read without consuming: a sample of the messages (bounded calls), the count from SQS.
      const read = dlq ? await readDeadLetters(stack.aws.sqs, dlq.id, config) : undefined;
      perJob = read?.perJob;
      const unattributed = read ? read.sampled.filter((d) => d.job === undefined).length : 0;
      deadLetters = !read
        ? { queue, note: 'the queue does not exist yet' }
        : { queue, count: read.count, sampled: read.sampled.length, ...(unattributed ? { unattributed } : {}) };
    }

    const limit = opts.runs ?? 5;
    const cluster = plan.entries.find((e) => e.key === K.cluster);
    const byJob: Map<string, RecentRuns> =
      cluster?.action === 'create'
        ? new Map(config.jobs.map((j) => [j.name, { runs: [], note: `cluster ${config.cluster.name} does not exist` }]))
        : await recentRunsByJob(stack.aws.ecs, config, { limit, now });
    if (cluster?.action !== 'create') {
      const { withExecutions } = await import('./status-executions.js');
      await withExecutions(stack.aws.sfn, config, stack.account, stack.partition, byJob, { limit, now });
    }
    const deployedImages = await jobImages(
      buildContext({
        config,
        aws: stack.aws,
        account: stack.account,
        partition: stack.partition,
        records: stack.state.records(),
        memo: new Map(),
      }),
      config.jobs,
    );
    const jobs: JobStatus[] = config.jobs.map((j) => {
      const lastRun = byJob.get(j.name)?.runs[0];
      const deployed = deployedImages.get(j.name);
      const img = images.find((c) => c.jobs.includes(j.name))!;
      return {
        job: j.name,
        family: j.task.family,
        schedule: scheduleStatus(j, liveTrigger(j, plan.entries), now, { displayTimeZone: opts.displayTimeZone }),
        ...(j.runPolicy ? { runPolicy: { ...j.runPolicy, stateMachine: stateMachineName(j) } } : {}),
        capacity: j.task.capacity,
        ...(j.task.ephemeralStorageGiB !== undefined ? { ephemeralStorageGiB: j.task.ephemeralStorageGiB } : {}),
        ...(j.task.secrets && Object.keys(j.task.secrets).length ? { secrets: describeJobSecrets(j) } : {}),
        ...(lastRun ? { lastRun } : {}),
        image: { ...deployed!, image: img.image, state: img.state, ...(img.note ? { note: img.note } : {}) },
        ...(perJob && j.schedule.deadLetterQueue ? { deadLetters: jobDeadLetters(perJob.get(j.name)) } : {}),
      };
    });
    const time = (r: RunInfo) => Date.parse(r.createdAt ?? r.startedAt ?? '') || 0;
    const runs = [...byJob.values()]
      .flatMap((r) => r.runs)
      .sort((a, b) => time(b) - time(a))
      .slice(0, limit);
    const notes = [...new Set([...byJob.values()].map((r) => r.note).filter((n): n is string => !!n))];
    const runsNote = runs.length
      ? undefined
      : config.jobs.length === 1
        ? notes[0]
        : (notes.find((n) => n.startsWith('cluster')) ?? `no runs found: ${STOPPED_TASK_VISIBILITY}`);

    return {
      stack: config.stack,
      region: config.region,
      account: stack.account,
      resources,
      counts,
      total: buildGraph(config, RESOURCE_KINDS).nodes.length,
      endpoints: {
        up: endpointList.filter((x) => x.state === 'up').length,
        down: endpointList.filter((x) => x.state === 'down').length,
        list: endpointList,
      },
      network: {
        mode: config.network.mode,
        vpcId: resources.find((r) => r.key === K.vpc)?.id,
        vpcOwner: config.network.mode === 'existing' ? 'you' : 'batchctl',
        publicIp: config.network.assignPublicIp,
      },
      jobs,
      images,
      ...(deadLetters ? { deadLetters } : {}),
      runs,
      ...(runsNote ? { runsNote } : {}),
      alerts: alertStatus(config, plan.entries),
    };
  } finally {
    await stack.close();
  }
}

/** A job's rule or schedule as the walk found it: what fires, whether it is enabled or paused, in which zone. */
function liveTrigger(
  job: JobConfig,
  entries: { key: string; kind: string; found?: { observed: unknown } }[],
): { expression: string; enabled: boolean; timezone?: string; paused?: PauseMark } | undefined {
  const key = jobKey(job, job.schedule.engine === 'scheduler' ? K.schedule : K.rule);
  const o = entries.find((e) => e.key === key)?.found?.observed as
    | { expression?: string; scheduleExpression?: string; state: string; timezone?: string; paused?: PauseMark }
    | undefined;
  if (!o) return undefined;
  const paused = o.paused ? { paused: o.paused } : {};
  return job.schedule.engine === 'scheduler'
    ? { expression: o.expression ?? '', enabled: o.state === 'ENABLED', timezone: o.timezone, ...paused }
    : { expression: o.scheduleExpression ?? '', enabled: o.state === 'ENABLED', ...paused };
}

/** An entry's notes without the one saying its schedule is paused. */
function notesBesidesPause(e: { notes?: string[]; found?: { observed: unknown } }): string[] {
  const paused = (e.found?.observed as { paused?: PauseMark } | undefined)?.paused;
  return (e.notes ?? []).filter((n) => !paused || n !== describeMark(paused));
}

/** The failure alerts as they stand. */
export interface AlertStatus {
  /** `off`: no notify section; `emails`: a topic batchctl manages; `topic`: the user's own topic. */
  mode: 'off' | 'emails' | 'topic';
  topicArn?: string;
  /** The alert rule and its target exist (false until `up` has run with notify). */
  active: boolean;
  /** One per configured address: `pending` until the recipient clicks the link SNS sent. */
  subscriptions: { endpoint: string; state: 'confirmed' | 'pending' | 'missing' }[];
}

/** The alerts block, from the plan's entries (no extra AWS call: find already listed the subscriptions). */
export function alertStatus(
  config: StackConfig,
  entries: {
    key: string;
    kind: string;
    action: string;
    record?: { id: string; arn?: string };
    found?: { observed: unknown };
  }[],
): AlertStatus {
  const n = config.notify;
  if (!n || (!n.topicArn && !n.emails.length)) return { mode: 'off', active: false, subscriptions: [] };
  const present = (kind: string) => entries.some((e) => e.kind === kind && e.found);
  const topic = entries.find((e) => e.kind === 'sns.topic');
  return {
    mode: n.topicArn ? 'topic' : 'emails',
    topicArn: n.topicArn ?? topic?.record?.arn,
    active: present('events.alert-rule') && present('events.alert-target'),
    subscriptions: entries
      .filter((e) => e.kind === 'sns.subscription')
      .map((e) => {
        const o = e.found?.observed as { endpoint: string; confirmed?: boolean } | undefined;
        const endpoint = o?.endpoint ?? e.key.slice(e.key.indexOf('/') + 1);
        return { endpoint, state: !o ? 'missing' : o.confirmed ? 'confirmed' : 'pending' };
      }),
  };
}
