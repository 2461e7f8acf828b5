/**
 * `status`: what exists of the stack and whether it matches the config (the same read-only walk as
 * `plan`), whether the billed interface endpoints are up, when the schedule fires next, and how the
 * last runs of the task family ended.
 */
import { RUN_NOW_STARTED_BY } from './run-now.js';
import { DescribeTasksCommand, ListTasksCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import type { NetworkMode, StackConfig } from '../config/schema.js';
import { nextRuns } from '../config/cron.js';
import { awsErrorCode, isNotFound } from './errors.js';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { StackOptions } from './stack.js';

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
  /** Scheduler engine with a dead-letter queue: invocations that could not start the task after retries. */
  deadLetters?: { queue: string; count?: number; note?: string };
}

/** One task of the family. Times are ISO strings; durations in seconds. */
export interface RunInfo {
  taskArn: string;
  /** The first 8 characters of the task id, enough to tell runs apart (and to pass to `logs --task`). */
  shortId: string;
  /**
   * `schedule` when an EventBridge rule (startedBy `events-rule/<rule>`) or EventBridge Scheduler
   * (`chronos-schedule/<schedule>`) started it, `run-now`, else `manual` (console, CLI...).
   */
  trigger: 'schedule' | 'run-now' | 'manual';
  startedBy?: string;
  createdAt?: string;
  startedAt?: string;
  stoppedAt?: string;
  /** From container start to stop (to now while running); undefined when the container never started. */
  durationSeconds?: number;
  /**
   * What Fargate bills: from the start of the image pull to the stop (AWS bills from pull start, rounded
   * up to the second), undefined until stopped.
   */
  billedSeconds?: number;
  lastStatus: string;
  exitCode?: number;
  stopCode?: string;
  stoppedReason?: string;
}

export interface RecentRuns {
  runs: RunInfo[];
  /** Why the list is empty or partial, for the reader. */
  note?: string;
}

export interface StatusReport {
  stack: string;
  region: string;
  account: string;
  resources: ResourceStatus[];
  counts: Record<ResourceStatus['state'], number>;
  endpoints: { up: number; down: number; list: EndpointStatus[] };
  /** How tasks reach AWS services (network.mode), and in which VPC. */
  network: { mode: NetworkMode; vpcId?: string; vpcOwner: 'batchctl' | 'you'; publicIp: boolean };
  schedule: ScheduleStatus;
  runs: RunInfo[];
  runsNote?: string;
  /** Where failed runs are reported (`notify:`), and whether each e-mail recipient confirmed. */
  alerts: AlertStatus;
}

/** ECS drops stopped tasks from its API about an hour after they stop; older runs exist only in the logs. */
export const STOPPED_TASK_VISIBILITY = 'ECS shows stopped tasks for about an hour only; older runs are in the log group (batchctl logs)';

const iso = (d: Date | undefined) => (d ? d.toISOString() : undefined);
/** ISO without milliseconds, for schedule times (always whole minutes). */
const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const seconds = (from: Date | undefined, to: Date | undefined) =>
  from && to ? Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000)) : undefined;

/** ECS `startedBy` prefixes of the two schedule engines: rules say `events-rule/`, Scheduler `chronos-schedule/`. */
const SCHEDULED_BY = ['events-rule/', 'chronos-schedule/'];

/** What started a task, from its `startedBy`. */
export function triggerOf(startedBy: string | undefined): RunInfo['trigger'] {
  if (startedBy && SCHEDULED_BY.some((p) => startedBy.startsWith(p))) return 'schedule';
  return startedBy === RUN_NOW_STARTED_BY ? 'run-now' : 'manual';
}

function runInfo(t: Task, containerName: string, now: Date): RunInfo {
  const arn = t.taskArn ?? '';
  const container = t.containers?.find((c) => c.name === containerName);
  const started = t.startedAt;
  const stopped = t.stoppedAt;
  const billedFrom = t.pullStartedAt ?? started;
  return {
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

/** Every task ARN of the family in one desired status (ListTasks pages are at most 100). */
async function listTaskArns(ecs: ECSClient, config: StackConfig, desiredStatus: 'RUNNING' | 'STOPPED', cap: number): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecs.send(new ListTasksCommand({ cluster: config.cluster.name, family: config.task.family, desiredStatus, nextToken, maxResults: 100 }));
    arns.push(...(out.taskArns ?? []));
    nextToken = out.nextToken;
  } while (nextToken && arns.length < cap);
  return arns;
}

/**
 * The last `limit` tasks of the family, newest first (running and stopped). Read-only: ListTasks for
 * both desired statuses, then DescribeTasks in batches of 100 (its limit). A missing cluster is no
 * error: there are simply no runs.
 */
export async function recentRuns(ecs: ECSClient, config: StackConfig, opts: { limit: number; now: Date }): Promise<RecentRuns> {
  // ListTasks returns ARNs in no documented order and without times, so describe up to a bounded number
  // and sort by creation time ourselves.
  const cap = Math.max(opts.limit, 100);
  let arns: string[];
  try {
    const [running, stopped] = await Promise.all([
      listTaskArns(ecs, config, 'RUNNING', cap),
      listTaskArns(ecs, config, 'STOPPED', cap),
    ]);
    arns = [...new Set([...running, ...stopped])];
  } catch (err) {
    if (awsErrorCode(err) === 'ClusterNotFoundException') return { runs: [], note: `cluster ${config.cluster.name} does not exist` };
    throw err;
  }
  const tasks: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const out = await ecs.send(new DescribeTasksCommand({ cluster: config.cluster.name, tasks: arns.slice(i, i + 100) }));
    tasks.push(...(out.tasks ?? []));
  }
  const time = (t: Task) => (t.createdAt ?? t.startedAt ?? new Date(0)).getTime();
  const runs = tasks.sort((a, b) => time(b) - time(a)).slice(0, opts.limit).map((t) => runInfo(t, config.task.containerName, opts.now));
  return runs.length ? { runs } : { runs, note: `no runs of ${config.task.family} found: ${STOPPED_TASK_VISIBILITY}` };
}

/** ISO 8601 of an instant as the wall clock of `timeZone` reads it, with the offset (`2026-11-28T12:30:00+09:00`). */
export function isoInZone(d: Date, timeZone: string): string {
  const parts: Record<string, string> = {};
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  for (const p of f.formatToParts(d)) if (p.type !== 'literal') parts[p.type] = p.value;
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const offMin = Math.round((wall - Math.floor(d.getTime() / 1000) * 1000) / 60_000);
  const sign = offMin < 0 ? '-' : '+';
  const abs = Math.abs(offMin);
  const offset = offMin === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

/** The machine's own zone (TZ or the system setting). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The schedule block: next `count` fire times from `now`, shown in UTC and in the display zone. */
export function scheduleStatus(
  config: StackConfig,
  live: { expression: string; enabled: boolean; timezone?: string } | undefined,
  now: Date,
  opts: { count?: number; displayTimeZone?: string } = {},
): ScheduleStatus {
  // A live schedule's zone wins over the config's: the times shown are the ones AWS will fire at.
  const timezone = live?.timezone ?? config.schedule.timezone ?? 'UTC';
  const displayTimeZone = (live?.timezone ?? config.schedule.timezone) ?? opts.displayTimeZone ?? localTimeZone();
  const expression = live?.expression ?? config.schedule.expression;
  let next: NextRun[] = [];
  try {
    next = nextRuns(expression, now, opts.count ?? 3, timezone).map((d) => ({ utc: isoSeconds(d), local: isoInZone(d, displayTimeZone) }));
  } catch {
    // A live rule edited outside batchctl can carry an expression our parser rejects: show it, without times.
  }
  const engine = config.schedule.engine;
  return {
    expression, enabled: live?.enabled ?? config.schedule.enabled, source: live ? (engine === 'scheduler' ? 'schedule' : 'rule') : 'config',
    engine, timezone, displayTimeZone, next,
  };
}

/** How many messages wait in the dead-letter queue (ApproximateNumberOfMessages: SQS's own estimate). */
export async function deadLetterCount(sqs: SQSClient, queueUrl: string): Promise<number | undefined> {
  const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
  try {
    const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  } catch (err) {
    if (isNotFound(err, 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue')) return undefined;
    throw err;
  }
}

/**
 * `batchctl status`: open the stack (no lock: read-only), plan it to classify every resource, then read
 * the recent runs of the task family.
 */
export async function runStatus(opts: StackOptions & { now?: Date; runs?: number; displayTimeZone?: string }): Promise<StatusReport> {
  const [{ openStack }, { planStack }, { RESOURCE_KINDS }, { ALL_SERVICES }, { K }] = await Promise.all([
    import('./stack.js'), import('./plan.js'), import('../resources/index.js'), import('../aws/clients.js'), import('../resources/lib/keys.js'),
  ]);
  const stack = await openStack(opts, ALL_SERVICES);
  try {
    const { config } = stack;
    const now = opts.now ?? new Date(opts.clock?.now() ?? Date.now());
    const plan = await planStack({
      config, aws: stack.aws, account: stack.account, partition: stack.partition, reporter: opts.reporter, state: stack.state, clock: opts.clock, kinds: RESOURCE_KINDS,
    });
    const STATE = { unchanged: 'present', create: 'missing', update: 'drifted', replace: 'drifted', error: 'error', delete: 'stale', forget: 'stale' } as const;
    const resources: ResourceStatus[] = plan.entries.map((e) => ({
      key: e.key, kind: e.kind, label: e.label, state: STATE[e.action], id: e.record?.id,
      changes: e.action === 'update' || e.action === 'replace' ? (e.changes ?? []).map((c) => c.field) : [],
      ...(e.action === 'replace' ? { replace: true } : {}),
      ...(e.error ? { error: e.error.message } : {}),
      ...(e.found?.duplicates?.length ? { duplicates: e.found.duplicates.map((d) => d.id) } : {}),
      ...(e.notes?.length ? { notes: e.notes } : {}),
      ...(e.external ? { owner: 'you' as const } : {}),
    }));
    const counts = { present: 0, missing: 0, drifted: 0, error: 0, stale: 0 };
    for (const r of resources) counts[r.state] += 1;

    const endpointList: EndpointStatus[] = resources
      .filter((r) => r.kind === 'ec2.vpc-interface-endpoint')
      .map((r) => ({ key: r.key, id: r.id, state: r.state === 'missing' ? 'down' : r.state === 'error' ? 'unknown' : 'up' }));

    let live: { expression: string; enabled: boolean; timezone?: string } | undefined;
    if (config.schedule.engine === 'scheduler') {
      const o = plan.entries.find((e) => e.key === K.schedule)?.found?.observed as { expression: string; state: string; timezone: string } | undefined;
      live = o && { expression: o.expression, enabled: o.state === 'ENABLED', timezone: o.timezone };
    } else {
      const o = plan.entries.find((e) => e.key === K.rule)?.found?.observed as { scheduleExpression: string; state: string } | undefined;
      live = o && { expression: o.scheduleExpression, enabled: o.state === 'ENABLED' };
    }
    const schedule = scheduleStatus(config, live, now, { displayTimeZone: opts.displayTimeZone });
    if (config.schedule.engine === 'scheduler' && config.schedule.deadLetterQueue) {
      const dlq = plan.entries.find((e) => e.key === K.deadLetterQueue)?.found?.record;
      const queue = dlq?.id.split('/').pop() ?? `${config.stack}-schedule-dlq`;
      const count = dlq ? await deadLetterCount(stack.aws.sqs, dlq.id) : undefined;
      schedule.deadLetters = count === undefined ? { queue, note: 'the queue does not exist yet' } : { queue, count };
    }

    const cluster = plan.entries.find((e) => e.key === K.cluster);
    const recent: RecentRuns = cluster?.action === 'create'
      ? { runs: [], note: `cluster ${config.cluster.name} does not exist` }
      : await recentRuns(stack.aws.ecs, config, { limit: opts.runs ?? 5, now });

    return {
      stack: config.stack, region: config.region, account: stack.account, resources, counts,
      endpoints: { up: endpointList.filter((x) => x.state === 'up').length, down: endpointList.filter((x) => x.state === 'down').length, list: endpointList },
      network: {
        mode: config.network.mode, vpcId: resources.find((r) => r.key === K.vpc)?.id,
        vpcOwner: config.network.mode === 'existing' ? 'you' : 'batchctl', publicIp: config.network.assignPublicIp,
      },
      schedule, runs: recent.runs, ...(recent.note ? { runsNote: recent.note } : {}), alerts: alertStatus(config, plan.entries),
    };
  } finally {
    await stack.close();
  }
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
  entries: { key: string; kind: string; action: string; record?: { id: string; arn?: string }; found?: { observed: unknown } }[],
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
