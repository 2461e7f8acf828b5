/**
 * `cost`: what the stack costs while it exists (interface endpoints, the secret) and what each run
 * costs (Fargate vCPU and memory for the run's duration), per hour and per month, from the price
 * table in pricing.ts with the config's `pricing:` overrides.
 */
import type { StackConfig } from '../config/schema.js';
import { nextRuns, parseScheduleExpression } from '../config/cron.js';
import { UserError } from './errors.js';
import { endpointCost, pricesFor, type PriceOverrides } from './pricing.js';
import type { StackOptions } from './stack.js';

/** Prices resolved for a config: the table with overrides applied, and the Fargate rate for its architecture. */
export type ResolvedPrices = NonNullable<ReturnType<typeof pricesFor>>;

/** Days a "month" of runs covers (the 30-day month: 720 hourly runs). */
export const RUN_MONTH_DAYS = 30;
/** The run duration assumed when neither --duration nor recent runs give one. */
export const DEFAULT_RUN_SECONDS = 300;
/** Fargate bills per second with a one-minute minimum. */
export const FARGATE_MINIMUM_SECONDS = 60;

const PRICE_KEYS: (keyof PriceOverrides)[] = ['interfaceEndpointAzHour', 'fargateVcpuHour', 'fargateGbHour', 'secretMonth'];

/** Where the run duration came from. */
export type DurationSource = 'flag' | 'recent-runs' | 'default';

export interface CostReport {
  region: string;
  cpuArchitecture: 'X86_64' | 'ARM64';
  /** The date of the built-in table, or `config` when every price came from the config. */
  pricesAsOf: string;
  /** `pricing:` keys the config overrides. */
  overridden: string[];
  prices: { interfaceEndpointAzHour: number; fargateVcpuHour: number; fargateGbHour: number; secretMonth: number };
  fixed: {
    interfaceEndpoints: number;
    /** Distinct AZs of the endpoint subnets: each endpoint has one billed ENI per AZ. */
    azs: number;
    enis: number;
    endpointsHourly: number;
    endpointsMonthly: number;
    secretMonthly: number;
    /** What bills by the hour (the endpoints). */
    hourly: number;
    /** hourly x 730 + the secret. */
    monthly: number;
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
    cost: number;
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
  /** Fixed monthly + runs monthly. */
  monthlyTotal: number;
  /** What `down --endpoints` saves while the endpoints are down (the endpoint part of the fixed cost). */
  downEndpointsSaves: { hourly: number; monthly: number };
  /** Failure alerts (`notify:`), when configured: why they add nothing to the estimate. */
  alertsNote?: string;
}

/** The prices for a config; a UserError naming the `pricing:` keys to set when the region has no table. */
export function resolvePrices(config: StackConfig): ResolvedPrices {
  const arch = config.task.cpuArchitecture;
  const p = pricesFor(config.region, arch, config.pricing);
  if (p) return p;
  const missing = PRICE_KEYS.filter((k) => config.pricing[k] === undefined);
  throw new UserError(
    `batchctl has no prices for region ${config.region}`,
    `set them in the config under pricing: ${missing.join(', ')} (USD; see the AWS pricing pages for VPC endpoints, Fargate ${arch} and Secrets Manager)`,
  );
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
 * EventBridge scheduled rules are free; EventBridge Scheduler bills invocations only beyond 14 million a
 * month (free tier), far above any batch schedule; the dead-letter queue's few SQS requests fall in SQS's
 * free million. So the trigger adds nothing to the estimate; the note says so.
 */
export function triggerNote(config: StackConfig): string {
  if (config.schedule.engine === 'rule') return 'EventBridge scheduled rules: no charge';
  const dlq = config.schedule.deadLetterQueue ? '; the dead-letter queue\'s SQS requests are within the free tier' : '';
  return `EventBridge Scheduler: invocations are free up to 14 million a month${dlq}`;
}

/**
 * Failure alerts cost nothing at a batch job's volume: EventBridge rules matching AWS service events
 * (ECS task state changes) are free, and SNS e-mail delivery is free for the first 1,000 a month.
 */
export function alertsNote(config: StackConfig): string | undefined {
  const n = config.notify;
  if (!n || (!n.topicArn && !n.emails.length)) return undefined;
  return n.topicArn
    ? 'failed runs to your SNS topic: the EventBridge rule on ECS events is free; delivery bills on your topic'
    : `failed runs e-mailed to ${n.emails.length} address${n.emails.length === 1 ? '' : 'es'}: the EventBridge rule on ECS events is free, SNS e-mail is free for the first 1,000 a month`;
}

/** Amounts without binary noise (82.16000000000001) in --json; far below a cent. */
const round = (n: number) => Math.round(n * 1e10) / 1e10;

/** Seconds Fargate bills for a task running `seconds`: rounded up to the second, at least a minute. */
export function billedSeconds(seconds: number): number {
  return Math.max(FARGATE_MINIMUM_SECONDS, Math.ceil(seconds));
}

/** The stack's cost for a config. Pure: no AWS call. */
export function computeCost(
  config: StackConfig,
  prices: ResolvedPrices,
  opts: { durationSeconds: number; now: Date; durationSource?: DurationSource; durationNote?: string },
): CostReport {
  const { table, fargate } = prices;
  const azs = new Set(config.network.endpointSubnets.map((s) => s.az)).size;
  const endpoints = endpointCost(table, config.network.interfaceEndpoints.length, azs);
  const fixedMonthly = endpoints.monthly + table.secretMonth;

  const vcpu = config.task.cpu / 1024;
  const memoryGb = config.task.memory / 1024;
  const billed = billedSeconds(opts.durationSeconds);
  const runCost = (vcpu * fargate.vcpuHour + memoryGb * fargate.gbHour) * (billed / 3600);

  const enabled = config.schedule.enabled;
  const perMonth = enabled ? runsPerMonth(config.schedule.expression, opts.now, config.schedule.timezone ?? 'UTC') : 0;
  const runsMonthly = perMonth * runCost;

  return {
    region: config.region,
    cpuArchitecture: config.task.cpuArchitecture,
    pricesAsOf: table.asOf,
    overridden: prices.overridden,
    prices: { interfaceEndpointAzHour: table.interfaceEndpointAzHour, fargateVcpuHour: fargate.vcpuHour, fargateGbHour: fargate.gbHour, secretMonth: table.secretMonth },
    fixed: {
      interfaceEndpoints: config.network.interfaceEndpoints.length, azs, enis: endpoints.enis,
      endpointsHourly: round(endpoints.hourly), endpointsMonthly: round(endpoints.monthly), secretMonthly: table.secretMonth,
      hourly: round(endpoints.hourly), monthly: round(fixedMonthly),
    },
    run: {
      vcpu, memoryGb, durationSeconds: opts.durationSeconds, billedSeconds: billed,
      durationSource: opts.durationSource ?? 'flag', ...(opts.durationNote ? { durationNote: opts.durationNote } : {}), cost: round(runCost),
    },
    schedule: {
      expression: config.schedule.expression, enabled, runsPerMonth: perMonth, monthly: round(runsMonthly),
      engine: config.schedule.engine, timezone: config.schedule.timezone ?? 'UTC', triggerNote: triggerNote(config),
    },
    monthlyTotal: round(fixedMonthly + runsMonthly),
    downEndpointsSaves: { hourly: round(endpoints.hourly), monthly: round(endpoints.monthly) },
    ...(alertsNote(config) ? { alertsNote: alertsNote(config) } : {}),
  };
}

/** `30s`, `5m`, `1h`, `90` (seconds), or combined like `1m30s`, as seconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
  if (!t || !m || (!m[1] && !m[2] && !m[3])) {
    throw new UserError(`--duration: "${text}" is not a duration`, 'write seconds (300) or a number with a unit: 30s, 5m, 1h, 1m30s');
  }
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * `batchctl cost`. With --duration nothing is read from AWS. Without it, the median billed duration of
 * the recent stopped runs (ECS and STS clients only) is used, or 5 minutes when there are none or they
 * cannot be read: the report says which.
 */
export async function runCost(opts: StackOptions & { duration?: string; now?: Date }): Promise<CostReport> {
  const { loadStackConfig, openStack } = await import('./stack.js');
  const now = opts.now ?? new Date(opts.clock?.now() ?? Date.now());
  const seconds = opts.duration === undefined ? undefined : parseDuration(opts.duration);
  const config = await loadStackConfig(opts);
  // Prices are checked before any AWS call: an unknown region is the user's to fix either way.
  const prices = resolvePrices(config);
  if (seconds !== undefined) return computeCost(config, prices, { durationSeconds: seconds, now, durationSource: 'flag' });

  const { recentRuns } = await import('./status.js');
  let durations: number[] = [];
  let why: string;
  try {
    const stack = await openStack(opts, ['ecs', 'sts'], undefined, config);
    try {
      const recent = await recentRuns(stack.aws.ecs, stack.config, { limit: 20, now });
      durations = recent.runs.map((r) => r.billedSeconds).filter((s): s is number => s !== undefined);
      why = recent.runs.length ? 'no stopped run among the recent tasks' : 'no recent runs in ECS (it shows stopped tasks for about an hour)';
    } finally {
      await stack.close();
    }
  } catch (err) {
    why = `recent runs could not be read (${(err as Error).message})`;
  }
  if (durations.length) {
    return computeCost(config, prices, {
      durationSeconds: median(durations), now, durationSource: 'recent-runs',
      durationNote: durations.length === 1 ? 'the last stopped run' : `median of the last ${durations.length} stopped runs`,
    });
  }
  return computeCost(config, prices, {
    durationSeconds: DEFAULT_RUN_SECONDS, now, durationSource: 'default',
    durationNote: `${why}; assumed 5 minutes (pass --duration to set it)`,
  });
}
