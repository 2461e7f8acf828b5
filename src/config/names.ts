/**
 * The names batchctl derives when the config leaves them out, and the shapes a stack name, a region, a
 * zone and a CIDR block must have. Computed here once: `schema.ts` fills the names (fillNames) and checks
 * the shapes field by field, `validate.ts` checks the same names against AWS's naming rules before any
 * call, so what is checked is always what is created. Imports nothing.
 */

/** A stack name: it prefixes every name and is the value of the `batchctl:stack` tag. */
export const STACK_SHAPE = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
/** An AWS region such as `ap-northeast-1`. */
export const REGION_SHAPE = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** An availability zone name such as `ap-northeast-1a`. */
export const AZ_SHAPE = /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/;
/** An IPv4 CIDR block such as `10.0.0.0/16` (each number captured). */
export const CIDR_SHAPE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** The stack-wide names the config may leave out, by the key that sets them, each from the stack's name. */
export const STACK_NAME_DEFAULTS = {
  'repository.name': (stack: string) => stack,
  'secret.name': (stack: string) => stack,
  'logs.group': (stack: string) => `/ecs/${stack}`,
  'cluster.name': (stack: string) => stack,
  'iam.executionRoleName': (stack: string) => `${stack}-execution`,
} as const;

/** The default bucket name: globally unique per account and region (known once the account is). */
export function defaultBucketName(stack: string, account: string, region: string): string {
  return `${stack}-${account}-${region}`;
}

/** The names each job has of its own, by the role they play, and the key that sets each. */
export const JOB_NAME_KEYS = {
  family: ['task', 'family'],
  schedule: ['schedule', 'name'],
  task: ['iam', 'taskRoleName'],
  events: ['iam', 'eventsRoleName'],
  scheduler: ['iam', 'schedulerRoleName'],
  stateMachine: ['iam', 'stateMachineRoleName'],
} as const;

/** The role a job's own name plays. */
export type JobNameRole = keyof typeof JOB_NAME_KEYS;

const JOB_NAME_SUFFIX: Record<JobNameRole, string> = {
  family: '',
  schedule: '',
  task: '-task',
  events: '-events',
  scheduler: '-scheduler',
  stateMachine: '-states',
};

/**
 * A job's derived name for a role: from `<stack>` for the stack's original job (the names from before
 * `jobs:` existed), from `<stack>-<job>` for the others, with the role's suffix (`-task`, `-events`...).
 */
export function jobName(stack: string, job: string, original: boolean, role: JobNameRole): string {
  return `${original ? stack : `${stack}-${job}`}${JOB_NAME_SUFFIX[role]}`;
}
