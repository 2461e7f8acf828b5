/**
 * The job a command acts on: named on the command line, or the stack's only job. With several jobs and
 * none named, commands that act on one job ask for it; the others (logs, push, status, cost) act on all.
 */
import type { JobConfig, StackConfig } from '../config/schema.js';
import { UserError } from '../base/errors.js';
import { printable } from '../base/format.js';
import { nearest } from '../base/suggest.js';

/** The jobs' names, for hints (the first ones, then a count). */
export function jobList(config: StackConfig, max = 8): string {
  const names = config.jobs.map((j) => j.name);
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** The job named `name`; a UserError naming the stack's jobs when there is none of that name. */
export function findJob(config: StackConfig, name: string): JobConfig {
  const job = config.jobs.find((j) => j.name === name);
  if (job) return job;
  const near = nearest(
    name,
    config.jobs.map((j) => j.name),
  );
  throw new UserError(
    `stack ${config.stack} has no job named "${printable(name, 60)}"${near ? `: did you mean ${near}?` : ''}`,
    `its jobs: ${jobList(config)}`,
  );
}

/**
 * The job a one-job command acts on: the named one, else the only one. `usage` shows how to name it
 * (e.g. `batchctl run-now <job>`).
 */
export function pickJob(config: StackConfig, name: string | undefined, usage: string): JobConfig {
  if (name !== undefined) return findJob(config, name);
  if (config.jobs.length === 1) return config.jobs[0]!;
  throw new UserError(
    `stack ${config.stack} has ${config.jobs.length} jobs: name the one to act on (${usage})`,
    `its jobs: ${jobList(config)}`,
  );
}

/** The jobs a command acts on: the named one, or every job. */
export function jobsOf(config: StackConfig, name: string | undefined): JobConfig[] {
  return name === undefined ? config.jobs : [findJob(config, name)];
}
