/**
 * The duplicate-trigger guard. EventBridge delivers a scheduled event at least once, so two tasks may
 * start for the same scheduled time. Before working, a scheduled run claims its time with a conditional
 * S3 write; only the first claimant works.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
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
    throw new GuardConfigError(`BATCH_SCHEDULED_TIME is not an ISO time with a zone: ${JSON.stringify(raw)}`);
  }
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** The lock object's key for a canonical scheduled time. */
export function lockKey(scheduledTime: string): string {
  return `${LOCK_PREFIX}${scheduledTime}.json`;
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

/**
 * Claims this run's scheduled time in `bucket`. Returns `duplicate` when another run holds the claim;
 * throws the SDK error for any other failure (missing bucket, access denied).
 */
export async function claimScheduledRun(
  s3: S3Client,
  bucket: string,
  env: Env,
  opts: { now: () => number; fetch?: typeof fetch },
): Promise<GuardOutcome> {
  if (!guardEnabled(env)) return { kind: 'unguarded', reason: 'guard-off' };
  const raw = env.BATCH_SCHEDULED_TIME?.trim();
  if (!raw) return { kind: 'unguarded', reason: 'no-scheduled-time' };
  const scheduledTime = canonicalTime(raw);
  const key = lockKey(scheduledTime);
  const arn = await taskArn(env, opts.fetch);
  const body = JSON.stringify({
    scheduledTime,
    ...(arn ? { taskArn: arn } : {}),
    startedAt: new Date(opts.now()).toISOString(),
  });
  try {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*' }),
    );
    return { kind: 'claimed', key, scheduledTime };
  } catch (err) {
    if (isClaimTaken(err)) return { kind: 'duplicate', key, scheduledTime };
    throw err;
  }
}

/**
 * S3 answers a conditional write on an existing key with 412 PreconditionFailed; when two writes race
 * on the same key it may instead answer 409 ConditionalRequestConflict to the loser. Both mean the
 * claim belongs to someone else.
 */
function isClaimTaken(err: unknown): boolean {
  const code = errorCode(err);
  // Other 409s (e.g. OperationAborted) are real failures; only a 412 is unambiguous without its code.
  return code === 'PreconditionFailed' || code === 'ConditionalRequestConflict' || httpStatus(err) === 412;
}
