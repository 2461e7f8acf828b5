/**
 * A job's run policy (`task.timeout`, `task.retries`): how long one attempt may run, how often a failed
 * run is tried again, and the backoff between attempts. Pure: the config's rules and the numbers the
 * state machine, `validate`, `status` and `cost` share.
 */

import { durationSeconds, formatDurationText } from '../base/duration.js';

/**
 * Seconds of a duration such as `30m` or `1h30m`; undefined when the text is not one. The one grammar
 * every duration a user types follows (base/duration.ts).
 */
export const parseRunDuration = durationSeconds;

/** A duration as people write it: `45m`, `2h`, `1h30m`, `1d2h` (seconds only when there are some). */
export const formatRunDuration = formatDurationText;

/**
 * Step Functions ends a standard workflow execution after one year, whatever its states say: every
 * attempt of a run, and the waits between them, must fit in it.
 */
export const EXECUTION_LIMIT_SECONDS = 365 * 86_400;

/** At most 10 retries (the and Copilot's bound): more only delays a failure that keeps recurring. */
export const MAX_RETRIES = 10;

/**
 * The backoff between attempts: the first retry 30 s after the failure, each later wait twice the one
 * before, never more than 10 minutes. Long enough for a capacity shortage or a dependency's blip to pass,
 * short enough that ten retries stay within about an hour and a half of waiting.
 */
export const RETRY_BACKOFF = { intervalSeconds: 30, backoffRate: 2, maxDelaySeconds: 600 } as const;

/** A job's run policy, resolved. Undefined for a job with neither setting: the schedule starts its task directly. */
export interface RunPolicy {
  /** How long one attempt may run before its task is stopped; undefined: no limit. */
  timeoutSeconds?: number;
  /** Attempts after the first one, on a non-zero exit or a task that did not start. */
  retries: number;
  /**
   * `task.capacity: spot`: the first attempt runs on Fargate Spot, every later one on on-demand Fargate;
   * a run whose Spot attempt failed because of Spot (no capacity, or the task reclaimed) goes on on
   * on-demand even without retries (model/state-machine.ts).
   */
  spot?: true;
}

/**
 * The policy of a job's `task` section. `retries: 0` without a timeout asks for nothing a state machine
 * would add, so the job keeps the direct path, unless it runs on Spot: only its state machine can fall
 * back to on-demand when Spot fails a run.
 */
export function runPolicyOf(task: { timeout?: string; retries?: number; capacity?: string }): RunPolicy | undefined {
  const timeoutSeconds = task.timeout === undefined ? undefined : parseRunDuration(task.timeout);
  const retries = task.retries ?? 0;
  const spot = task.capacity === 'spot';
  if (timeoutSeconds === undefined && retries === 0 && !spot) return undefined;
  return {
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    retries,
    ...(spot ? { spot: true as const } : {}),
  };
}

/**
 * The most attempts a run makes: the first and one per retry; a Spot job's on-demand fallback is its
 * first retry, or, without retries, one more attempt that only a failure caused by Spot gets.
 */
export function maxAttemptsOf(p: RunPolicy): number {
  return p.spot ? Math.max(p.retries, 1) + 1 : p.retries + 1;
}

/** The wait before retry number `n` (1-based), in seconds. */
export function retryDelaySeconds(n: number): number {
  const { intervalSeconds, backoffRate, maxDelaySeconds } = RETRY_BACKOFF;
  return Math.min(intervalSeconds * backoffRate ** (n - 1), maxDelaySeconds);
}

/** Every wait of `retries` retries, in seconds. */
export function totalBackoffSeconds(retries: number): number {
  let total = 0;
  for (let n = 1; n <= retries; n++) total += retryDelaySeconds(n);
  return total;
}

/** The longest a run can last: every attempt up to its timeout, and every wait between them. */
export function worstCaseSeconds(p: RunPolicy): number | undefined {
  if (p.timeoutSeconds === undefined) return undefined;
  return maxAttemptsOf(p) * p.timeoutSeconds + totalBackoffSeconds(p.retries);
}
