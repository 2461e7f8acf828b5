/**
 * `cost`: what the stack costs while it exists (interface endpoints, the secret) and what each run
 * costs (Fargate vCPU and memory for the run's duration), per hour and per month, from the price
 * table in pricing.ts with the config's `pricing:` overrides.
 */
import { parseDuration, type DurationRange } from '../base/duration.js';
import { REQUIRED_INTERFACE_ENDPOINTS, type JobConfig, type NetworkMode, type StackConfig } from '../config/schema.js';
import { endpointAzCount } from '../model/network.js';
import { nextRuns, parseScheduleExpression } from '../config/cron.js';
import { UserError } from '../base/errors.js';
import { deadLetterAlarmOn } from '../model/notify.js';
import {
  FREE_EPHEMERAL_GIB,
  STEP_FUNCTIONS_AS_OF,
  STEP_FUNCTIONS_FREE_TRANSITIONS,
  endpointCost,
  pricesFor,
  type PriceOverrides,
  type PriceTable,
} from '../model/pricing.js';
import type { StackOptions } from '../engine/stack.js';

/** Prices resolved for a config: the table with overrides applied, and the Fargate rate for its architecture. */
export type ResolvedPrices = NonNullable<ReturnType<typeof pricesFor>>;

/** Days a "month" of runs covers (the 30-day month: 720 hourly runs). */
export const RUN_MONTH_DAYS = 30;
/** The run duration assumed when neither --duration nor recent runs give one. */
export const DEFAULT_RUN_SECONDS = 300;
/** Fargate bills per second with a one-minute minimum. */
export const FARGATE_MINIMUM_SECONDS = 60;

/** The prices a region without a built-in table must be given (the public IPv4 price is the same everywhere). */
const PRICE_KEYS: (keyof PriceOverrides)[] = [
  'interfaceEndpointAzHour',
  'fargateVcpuHour',
  'fargateGbHour',
  'secretMonth',
];

/** Where the run duration came from. */
export type DurationSource = 'flag' | 'recent-runs' | 'default';

/** What one job costs: its runs, and its share of the stack's fixed cost. */
export interface JobCost {
  job: string;
  family: string;
  cpuArchitecture: 'X86_64' | 'ARM64';
  /** Where its first attempt runs: on-demand Fargate, or Fargate Spot (priced at the Spot rates). */
  capacity: 'on-demand' | 'spot';
  /**
   * The Fargate rates for the job's architecture (on-demand), the Spot rates for a Spot job (and when they
   * were recorded, or `config`), and the ephemeral storage rate beyond the free 20 GiB.
   */
  prices: {
    fargateVcpuHour: number;
    fargateGbHour: number;
    ephemeralStorageGbHour: number;
    fargateSpotVcpuHour?: number;
    fargateSpotGbHour?: number;
    spotAsOf?: string;
  };
  run: {
    vcpu: number;
    memoryGb: number;
    durationSeconds: number;
    /** After Fargate's one-minute minimum and rounding up to the second. */
    billedSeconds: number;
    durationSource: DurationSource;
    /** How the duration was found (which runs, or why the default). */
    durationNote?: string;
    /** The public IPv4 address held while the run lasts (0 without a public IP). */
    publicIpv4: number;
    /** `task.ephemeralStorageGiB`, when set, and what its GiB beyond the free 20 cost a run. */
    ephemeralStorageGiB?: number;
    ephemeralStorage: number;
    /** Fargate (Spot rates for a Spot job), the storage and the public IPv4 address. */
    cost: number;
  };
  /**
   * A Spot job: the same run on on-demand Fargate, what Spot saves a run and a month (and in percent), and
   * what a run costs at most when Spot reclaims it just before it ends (that part, and the whole run again
   * on-demand).
   */
  spot?: {
    onDemandRun: number;
    savesPerRun: number;
    savesMonthly: number;
    savesPercent: number;
    reclaimedRunAtMost: number;
  };
  schedule: {
    expression: string;
    enabled: boolean;
    /** Runs in a 30-day month (0 when the schedule is disabled). */
    runsPerMonth: number;
    monthly: number;
    /** The trigger engine; `timezone` is the zone the runs are counted in. */
    engine: 'rule' | 'scheduler';
    timezone: string;
    /** Why the trigger itself adds nothing (both engines' schedule invocations are free at this volume). */
    triggerNote: string;
  };
  /**
   * A job with a timeout or retries: what its state machine adds. Standard workflows bill each state
   * transition, and each retry is one more (a failed attempt's task is billed by Fargate too).
   */
  stateMachine?: StateMachineCost;
  /** The fixed monthly cost divided evenly among the stack's jobs: what the shared endpoints cost per job. */
  fixedShareMonthly: number;
  /** The runs per month plus the fixed share. */
  monthlyTotal: number;
}

/** What a job's state machine costs: its transitions per run and per month. */
export interface StateMachineCost {
  retries: number;
  timeoutSeconds?: number;
  pricePer1kTransitions: number;
  /** A run that succeeds at its first attempt: the task, the exit-code check, the success. */
  transitionsPerRun: number;
  /** A run that needs every retry: one more transition per retry. */
  maxTransitionsPerRun: number;
  perRun: number;
  maxPerRun: number;
  /** transitionsPerRun x the runs in a month. */
  transitionsPerMonth: number;
  monthly: number;
  note: string;
}

export interface CostReport {
  region: string;
  /** The date of the built-in table, or `config` when every price came from the config. */
  pricesAsOf: string;
  /** `pricing:` keys the config overrides. */
  overridden: string[];
  prices: { interfaceEndpointAzHour: number; secretMonth: number; publicIpv4Hour: number; alarmMonth: number };
  fixed: {
    interfaceEndpoints: number;
    /** Distinct AZs of the endpoint subnets: each endpoint has one billed ENI per AZ. */
    azs: number;
    enis: number;
    endpointsHourly: number;
    endpointsMonthly: number;
    secretMonthly: number;
    /** The dead-letter alarm (with notify and a dead-letter queue), else 0. */
    alarmMonthly: number;
    /** What bills by the hour (the endpoints). */
    hourly: number;
    /** hourly x 730 + the secret + the alarm. */
    monthly: number;
  };
  /** Per job, in the config's order. */
  jobs: JobCost[];
  /** Fixed monthly + every job's runs monthly. */
  monthlyTotal: number;
  /** What `down --endpoints` saves while the endpoints are down (the endpoint part of the fixed cost). */
  downEndpointsSaves: { hourly: number; monthly: number };
  /** Failure alerts (`notify:`), when configured: why they add nothing to the estimate. */
  alertsNote?: string;
  /** The stack's lock (state/lock.ts): what it is and why it adds nothing. */
  lockNote: string;
  /** The network mode in force, and every mode's cost for this job and schedule. */
  network: { mode: NetworkMode; publicIp: boolean; modes: ModeCost[] };
}

/** What one network mode costs for this job and schedule (the mode in force, and the others compared). */
export interface ModeCost {
  mode: NetworkMode;
  /**
   * How to get there: the mode in force, a change of `network.mode` (`up` switches in place), or a new stack (to or
   * from `existing`).
   */
  switching: 'current' | 'in place' | 'new stack';
  interfaceEndpoints: number;
  azs: number;
  /** Billed while the stack exists: the endpoints and the secret. */
  fixedMonthly: number;
  /** With one job: Fargate plus, with a public IP, the IPv4 address for the run's duration. */
  perRun?: number;
  publicIpv4PerRun?: number;
  /** fixedMonthly + perRun x runs in a month. */
  monthly: number;
  /** What this mode relies on that is billed to you outside the stack (your NAT gateway). */
  notCounted?: string;
  /** The mode in force's monthly minus this one's: what switching to it saves (negative: costs more). */
  savesMonthly: number;
}

/** Prices for a config: the endpoint and secret prices, and the Fargate rates of each architecture its jobs use. */
export interface StackPrices {
  table: ResolvedPrices['table'];
  fargate: Partial<Record<'X86_64' | 'ARM64', ResolvedPrices['fargate']>>;
  overridden: string[];
}

/** The prices for a config; a UserError naming the `pricing:` keys to set when the region has no table. */
export function resolvePrices(config: StackConfig): StackPrices {
  const archs = [...new Set(config.jobs.map((j) => j.task.cpuArchitecture))];
  const out: Partial<StackPrices> & { fargate: StackPrices['fargate'] } = { fargate: {} };
  for (const arch of archs) {
    const p = pricesFor(config.region, arch, config.pricing);
    if (!p) {
      const missing = PRICE_KEYS.filter((k) => config.pricing[k] === undefined);
      throw new UserError(
        `batchctl has no prices for region ${config.region}`,
        `set them in the config under pricing: ${missing.join(', ')} (USD; see the AWS pricing pages for VPC endpoints, Fargate ${arch} and Secrets Manager)`,
      );
    }
    out.table = p.table;
    out.overridden = p.overridden;
    out.fargate[arch] = p.fargate;
  }
  if (config.jobs.some((j) => j.task.capacity === 'spot') && !out.table?.fargateSpot) {
    const missing = (['fargateSpotVcpuHour', 'fargateSpotGbHour'] as const).filter(
      (k) => config.pricing[k] === undefined,
    );
    throw new UserError(
      `batchctl has no Fargate Spot prices for region ${config.region}`,
      `set them in the config under pricing: ${missing.join(', ')} (USD per vCPU-hour and per GB-hour, the Fargate pricing page's Spot table)`,
    );
  }
  return out as StackPrices;
}

/** Fire times in the 30 days after `now` (0 for a disabled schedule). */
export function runsPerMonth(expression: string, now: Date, timeZone = 'UTC'): number {
  const parsed = parseScheduleExpression(expression);
  const windowMs = RUN_MONTH_DAYS * 86_400_000;
  if (parsed.kind === 'rate') return Math.floor(windowMs / parsed.intervalMs);
  const end = now.getTime() + windowMs;
  let count = 0;
  let from = now;
  // In chunks: an every-minute cron fires 43,200 times a month, a yearly one maybe never in the window.
  for (;;) {
    const batch = nextRuns(expression, from, 1000, timeZone);
    for (const d of batch) {
      if (d.getTime() > end) return count;
      count += 1;
    }
    if (batch.length < 1000) return count;
    from = batch[batch.length - 1]!;
  }
}

/**
 * The stack's lock is a standard-tier Parameter Store parameter that exists only while a command changes
 * the stack: standard parameters and standard throughput are free (SSM user guide, "Managing parameter
 * tiers"; AWS Systems Manager pricing). An account that turned on higher throughput pays per API
 * interaction: 3 a command.
 */
export const LOCK_NOTE =
  'the stack lock is an SSM standard parameter, held only while a command changes the stack: no charge (3 API calls a command; billed only if the account turned on higher Parameter Store throughput)';

/**
 * EventBridge scheduled rules are free; EventBridge Scheduler bills invocations only beyond 14 million a
 * month (free tier), far above any batch schedule; the dead-letter queue's few SQS requests fall in SQS's
 * free million. So the trigger adds nothing to the estimate; the note says so.
 */
export function triggerNote(job: JobConfig): string {
  if (job.schedule.engine === 'rule') return 'EventBridge scheduled rules: no charge';
  const dlq = job.schedule.deadLetterQueue ? "; the dead-letter queue's SQS requests are within the free tier" : '';
  return `EventBridge Scheduler: invocations are free up to 14 million a month${dlq}`;
}

/**
 * Failure alerts cost nothing at a batch job's volume: EventBridge rules matching AWS service events
 * (ECS task state changes) are free, and SNS e-mail delivery is free for the first 1,000 a month.
 */
export function alertsNote(config: StackConfig): string | undefined {
  const n = config.notify;
  if (!n || (!n.topicArn && !n.emails.length)) return undefined;
  return (
    (n.topicArn
      ? 'failed runs to your SNS topic: the EventBridge rule on ECS events is free; delivery bills on your topic'
      : `failed runs e-mailed to ${n.emails.length} address${n.emails.length === 1 ? '' : 'es'}: the EventBridge rule on ECS events is free, SNS e-mail is free for the first 1,000 a month`) +
    (deadLetterAlarmOn(config)
      ? '; runs that never reach ECS: the dead-letter alarm, $0.10 a month (in the fixed cost)'
      : '')
  );
}

/** Amounts without binary noise (82.16000000000001) in --json; far below a cent. */
const round = (n: number) => Math.round(n * 1e10) / 1e10;

/** Seconds Fargate bills for a task running `seconds`: rounded up to the second, at least a minute. */
export function billedSeconds(seconds: number): number {
  return Math.max(FARGATE_MINIMUM_SECONDS, Math.ceil(seconds));
}

/** How long a job's runs take, and where that figure came from. */
export interface RunDuration {
  durationSeconds: number;
  durationSource?: DurationSource;
  durationNote?: string;
}

/**
 * The stack's cost for a config. Pure: no AWS call. `duration` is every job's run duration, or one per
 * job name. The fixed cost (the shared endpoints and secret) is the stack's once, whatever the number
 * of jobs; each job is shown with an even share of it.
 */
export function computeCost(
  config: StackConfig,
  prices: StackPrices,
  opts: RunDuration & { now: Date; perJob?: ReadonlyMap<string, RunDuration> },
): CostReport {
  const { table } = prices;
  const azs = endpointAzCount(config);
  const endpoints = endpointCost(table, config.network.interfaceEndpoints.length, azs);
  const alarmMonthly = deadLetterAlarmOn(config) ? table.alarmMonth : 0;
  const fixedMonthly = endpoints.monthly + table.secretMonth + alarmMonthly;
  const share = fixedMonthly / config.jobs.length;
  const runsByJob: ModeRuns[] = [];

  const jobs = config.jobs.map((job): JobCost => {
    const d = opts.perJob?.get(job.name) ?? opts;
    const fargate = prices.fargate[job.task.cpuArchitecture]!;
    const vcpu = job.task.cpu / 1024;
    const memoryGb = job.task.memory / 1024;
    const billed = billedSeconds(d.durationSeconds);
    const spotRates = job.task.capacity === 'spot' ? table.fargateSpot : undefined;
    const rates = spotRates ?? fargate;
    const onDemandFargate = (vcpu * fargate.vcpuHour + memoryGb * fargate.gbHour) * (billed / 3600);
    const storageGib = job.task.ephemeralStorageGiB;
    const storageRun = storageGib
      ? Math.max(0, storageGib - FREE_EPHEMERAL_GIB) * table.ephemeralStorageGbHour * (billed / 3600)
      : 0;
    const fargateRun = (vcpu * rates.vcpuHour + memoryGb * rates.gbHour) * (billed / 3600) + storageRun;
    const ipv4Run = config.network.assignPublicIp ? ipv4PerRun(table.publicIpv4Hour, billed) : 0;
    const runCost = fargateRun + ipv4Run;
    const { enabled, expression, timezone } = job.schedule;
    const perMonth = enabled ? runsPerMonth(expression, opts.now, timezone ?? 'UTC') : 0;
    const runsMonthly = perMonth * runCost;
    const sm = job.runPolicy ? stateMachineCost(job.runPolicy, table.stepFunctionsTransition1k, perMonth) : undefined;
    runsByJob.push({ fargateRun, billed, runs: perMonth, ...(sm ? { stateMachineRun: sm.perRun } : {}) });
    const onDemandRun = onDemandFargate + storageRun + ipv4Run;
    return {
      job: job.name,
      family: job.task.family,
      cpuArchitecture: job.task.cpuArchitecture,
      capacity: job.task.capacity,
      prices: {
        fargateVcpuHour: fargate.vcpuHour,
        fargateGbHour: fargate.gbHour,
        ephemeralStorageGbHour: table.ephemeralStorageGbHour,
        ...(spotRates
          ? { fargateSpotVcpuHour: spotRates.vcpuHour, fargateSpotGbHour: spotRates.gbHour, spotAsOf: spotRates.asOf }
          : {}),
      },
      run: {
        vcpu,
        memoryGb,
        durationSeconds: d.durationSeconds,
        billedSeconds: billed,
        durationSource: d.durationSource ?? 'flag',
        ...(d.durationNote ? { durationNote: d.durationNote } : {}),
        publicIpv4: round(ipv4Run),
        ...(storageGib ? { ephemeralStorageGiB: storageGib } : {}),
        ephemeralStorage: round(storageRun),
        cost: round(runCost),
      },
      ...(spotRates
        ? {
            spot: {
              onDemandRun: round(onDemandRun),
              savesPerRun: round(onDemandRun - runCost),
              savesMonthly: round((onDemandRun - runCost) * perMonth),
              savesPercent: onDemandRun ? Math.round(((onDemandRun - runCost) / onDemandRun) * 1000) / 10 : 0,
              reclaimedRunAtMost: round(runCost + onDemandRun),
            },
          }
        : {}),
      schedule: {
        expression,
        enabled,
        runsPerMonth: perMonth,
        monthly: round(runsMonthly),
        engine: job.schedule.engine,
        timezone: timezone ?? 'UTC',
        triggerNote: triggerNote(job),
      },
      ...(sm ? { stateMachine: sm } : {}),
      fixedShareMonthly: round(share),
      monthlyTotal: round(share + runsMonthly + (sm?.monthly ?? 0)),
    };
  });

  return {
    region: config.region,
    pricesAsOf: table.asOf,
    overridden: prices.overridden,
    prices: {
      interfaceEndpointAzHour: table.interfaceEndpointAzHour,
      secretMonth: table.secretMonth,
      publicIpv4Hour: table.publicIpv4Hour,
      alarmMonth: table.alarmMonth,
    },
    fixed: {
      interfaceEndpoints: config.network.interfaceEndpoints.length,
      azs,
      enis: endpoints.enis,
      endpointsHourly: round(endpoints.hourly),
      endpointsMonthly: round(endpoints.monthly),
      secretMonthly: table.secretMonth,
      alarmMonthly,
      hourly: round(endpoints.hourly),
      monthly: round(fixedMonthly),
    },
    jobs,
    monthlyTotal: round(
      fixedMonthly + jobs.reduce((sum, j) => sum + j.schedule.monthly + (j.stateMachine?.monthly ?? 0), 0),
    ),
    downEndpointsSaves: { hourly: round(endpoints.hourly), monthly: round(endpoints.monthly) },
    ...(alertsNote(config) ? { alertsNote: alertsNote(config) } : {}),
    lockNote: LOCK_NOTE,
    network: {
      mode: config.network.mode,
      publicIp: config.network.assignPublicIp,
      modes: modeCosts(config, table, runsByJob),
    },
  };
}

/**
 * The state transitions of a run through the job's state machine, as Step Functions bills them (one
 * per state entered, one per retry): the Run task state, the exit-code Choice and the Succeed state
 * for a run whose first attempt succeeds; each retry one more. A run whose last attempt fails ends at
 * the Run task state (its failure is the execution's), so a succeeding last attempt is the most.
 */
export function transitionsPerRun(retries: number, spot = false): { first: number; max: number } {
  // Spot: a failed Spot attempt adds the Spot failure? choice and the on-demand state (and, with retries,
  // the wait before it, then one transition per further retry).
  return { first: 3, max: spot ? 5 + retries : 3 + retries };
}

/** What a job's state machine adds: its transitions, per run and in a month of runs. */
export function stateMachineCost(
  policy: NonNullable<JobConfig['runPolicy']>,
  per1k: number,
  runsPerMonth: number,
): StateMachineCost {
  const t = transitionsPerRun(policy.retries, policy.spot === true);
  const perMonth = t.first * runsPerMonth;
  return {
    retries: policy.retries,
    ...(policy.timeoutSeconds !== undefined ? { timeoutSeconds: policy.timeoutSeconds } : {}),
    pricePer1kTransitions: per1k,
    transitionsPerRun: t.first,
    maxTransitionsPerRun: t.max,
    perRun: round((t.first * per1k) / 1000),
    maxPerRun: round((t.max * per1k) / 1000),
    transitionsPerMonth: perMonth,
    monthly: round((perMonth * per1k) / 1000),
    note: `Step Functions standard workflow at $${per1k} per 1,000 state transitions (as of ${STEP_FUNCTIONS_AS_OF}); the first ${STEP_FUNCTIONS_FREE_TRANSITIONS.toLocaleString('en-US')} a month in the account are free, not subtracted here. A retried run also pays Fargate for every attempt.`,
  };
}

/** A public IPv4 address for a run: Fargate holds it from start to stop (estimated pro rata per second). */
function ipv4PerRun(hourly: number, billed: number): number {
  return hourly * (billed / 3600);
}

/** One job's runs, as every mode's cost needs them: Fargate per run, billed seconds, runs per month. */
export interface ModeRuns {
  fargateRun: number;
  billed: number;
  runs: number;
  /** What the job's state machine adds to a run (the same in every mode). */
  stateMachineRun?: number;
}

/**
 * Each network mode's cost for the same jobs and schedules, and what switching saves. The modes not in
 * force are costed as they would be built from this config: private-endpoints with the four endpoints
 * it needs in the batch subnets' AZs, public with a public IP per run and no endpoint, existing with
 * no endpoint, relying on your NAT gateway (not counted: it is yours, shared, billed per hour and GB).
 */
export function modeCosts(config: StackConfig, table: PriceTable, jobs: readonly ModeRuns[]): ModeCost[] {
  const n = config.network;
  const current = n.mode;
  // AZs the private-endpoints endpoints would need: the endpoint subnets', else one per task subnet.
  const privateAzs = n.endpointSubnets.length
    ? new Set(n.endpointSubnets.map((s) => s.az)).size
    : n.batchSubnets.length
      ? new Set(n.batchSubnets.map((s) => s.az)).size
      : n.subnetIds.length;
  const shape: Record<NetworkMode, { endpoints: number; azs: number; publicIp: boolean }> = {
    'private-endpoints':
      current === 'private-endpoints'
        ? { endpoints: n.interfaceEndpoints.length, azs: endpointAzCount(config), publicIp: false }
        : { endpoints: REQUIRED_INTERFACE_ENDPOINTS.length, azs: privateAzs, publicIp: false },
    public: { endpoints: 0, azs: 0, publicIp: true },
    existing:
      current === 'existing'
        ? { endpoints: n.interfaceEndpoints.length, azs: endpointAzCount(config), publicIp: n.assignPublicIp }
        : { endpoints: 0, azs: 0, publicIp: false },
  };
  const rows = (['private-endpoints', 'public', 'existing'] as const).map((mode) => {
    const x = shape[mode];
    const fixedMonthly =
      endpointCost(table, x.endpoints, x.azs).monthly +
      table.secretMonth +
      (deadLetterAlarmOn(config) ? table.alarmMonth : 0);
    const ipv4 = (j: ModeRuns) => (x.publicIp ? ipv4PerRun(table.publicIpv4Hour, j.billed) : 0);
    const runsMonthly = jobs.reduce((sum, j) => sum + (j.fargateRun + ipv4(j) + (j.stateMachineRun ?? 0)) * j.runs, 0);
    // Per run only when there is one job: with several, runs differ by job (see each job's cost).
    const one = jobs.length === 1 ? jobs[0]! : undefined;
    const publicIpv4PerRun = one ? ipv4(one) : undefined;
    const perRun = one ? one.fargateRun + ipv4(one) + (one.stateMachineRun ?? 0) : undefined;
    const nat =
      mode === 'existing' && !x.publicIp
        ? { notCounted: 'your NAT gateway (billed to you per hour and per GB, whatever uses it)' }
        : {};
    return {
      mode,
      switching:
        mode === current
          ? ('current' as const)
          : mode === 'existing' || current === 'existing'
            ? ('new stack' as const)
            : ('in place' as const),
      interfaceEndpoints: x.endpoints,
      azs: x.azs,
      fixedMonthly: round(fixedMonthly),
      ...(perRun !== undefined ? { perRun: round(perRun), publicIpv4PerRun: round(publicIpv4PerRun!) } : {}),
      monthly: round(fixedMonthly + runsMonthly),
      ...nat,
      savesMonthly: 0,
    };
  });
  const now = rows.find((r) => r.mode === current)!.monthly;
  return rows.map((r) => ({ ...r, savesMonthly: round(now - r.monthly) }));
}

/** `cost --duration`: one run of every job, from a second to a year (longer is no batch run). */
export const COST_DURATION_RANGE: DurationRange = {
  min: 1,
  max: 365 * 86_400,
  why: 'a run longer than a year is not a batch run',
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * `batchctl cost`. With --duration nothing is read from AWS. Without it, each job's run duration is the
 * median billed duration of its recent stopped runs (ECS and STS clients only, one listing for the whole
 * cluster), or 5 minutes when there are none or they cannot be read: the report says which.
 */
export async function runCost(opts: StackOptions & { duration?: string; now?: Date }): Promise<CostReport> {
  const { loadStackConfig, openStack } = await import('../engine/stack.js');
  const now = opts.now ?? new Date(opts.clock?.now() ?? Date.now());
  const seconds =
    opts.duration === undefined ? undefined : parseDuration(opts.duration, '--duration', COST_DURATION_RANGE);
  const config = await loadStackConfig(opts);
  // Prices are checked before any AWS call: an unknown region is the user's to fix either way.
  const prices = resolvePrices(config);
  if (seconds !== undefined)
    return computeCost(config, prices, { durationSeconds: seconds, now, durationSource: 'flag' });

  const { recentRunsByJob } = await import('../runs/status.js');
  let byJob: Map<string, { runs: { billedSeconds?: number }[] }> | undefined;
  let why = '';
  try {
    const stack = await openStack(opts, ['ecs', 'sts'], undefined, config);
    try {
      byJob = await recentRunsByJob(stack.aws.ecs, stack.config, { limit: 20, now });
    } finally {
      await stack.close();
    }
  } catch (err) {
    why = `recent runs could not be read (${(err as Error).message})`;
  }
  const perJob = new Map<string, RunDuration>();
  for (const job of config.jobs) {
    const runs = byJob?.get(job.name)?.runs ?? [];
    const durations = runs.map((r) => r.billedSeconds).filter((s): s is number => s !== undefined);
    if (durations.length) {
      perJob.set(job.name, {
        durationSeconds: median(durations),
        durationSource: 'recent-runs',
        durationNote:
          durations.length === 1 ? 'the last stopped run' : `median of the last ${durations.length} stopped runs`,
      });
    } else {
      const reason =
        why ||
        (runs.length
          ? 'no stopped run among the recent tasks'
          : 'no recent runs in ECS (it shows stopped tasks for about an hour)');
      perJob.set(job.name, {
        durationSeconds: DEFAULT_RUN_SECONDS,
        durationSource: 'default',
        durationNote: `${reason}; assumed 5 minutes (pass --duration to set it)`,
      });
    }
  }
  return computeCost(config, prices, { durationSeconds: DEFAULT_RUN_SECONDS, now, perJob });
}

/** A plan entry as the monthly cost change reads it. */
export interface CostedEntry {
  key: string;
  kind: string;
  action: string;
  /** The job whose node it is (undefined for the shared resources). */
  job?: string;
  changes?: readonly { field: string; from?: unknown; to?: unknown }[];
}

/** What applying a plan does to the monthly cost: before and after, at the same prices and run duration. */
export interface CostChange {
  before: number;
  after: number;
  pricesAsOf: string;
  /** The run duration assumed for every job (`up` reads no recent runs). */
  runSeconds: number;
}

/** The kinds whose presence runs a job on its schedule: its monthly runs are counted on them. */
const TRIGGER_KINDS = new Set(['events.rule', 'scheduler.schedule']);

/**
 * The monthly cost of what exists before a plan is applied and after, node by node: what bills while it
 * exists (each interface endpoint in its zones, the secret, the dead-letter alarm) and each job's
 * runs, counted on its schedule. A task size changed by the plan is priced at its old size before.
 * Pure: no AWS call; undefined when the region has no prices.
 */
export function costChange(config: StackConfig, entries: readonly CostedEntry[], now: Date): CostChange | undefined {
  let prices: StackPrices;
  try {
    prices = resolvePrices(config);
  } catch {
    return undefined;
  }
  const { table } = prices;
  // A switch away from private endpoints deletes endpoints the config no longer places: price them in
  // the zones the tasks run in.
  const azs = endpointAzCount(config) || new Set(config.network.batchSubnets.map((s) => s.az)).size;
  const perEndpoint = endpointCost(table, 1, azs).monthly;
  const runMonthly = (job: JobConfig, cpu = job.task.cpu, memory = job.task.memory): number => {
    const fargate = prices.fargate[job.task.cpuArchitecture]!;
    const billed = billedSeconds(DEFAULT_RUN_SECONDS);
    const run =
      ((cpu / 1024) * fargate.vcpuHour + (memory / 1024) * fargate.gbHour) * (billed / 3600) +
      (config.network.assignPublicIp ? ipv4PerRun(table.publicIpv4Hour, billed) : 0);
    const runs = job.schedule.enabled ? runsPerMonth(job.schedule.expression, now, job.schedule.timezone ?? 'UTC') : 0;
    const sm = job.runPolicy ? stateMachineCost(job.runPolicy, table.stepFunctionsTransition1k, runs).monthly : 0;
    return runs * run + sm;
  };
  const jobs = new Map(config.jobs.map((j) => [j.name, j]));
  // The size each job's tasks have before the plan: the `from` of a task definition's cpu and memory changes.
  const sizeBefore = new Map<string, { cpu?: number; memory?: number }>();
  for (const e of entries) {
    if (e.kind !== 'ecs.task-definition' || e.action !== 'update' || !e.job) continue;
    const from = (field: string) => {
      const v = Number(e.changes?.find((c) => c.field === field)?.from);
      return Number.isFinite(v) && v > 0 ? v : undefined;
    };
    sizeBefore.set(e.job, { cpu: from('cpu'), memory: from('memory') });
  }
  const nodeCost = (e: CostedEntry, when: 'before' | 'after'): number => {
    if (e.kind === 'ec2.vpc-interface-endpoint') return perEndpoint;
    if (e.kind === 'secretsmanager.secret') return table.secretMonth;
    if (e.kind === 'cloudwatch.alarm') return table.alarmMonth;
    const job = e.job === undefined ? undefined : jobs.get(e.job);
    if (!job || !TRIGGER_KINDS.has(e.kind)) return 0;
    const old = when === 'before' ? sizeBefore.get(job.name) : undefined;
    return runMonthly(job, old?.cpu, old?.memory);
  };
  let before = 0;
  let after = 0;
  for (const e of entries) {
    if (e.action === 'error') continue;
    if (e.action !== 'create') before += nodeCost(e, 'before');
    if (e.action !== 'delete' && e.action !== 'forget') after += nodeCost(e, 'after');
  }
  return { before: round(before), after: round(after), pricesAsOf: table.asOf, runSeconds: DEFAULT_RUN_SECONDS };
}
