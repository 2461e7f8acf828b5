/**
 * Reading and following the job's log group: a backfill with FilterLogEvents across nextToken pages,
 * then either a Live Tail session or polling, with every event emitted exactly once and in order.
 *
 * Only the CloudWatch Logs client is loaded: `logs` needs neither STS nor the state file.
 */
import { parseSince, SINCE_RANGE } from '../base/duration.js';
import {
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  StartLiveTailCommand,
  type CloudWatchLogsClient,
  type DescribeLogStreamsCommandInput,
  type StartLiveTailResponseStream,
} from '@aws-sdk/client-cloudwatch-logs';
import { createAwsClients } from '../aws/clients.js';
import type { JobConfig, StackConfig } from '../config/schema.js';
import { UserError, awsErrorCode, isNotFound } from '../base/errors.js';
import { printable } from '../base/format.js';
import { loadStackConfig } from '../engine/stack.js';
import { findJob } from '../model/job-select.js';
import { familyOf } from '../model/policies.js';
import { ECS_NO_SUCH_TASK } from '../model/aws-errors.js';
import { ifExists } from '../resources/lib/aws-calls.js';

/** One log event. `id` is CloudWatch's eventId; Live Tail events carry none. */
export interface LogEvent {
  id?: string;
  timestamp: number;
  ingestionTime: number;
  stream: string;
  message: string;
}

/** Which events: the group, from when, which streams, and a CloudWatch filter pattern. */
export interface LogQuery {
  group: string;
  /** Epoch ms, inclusive. Undefined: from the first event. */
  since?: number;
  filterPattern?: string;
  /** Only streams whose name starts with this (a job's streams, a task's stream, or its short id). */
  streamPrefix?: string;
  /**
   * Only these streams (exclusive with streamPrefix): one task's stream under each job's prefix, when
   * the job is not known. FilterLogEvents takes at most 100.
   */
  streamNames?: string[];
}

/** Order of output: event time, then ingestion, then event id (two events of the same millisecond). */
export function compareEvents(a: LogEvent, b: LogEvent): number {
  return a.timestamp - b.timestamp || a.ingestionTime - b.ingestionTime || (a.id ?? '').localeCompare(b.id ?? '');
}

/** Every event matching the query from `startTime`, all pages, in output order. */
export async function fetchEvents(
  client: CloudWatchLogsClient,
  q: LogQuery,
  startTime = q.since,
  signal?: AbortSignal,
): Promise<LogEvent[]> {
  const out: LogEvent[] = [];
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await client.send(
        new FilterLogEventsCommand({
          logGroupName: q.group,
          startTime: startTime || undefined,
          filterPattern: q.filterPattern || undefined,
          logStreamNamePrefix: q.streamPrefix,
          logStreamNames: q.streamNames,
          nextToken,
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      if (isNotFound(err) && /log group/i.test((err as Error).message ?? '')) throw missingGroup(q.group);
      throw err;
    }
    for (const e of page.events ?? []) {
      out.push({
        id: e.eventId,
        timestamp: e.timestamp ?? 0,
        ingestionTime: e.ingestionTime ?? 0,
        stream: e.logStreamName ?? '',
        message: e.message ?? '',
      });
    }
    // FilterLogEvents may return an empty page with a nextToken while it is still searching: keep going.
    nextToken = page.nextToken;
  } while (nextToken && !signal?.aborted);
  return out.sort(compareEvents);
}

const missingGroup = (group: string) =>
  new UserError(`log group ${group} does not exist`, 'run `batchctl up` first (or check --region and the config)');

const contentKey = (e: LogEvent) => `${e.stream}\0${e.timestamp}\0${e.message}`;

/**
 * Remembers what was emitted, for the recent window only. Polls overlap on purpose (CloudWatch can
 * ingest an event a little after later ones are searchable), so the same event comes back and is
 * dropped by its eventId. Live Tail events have no eventId: they are matched with polled ones by
 * (stream, time, message), counted, so two identical lines in one millisecond both survive.
 */
export class Dedupe {
  private ids = new Map<string, number>();
  private polled = new Map<string, { n: number; ts: number }>();
  private live = new Map<string, { n: number; ts: number }>();

  constructor(private readonly windowMs: number) {}

  /** Entries held (for tests: memory stays bounded). */
  get size(): number {
    return this.ids.size + this.polled.size + this.live.size;
  }

  /** A polled event: true when it is new (and remembered). */
  acceptPolled(e: LogEvent): boolean {
    if (e.id !== undefined && this.ids.has(e.id)) return false;
    if (e.id !== undefined) this.ids.set(e.id, e.timestamp);
    if (take(this.live, contentKey(e))) return false;
    bump(this.polled, contentKey(e), e.timestamp);
    return true;
  }

  /** A Live Tail event: true unless the backfill already emitted it. */
  acceptLive(e: LogEvent): boolean {
    if (take(this.polled, contentKey(e))) return false;
    bump(this.live, contentKey(e), e.timestamp);
    return true;
  }

  /** Forget what is older than the window before `latest`: no poll reaches back that far. */
  prune(latest: number): void {
    const floor = latest - this.windowMs;
    for (const [k, ts] of this.ids) if (ts < floor) this.ids.delete(k);
    for (const m of [this.polled, this.live]) for (const [k, v] of m) if (v.ts < floor) m.delete(k);
  }
}

function bump(m: Map<string, { n: number; ts: number }>, k: string, ts: number): void {
  const v = m.get(k);
  if (v) v.n += 1;
  else m.set(k, { n: 1, ts });
}

function take(m: Map<string, { n: number; ts: number }>, k: string): boolean {
  const v = m.get(k);
  if (!v) return false;
  if (--v.n === 0) m.delete(k);
  return true;
}

/** Polling with a safety overlap: each poll reaches `overlapMs` behind the newest event seen. */
export class LogPoller {
  private cursor: number;
  readonly dedupe: Dedupe;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly q: LogQuery,
    private readonly overlapMs = 10_000,
  ) {
    this.cursor = q.since ?? 0;
    this.dedupe = new Dedupe(overlapMs);
  }

  /** The events not emitted before, in order. */
  async poll(signal?: AbortSignal): Promise<LogEvent[]> {
    const start = Math.max(this.q.since ?? 0, this.cursor - this.overlapMs);
    const fresh = (await fetchEvents(this.client, this.q, start, signal)).filter((e) => this.dedupe.acceptPolled(e));
    this.note(fresh);
    return fresh;
  }

  /** Events emitted some other way (Live Tail) move the cursor too. */
  note(events: LogEvent[]): void {
    for (const e of events) if (e.timestamp > this.cursor) this.cursor = e.timestamp;
    this.dedupe.prune(this.cursor);
  }
}

/** How following works. */
export interface FollowOptions {
  /** Ends following (Ctrl-C). */
  signal: AbortSignal;
  /** Poll interval when polling (default 1000 ms). */
  pollMs?: number;
  /** Try StartLiveTail first (default true). */
  liveTail?: boolean;
  /** Told which mode is in use, and why polling was chosen. */
  onMode?(mode: 'live-tail' | 'polling', reason?: string): void;
}

/** Sleep that ends early on abort. Global timers, so vitest's fake timers drive it. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Errors worth another poll rather than ending `--tail`: throttling, 5xx, a dropped connection. */
function transient(err: unknown): boolean {
  const e = err as { $fault?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.$fault === 'server' ||
    /Throttl|TooManyRequests|RequestLimitExceeded|ServiceUnavailable|ECONNRESET|ETIMEDOUT|socket hang up|TimeoutError/i.test(
      `${awsErrorCode(err)} ${(err as Error)?.message ?? ''}`,
    )
  );
}

/**
 * Backfill, then emit new events until the signal aborts. Prefers a Live Tail session (pushed about
 * every second); falls back to polling when the endpoint does not offer it (local emulators), the
 * caller may not use it, or the session ends (Live Tail sessions time out after 3 hours).
 */
export async function followLogs(
  client: CloudWatchLogsClient,
  q: LogQuery,
  emit: (e: LogEvent) => void,
  opts: FollowOptions,
): Promise<void> {
  const { signal } = opts;
  const poller = new LogPoller(client, q);
  let backfilled = false;
  if (opts.liveTail !== false) {
    const reason = await liveTail(client, q, poller, emit, signal, () => {
      backfilled = true;
    });
    if (signal.aborted) return;
    opts.onMode?.('polling', reason);
  } else {
    opts.onMode?.('polling', 'Live Tail disabled');
  }
  const pollMs = opts.pollMs ?? 1000;
  let first = !backfilled;
  while (!signal.aborted) {
    try {
      for (const e of await poller.poll(signal)) emit(e);
    } catch (err) {
      // An initial failure (no such group, no permission) is the user's to see; later blips are retried.
      if (signal.aborted) return;
      if (first || !transient(err)) throw err;
    }
    first = false;
    await sleep(pollMs, signal);
  }
}

/**
 * Run a Live Tail session: open it first, then backfill (so nothing falls between the two; what both
 * saw is emitted once), then emit its updates. Returns why it stopped unless the signal ended it.
 */
async function liveTail(
  client: CloudWatchLogsClient,
  q: LogQuery,
  poller: LogPoller,
  emit: (e: LogEvent) => void,
  signal: AbortSignal,
  onBackfill: () => void,
): Promise<string | undefined> {
  let groupArn: string | undefined;
  try {
    const out = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: q.group }), {
      abortSignal: signal,
    });
    const g = out.logGroups?.find((x) => x.logGroupName === q.group);
    if (!g) throw missingGroup(q.group);
    // Live Tail wants the ARN without the `:*` that the older `arn` field carries.
    groupArn = g.logGroupArn ?? g.arn?.replace(/:\*$/, '');
  } catch (err) {
    if (err instanceof UserError || signal.aborted) throw err;
    return `DescribeLogGroups failed (${awsErrorCode(err)})`;
  }
  let stream: AsyncIterable<StartLiveTailResponseStream> | undefined;
  try {
    const out = await client.send(
      new StartLiveTailCommand({
        logGroupIdentifiers: [groupArn ?? q.group],
        logStreamNamePrefixes: q.streamPrefix ? [q.streamPrefix] : q.streamNames,
        logEventFilterPattern: q.filterPattern || undefined,
      }),
      { abortSignal: signal },
    );
    stream = out.responseStream;
  } catch (err) {
    if (signal.aborted) return undefined;
    return `Live Tail is not available here (${awsErrorCode(err)}); polling every second`;
  }
  if (!stream) return 'Live Tail returned no stream; polling every second';
  const it = stream[Symbol.asyncIterator]();
  try {
    for (const e of await poller.poll(signal)) emit(e);
    onBackfill();
    const ABORT = Symbol('abort');
    const aborted = new Promise<typeof ABORT>((r) => signal.addEventListener('abort', () => r(ABORT), { once: true }));
    for (;;) {
      const r = await Promise.race([it.next(), aborted]);
      if (r === ABORT) return undefined;
      if (r.done) return 'the Live Tail session ended; polling every second';
      const ev = r.value;
      if (ev.SessionTimeoutException || ev.SessionStreamingException) {
        return `the Live Tail session ended (${ev.SessionTimeoutException ? 'timeout' : 'stream error'}); polling every second`;
      }
      const fresh = (ev.sessionUpdate?.sessionResults ?? [])
        .map((x) => ({
          timestamp: x.timestamp ?? 0,
          ingestionTime: x.ingestionTime ?? 0,
          stream: x.logStreamName ?? '',
          message: x.message ?? '',
        }))
        .sort(compareEvents)
        .filter((e) => poller.dedupe.acceptLive(e));
      poller.note(fresh);
      for (const e of fresh) emit(e);
    }
  } catch (err) {
    if (signal.aborted) return undefined;
    if (err instanceof UserError) throw err;
    return `the Live Tail session failed (${awsErrorCode(err)}); polling every second`;
  } finally {
    // Not awaited: a generator parked on its next update finishes its return() only after that update.
    void it.return?.()?.catch(() => {});
  }
}

/** A task id from an id, a short id or a task ARN. */
export function taskIdOf(task: string): string {
  return task.split('/').at(-1) ?? task;
}

/** The run's short id in output: the first 8 characters of the task id (the stream's last part). */
export function shortId(stream: string): string {
  return (stream.split('/').at(-1) ?? stream).slice(0, 8);
}

/** The awslogs stream of one of a job's tasks (`<prefix>/<container>/<task id>`), or its prefix for a short id. */
export function taskStream(job: Pick<JobConfig, 'streamPrefix' | 'task'>, task: string): string {
  return `${job.streamPrefix}/${job.task.containerName}/${taskIdOf(task)}`;
}

/**
 * Every job's streams start with `<its prefix>/`: the slash keeps job `report` from matching the streams
 * of job `report-2`.
 */
export const jobStreamPrefix = (job: Pick<JobConfig, 'streamPrefix'>): string => `${job.streamPrefix}/`;

/** The job a stream belongs to, by its prefix; undefined for a stream of no current job. */
export function jobOfStream(config: StackConfig, stream: string): string | undefined {
  return config.jobs.find((j) => stream.startsWith(jobStreamPrefix(j)))?.name;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2025-01-31 09:30:00.123` in the local zone, or `2025-01-31T00:30:00.123Z` in UTC. */
export function formatTime(ms: number, utc: boolean): string {
  const d = new Date(ms);
  if (utc) return d.toISOString();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * One output line: time, the job (when several jobs' events are interleaved: `job` is then its column,
 * padded), the run's short id, the message (its trailing newline dropped).
 */
export function formatEvent(e: LogEvent, utc: boolean, job?: string): string {
  return `${formatTime(e.timestamp, utc)}  ${job === undefined ? '' : `${job}  `}${shortId(e.stream)}  ${e.message.replace(/\r?\n$/, '')}`;
}

/** One `--json` object per event. */
export function eventJson(e: LogEvent, job?: string): Record<string, unknown> {
  return {
    time: new Date(e.timestamp).toISOString(),
    timestamp: e.timestamp,
    ingestionTime: e.ingestionTime,
    ...(job !== undefined ? { job } : {}),
    task: taskIdOf(e.stream),
    stream: e.stream,
    eventId: e.id,
    message: e.message.replace(/\r?\n$/, ''),
  };
}

/** What `batchctl logs` takes. */
export interface LogsOptions {
  configPath: string;
  /** One job's events; left out, every job's, interleaved. */
  job?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  since?: string;
  filter?: string;
  /** A task id, short id or ARN: only that run's stream. */
  task?: string;
  /** Keep following until `signal` aborts. */
  tail?: boolean;
  signal?: AbortSignal;
  pollMs?: number;
  liveTail?: boolean;
  onMode?: FollowOptions['onMode'];
  now?: () => number;
  /** Told what is worth saying besides the events (the config's warnings, a run with no log yet). */
  warn?: (message: string) => void;
}

/** Without --since: the last hour, or a whole run's stream with --task. */
export const DEFAULT_SINCE = '1h';

/** How a task given without its job is found: its full id names one stream per job; a short id does not. */
const FULL_TASK_ID = /^[0-9a-f]{32}$/;

/**
 * Which streams: one task's (under its job's prefix, or under each job's when the job is not named and
 * the id is complete), one job's, or the whole group's (every job, interleaved).
 */
export function logStreams(
  config: StackConfig,
  job: JobConfig | undefined,
  task: string | undefined,
): Pick<LogQuery, 'streamPrefix' | 'streamNames'> {
  const only = job ?? (config.jobs.length === 1 ? config.jobs[0] : undefined);
  if (task === undefined) return job ? { streamPrefix: jobStreamPrefix(job) } : {};
  if (only) return { streamPrefix: taskStream(only, task) };
  if (!FULL_TASK_ID.test(taskIdOf(task))) {
    throw new UserError(
      `--task ${taskIdOf(task)} is not a whole task id, and stack ${config.stack} has ${config.jobs.length} jobs`,
      'name the job (`batchctl logs <job> --task <id>`), or pass the whole task id or ARN',
    );
  }
  if (config.jobs.length > 100)
    throw new UserError(
      "--task without a job reads at most 100 jobs' streams",
      'name the job: `batchctl logs <job> --task <id>`',
    );
  return { streamNames: config.jobs.map((j) => taskStream(j, task)) };
}

/** What `logs` looked at, for saying so when it found nothing. */
export interface LogsLook {
  group: string;
  since?: number;
  /** Where `since` came from: --since, the default hour, or the whole run (--task). */
  sinceFrom: 'flag' | 'default' | 'task';
  filter?: string;
  /** The streams read: `every job's`, a job's prefix, one run's stream. */
  streams: string;
  /** Nothing matched: the stream that last had events (and when), to say how far back to look. */
  latest?: { stream: string; job?: string; lastEventAt?: number };
  /** The run --task names, as ECS still shows it (when its stream does not exist yet). */
  task?: TaskSeen;
}

/** A run ECS still shows (stopped ones for about an hour): whether it started, how it stopped. */
export interface TaskSeen {
  id: string;
  job?: string;
  lastStatus: string;
  started: boolean;
  stopCode?: string;
  stoppedReason?: string;
}

/**
 * `batchctl logs`: print the group's events (and follow them with `tail`). `emit` gets each event with
 * its job's name when the output interleaves several jobs (no job named, and the stack has more than one).
 */
export async function runLogs(opts: LogsOptions, emit: (e: LogEvent, job?: string) => void): Promise<LogsLook> {
  const config = await loadStackConfig({ ...opts, reporter: opts.warn && { warn: opts.warn } });
  let job = opts.job === undefined ? undefined : findJob(config, opts.job);
  const aws = await createAwsClients({ region: config.region, profile: opts.profile, endpointUrl: opts.endpointUrl }, [
    'logs',
  ]);
  let task = opts.task;
  // A short id of a stack with several jobs: ECS knows which job's run it is (its family), for an hour.
  if (task !== undefined && !job && config.jobs.length > 1 && !FULL_TASK_ID.test(taskIdOf(task))) {
    const seen = await findTask(config, opts, task);
    if (!seen?.job)
      throw new UserError(
        `--task ${printable(taskIdOf(task), 40)} is not a whole task id, and stack ${config.stack} has ${config.jobs.length} jobs`,
        'name the job (`batchctl logs <job> --task <id>`), or pass the whole task id or ARN',
      );
    job = findJob(config, seen.job);
    task = seen.id;
  }
  const streams = logStreams(config, job, task);
  const now = (opts.now ?? Date.now)();
  const since = opts.since
    ? parseSince(opts.since, '--since', now, SINCE_RANGE)
    : task
      ? undefined
      : parseSince(DEFAULT_SINCE, '--since', now, SINCE_RANGE);
  const q: LogQuery = { group: config.logs.group, since, filterPattern: opts.filter, ...streams };
  const look: LogsLook = {
    group: q.group,
    ...(since !== undefined ? { since } : {}),
    sinceFrom: opts.since ? 'flag' : task ? 'task' : 'default',
    ...(opts.filter ? { filter: opts.filter } : {}),
    streams: task
      ? `the stream of run ${taskIdOf(task)}`
      : job
        ? `job ${job.name}'s streams (${jobStreamPrefix(job)}*)`
        : config.jobs.length > 1
          ? "every job's streams"
          : `the job's streams (${jobStreamPrefix(config.jobs[0]!)}*)`,
  };
  if (task) {
    const missing = await checkRun(aws.logs, config, q, task, opts);
    if (missing) return { ...look, task: missing };
  }
  if (!job && config.jobs.length > 1) {
    // Every job's events interleaved: each line says whose it is, in a column as wide as the longest name.
    const width = Math.max(...config.jobs.map((j) => j.name.length));
    const inner = emit;
    emit = (e) => inner(e, (jobOfStream(config, e.stream) ?? '-').padEnd(width));
  }
  if (!opts.tail) {
    const events = await fetchEvents(aws.logs, q, q.since, opts.signal);
    for (const e of events) emit(e);
    if (events.length || task) return look;
    return { ...look, ...(await latestStream(aws.logs, config, job)) };
  }
  await followLogs(aws.logs, q, emit, {
    signal: opts.signal ?? new AbortController().signal,
    pollMs: opts.pollMs,
    liveTail: opts.liveTail,
    onMode: opts.onMode,
  });
  return look;
}

/** The stream of the stack's (or `job`'s) runs that last had events, and when. One DescribeLogStreams. */
async function latestStream(
  client: CloudWatchLogsClient,
  config: StackConfig,
  job: JobConfig | undefined,
): Promise<Pick<LogsLook, 'latest'>> {
  const ofJobs = job ? [job] : config.jobs;
  try {
    const out = await client.send(
      new DescribeLogStreamsCommand({
        logGroupName: config.logs.group,
        orderBy: 'LastEventTime',
        descending: true,
        limit: 50,
      }),
    );
    const s = (out.logStreams ?? []).find(
      (x) =>
        x.logStreamName &&
        ofJobs.some((j) => x.logStreamName!.startsWith(`${jobStreamPrefix(j)}${j.task.containerName}/`)),
    );
    if (!s?.logStreamName) return {};
    const owner = config.jobs.length > 1 ? jobOfStream(config, s.logStreamName) : undefined;
    return {
      latest: {
        stream: s.logStreamName,
        ...(owner ? { job: owner } : {}),
        ...(s.lastEventTimestamp ? { lastEventAt: s.lastEventTimestamp } : {}),
      },
    };
  } catch (err) {
    if (isNotFound(err)) throw missingGroup(config.logs.group);
    throw err;
  }
}

/**
 * The run `task` names, as ECS shows it: a whole id is described in the cluster, a short one found among
 * its running and recently stopped tasks (ECS shows stopped tasks for about an hour). Only the ECS client
 * is loaded, and only on this path.
 */
async function findTask(
  config: StackConfig,
  opts: Pick<LogsOptions, 'region' | 'profile' | 'endpointUrl'>,
  task: string,
): Promise<TaskSeen | undefined> {
  // Loaded here only: `logs` itself loads no client but CloudWatch Logs'.
  const [{ ecs }, { DescribeTasksCommand, ListTasksCommand }] = await Promise.all([
    createAwsClients({ region: config.region, profile: opts.profile, endpointUrl: opts.endpointUrl }, ['ecs']),
    import('@aws-sdk/client-ecs'),
  ]);
  const cluster = config.cluster.name;
  const id = taskIdOf(task);
  // A cluster that does not exist (or an id ECS cannot parse) holds no run; anything else is ECS's failure.
  return ifExists(async () => {
    let ids: string[] = [id];
    if (!FULL_TASK_ID.test(id)) {
      const listed = await Promise.all(
        (['RUNNING', 'STOPPED'] as const).map((desiredStatus) =>
          ecs.send(new ListTasksCommand({ cluster, desiredStatus, maxResults: 100 })),
        ),
      );
      ids = listed
        .flatMap((l) => l.taskArns ?? [])
        .filter((a) => taskIdOf(a).startsWith(id))
        .slice(0, 2);
      if (ids.length !== 1) return undefined;
    }
    const t = (await ecs.send(new DescribeTasksCommand({ cluster, tasks: ids }))).tasks?.[0];
    if (!t?.taskArn) return undefined;
    const family = familyOf(t.taskDefinitionArn);
    // The job is named only where it tells something: a stack of several jobs.
    const owner = config.jobs.length > 1 ? config.jobs.find((j) => j.task.family === family) : undefined;
    return {
      id: taskIdOf(t.taskArn),
      lastStatus: t.lastStatus ?? 'UNKNOWN',
      started: !!t.startedAt,
      ...(owner ? { job: owner.name } : {}),
      ...(t.stopCode ? { stopCode: t.stopCode } : {}),
      ...(t.stoppedReason ? { stoppedReason: t.stoppedReason } : {}),
    };
  }, ECS_NO_SUCH_TASK);
}

/** How many recent runs "no such run" lists. */
export const RECENT_RUNS_SHOWN = 5;

/**
 * `--task` names a run that has a log stream. Without one, printing nothing and exiting 0 would look like
 * a run that logged nothing: say so (exit 2) with the recent runs instead. Following (`--tail`) waits
 * for the stream, since a task that is still starting has none yet.
 */
async function checkRun(
  client: CloudWatchLogsClient,
  config: StackConfig,
  q: Pick<LogQuery, 'streamPrefix' | 'streamNames'>,
  task: string,
  opts: Pick<LogsOptions, 'tail' | 'warn' | 'signal' | 'region' | 'profile' | 'endpointUrl'>,
): Promise<TaskSeen | undefined> {
  const group = config.logs.group;
  const streams = async (input: DescribeLogStreamsCommandInput) => {
    try {
      return (await client.send(new DescribeLogStreamsCommand(input), { abortSignal: opts.signal })).logStreams ?? [];
    } catch (err) {
      if (isNotFound(err)) throw missingGroup(group);
      throw err;
    }
  };
  // The run's stream under its job's prefix, or (a whole id, no job named) under each job's.
  const candidates = q.streamPrefix ? [q.streamPrefix] : (q.streamNames ?? []);
  const found = await Promise.all(
    candidates.map((p) => streams({ logGroupName: group, logStreamNamePrefix: p, limit: 1 })),
  );
  if (found.some((f) => f.length)) return undefined;
  const message = `no run ${printable(taskIdOf(task), 100)} in log group ${group}`;
  if (opts.tail) {
    opts.warn?.(`${message} yet: waiting for its log stream (a task still starting has none); Ctrl-C to stop`);
    return undefined;
  }
  // No stream yet: ECS may still show the run (one starting, or one that stopped before its container did).
  const seen = await findTask(config, opts, task);
  if (seen) return seen;
  // AWS refuses a prefix together with ordering by time: take the latest streams, keep the jobs' runs.
  const recent = (await streams({ logGroupName: group, orderBy: 'LastEventTime', descending: true, limit: 50 }))
    .filter(
      (s) =>
        s.logStreamName &&
        config.jobs.some((j) => s.logStreamName!.startsWith(`${jobStreamPrefix(j)}${j.task.containerName}/`)),
    )
    .slice(0, RECENT_RUNS_SHOWN);
  const label = (stream: string) => (config.jobs.length > 1 ? `  (job ${jobOfStream(config, stream) ?? '-'})` : '');
  throw new UserError(
    message,
    recent.length
      ? 'pass one of these with --task (its first 8 characters are enough), or see `batchctl status` for the latest runs'
      : 'no run has written to this log group yet: start one with `batchctl run-now`',
    recent.length
      ? [
          'recent runs (latest first):',
          ...recent.map(
            (s) =>
              `  ${taskIdOf(s.logStreamName!)}  last event ${s.lastEventTimestamp ? new Date(s.lastEventTimestamp).toISOString() : '(none)'}${label(s.logStreamName!)}`,
          ),
        ]
      : [],
  );
}
