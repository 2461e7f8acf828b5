/**
 * The stack's side of the job's duplicate-trigger guard (batch/src/guard.ts): where the job keeps its
 * lock objects and how the scheduled time reaches the container.
 */

/**
 * The bucket prefix of the guard's lock objects. It MUST equal `LOCK_PREFIX` in batch/src/guard.ts
 * (a test compares them): the lifecycle rule and the task role's PutObject grant are scoped to it.
 * Not imported from batch/ because that package is built and shipped on its own.
 */
export const LOCK_PREFIX = '.batchctl/runs/';

/** Lock objects are only needed while a duplicate delivery can still arrive (minutes); a week is ample. */
export const LOCK_EXPIRE_DAYS = 7;

/** The environment variables the job reads (batch/README.md). */
export const ENV_SCHEDULED_TIME = 'BATCH_SCHEDULED_TIME';
export const ENV_DUPLICATE_GUARD = 'BATCH_DUPLICATE_GUARD';
