/**
 * The duplicate-trigger guard. EventBridge delivers a scheduled event at least once, so two tasks may
 * start for the same scheduled time. Before working, a scheduled run claims its time with a conditional
 * S3 write; only the first claimant works.
 *
 * A claim S3 applied whose answer was lost (a reset connection, a 5xx) is sent again by the SDK's retry
 * and then refused with 412 by its own object. Each claim therefore carries an id of its own (`claimId`):
 * on 412 the claim is read back, and one carrying this claim's id is this run's, not a duplicate's.
 */
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { errorCode, httpStatus, type Env } from './s3.js';

/**
 * The bucket prefix reserved for the guard's lock objects. The job never lists them as user data, and
 * the bucket's lifecycle expires them (batchctl adds that rule).
 */
export const LOCK_PREFIX = '.batchctl/runs/';

/** What the guard decided. */
export type GuardOutcome =
  | { kind: 'claimed'; key: string; scheduledTime: string }
  | { kind: 'duplicate'; key: string; scheduledTime: string }
  /** A retry: an earlier attempt of this same run (BATCH_RUN_ID) holds the claim, so this attempt runs. */
  | { kind: 'retry'; key: string; scheduledTime: string; runId: string }
  /** Run-now runs (no scheduled time) and runs with the guard off take no lock. */
  | { kind: 'unguarded'; reason: 'no-scheduled-time' | 'guard-off' };

/** Thrown for a BATCH_SCHEDULED_TIME that is not a time: the lock key would be meaningless. */
export class GuardConfigError extends Error {
  override name = 'GuardConfigError';
}

/**
 * The canonical form of a scheduled time (`2026-11-28T03:30:00Z`), so that `...+00:00`, `...Z` and
 * `....000Z` spellings of one instant claim the same lock.
 */
export function canonicalTime(raw: string): string {
  const ms = Date.parse(raw);
  // Date.parse accepts many non-ISO spellings; insist on a date-time with an explicit zone.
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(raw)) {
    // A placeholder that was never filled in would make every run after the first a "duplicate".
    const unfilled = /^<[^>]+>$/.test(raw)
      ? ' (a placeholder its trigger did not fill in: run `batchctl up` to rewrite the schedule)'
      : '';
    throw new GuardConfigError(
      `BATCH_SCHEDULED_TIME is not an ISO time with a zone: ${JSON.stringify(raw)}${unfilled}`,
    );
  }
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** A job name as batchctl writes BATCH_JOB_NAME: lowercase letters, digits and hyphens. */
const JOB_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * The lock object's key for a canonical scheduled time. Jobs of one stack share the bucket and may be
 * due at the same instant: each claims under its own `<job>/` (BATCH_JOB_NAME); without a job name (the
 * stack's original job) the key is the one this guard always used.
 */
export function lockKey(scheduledTime: string, job?: string): string {
  return `${LOCK_PREFIX}${job ? `${job}/` : ''}${scheduledTime}.json`;
}

/** The job name that scopes the lock, from BATCH_JOB_NAME; a value that is not a job name is a configuration error. */
export function jobNameOf(env: Env): string | undefined {
  const raw = env.BATCH_JOB_NAME?.trim();
  if (!raw) return undefined;
  if (!JOB_NAME.test(raw))
    throw new GuardConfigError(
      `BATCH_JOB_NAME is not a job name (lowercase letters, digits, hyphens): ${JSON.stringify(raw)}`,
    );
  return raw;
}

/**
 * The running task's ARN from the ECS task metadata endpoint (v4), or undefined when not on ECS or
 * the endpoint does not answer in time: the ARN only makes the lock easier to trace.
 */
export async function taskArn(env: Env, fetchFn: typeof fetch = fetch): Promise<string | undefined> {
  const base = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!base) return undefined;
  try {
    const res = await fetchFn(`${base}/task`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { TaskARN?: unknown };
    return typeof body.TaskARN === 'string' ? body.TaskARN : undefined;
  } catch {
    return undefined;
  }
}

/** The guard is on unless BATCH_DUPLICATE_GUARD is `off` (case-insensitive). */
export function guardEnabled(env: Env): boolean {
  return (env.BATCH_DUPLICATE_GUARD ?? '').trim().toLowerCase() !== 'off';
}

/** How often a claim answered with 409 ConditionalRequestConflict is sent again, and the first wait. */
export const CLAIM_ATTEMPTS = 5;
export const CLAIM_BACKOFF_MS = 200;

/** Timing of the claim's retries (injected by tests). */
export interface ClaimOptions {
  now: () => number;
  fetch?: typeof fetch;
  /** Waits between attempts; defaults to a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** 0..1, for the jitter; defaults to Math.random. */
  random?: () => number;
  /** The id a claim carries; defaults to a random UUID. */
  claimId?: () => string;
}

/** A claim S3 kept answering with 409 ConditionalRequestConflict: nobody is known to hold it. */
export class ClaimConflict extends Error {
  override name = 'ClaimConflict';
  constructor(
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`S3 answered ${attempts} conditional writes of the claim with 409 ConditionalRequestConflict`);
  }
}

/**
 * Claims this run's scheduled time in `bucket`. Returns `duplicate` when another run holds the claim;
 * throws the SDK error for any other failure (missing bucket, access denied), and ClaimConflict when
 * S3 answered every attempt with a conflict.
 */
export async function claimScheduledRun(
  s3: S3Client,
  bucket: string,
  env: Env,
  opts: ClaimOptions,
): Promise<GuardOutcome> {
  if (!guardEnabled(env)) return { kind: 'unguarded', reason: 'guard-off' };
  const raw = env.BATCH_SCHEDULED_TIME?.trim();
  if (!raw) return { kind: 'unguarded', reason: 'no-scheduled-time' };
  const scheduledTime = canonicalTime(raw);
  const key = lockKey(scheduledTime, jobNameOf(env));
  const arn = await taskArn(env, opts.fetch);
  const runId = env.BATCH_RUN_ID?.trim() || undefined;
  const claimId = (opts.claimId ?? randomUUID)();
  const body = JSON.stringify({
    scheduledTime,
    claimId,
    ...(arn ? { taskArn: arn } : {}),
    ...(runId ? { runId } : {}),
    startedAt: new Date(opts.now()).toISOString(),
  });
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
      );
      return { kind: 'claimed', key, scheduledTime };
    } catch (err) {
      if (isClaimTaken(err)) {
        const holder = await claimHolder(s3, bucket, key);
        // This very claim, applied before its answer was lost: ours.
        if (holder?.claimId === claimId) return { kind: 'claimed', key, scheduledTime };
        // Gone between the two calls (expired, removed): claim it again, a bounded number of times.
        if (holder === null) {
          if (attempt >= CLAIM_ATTEMPTS) throw new ClaimConflict(attempt, err);
          continue;
        }
        return runId && holder.runId === runId
          ? { kind: 'retry', key, scheduledTime, runId }
          : { kind: 'duplicate', key, scheduledTime };
      }
      if (!isConflict(err)) throw err;
      if (attempt >= CLAIM_ATTEMPTS) throw new ClaimConflict(attempt, err);
      // Exponential backoff with jitter: two racing runs must not retry in lockstep.
      await sleep(Math.round(CLAIM_BACKOFF_MS * 2 ** (attempt - 1) * (0.5 + random() / 2)));
    }
  }
}

/**
 * Who holds a claim: its `claimId` (which claim wrote it) and `runId` (which run: a state machine retries
 * a failed run with the scheduled time of its first attempt, and the claim then names the same run);
 * `{}` for a claim of unknown form (someone else's); null when the claim is gone.
 */
async function claimHolder(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ claimId?: string; runId?: string } | null> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await out.Body?.transformToString()) ?? '';
    const v = JSON.parse(text) as { runId?: unknown; claimId?: unknown };
    return {
      ...(typeof v.claimId === 'string' ? { claimId: v.claimId } : {}),
      ...(typeof v.runId === 'string' ? { runId: v.runId } : {}),
    };
  } catch (err) {
    if (errorCode(err) === 'NoSuchKey' || httpStatus(err) === 404) return null;
    // Not JSON: a claim of unknown form is someone else's.
    if (err instanceof SyntaxError) return {};
    throw err;
  }
}

/**
 * Only 412 PreconditionFailed means the key exists: the claim belongs to someone else.
 */
function isClaimTaken(err: unknown): boolean {
  return errorCode(err) === 'PreconditionFailed' || httpStatus(err) === 412;
}

/**
 * S3 answers 409 ConditionalRequestConflict when another write to the key was in flight, whether or not
 * that write then succeeded; S3's documentation says to retry. The retry gets 412 if the other write
 * won, or claims the time if it failed. Other 409s (OperationAborted...) are failures.
 */
function isConflict(err: unknown): boolean {
  return errorCode(err) === 'ConditionalRequestConflict';
}
