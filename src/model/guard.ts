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

/**
 * The run a task belongs to, when a state machine runs the job (its execution's ARN). Its retries carry
 * the same scheduled time: a claim made by the same run is the job's own, not a duplicate delivery's.
 */
export const ENV_RUN_ID = 'BATCH_RUN_ID';

/** The environment variable that scopes a job's lock objects to its own prefix (batch/src/guard.ts). */
export const ENV_JOB_NAME = 'BATCH_JOB_NAME';

/**
 * Where a job's lock objects go. Two jobs of a stack share the bucket and may be due at the same minute:
 * with one prefix, the second would find the first's claim and skip its run as a duplicate. Each job
 * other than the original one claims under `<LOCK_PREFIX><job>/`; the original job keeps the pre-jobs
 * prefix (its task definition and role policy stay as they were).
 */
export function lockPrefixOf(job: { name: string; original: boolean }): string {
  return job.original ? LOCK_PREFIX : `${LOCK_PREFIX}${job.name}/`;
}
