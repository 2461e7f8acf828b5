/**
 * The jobs of a stack as the resource kinds see them: one node per job for the per-job kinds (task
 * definition, trigger, task and trigger roles), looked up by the job name their params carry.
 */
import type { JobConfig, StackConfig } from '../config/schema.js';

/** The params of a per-job node: the job's name (its key in `jobs:`). */
export interface JobParams {
  job: string;
}

/** The job a node belongs to. Throws for a name the config does not have (a programming error). */
export function jobOf(config: StackConfig, name: string): JobConfig {
  const job = config.jobs.find((j) => j.name === name);
  if (!job) throw new Error(`internal: no job named ${name}`);
  return job;
}

/** The role that starts a job's task: the EventBridge rule's or the Scheduler schedule's. */
export const triggerRoleOf = (job: JobConfig): 'events' | 'scheduler' =>
  job.schedule.engine === 'scheduler' ? 'scheduler' : 'events';

/** The jobs that run on EventBridge Scheduler. */
export const schedulerJobs = (config: StackConfig): JobConfig[] =>
  config.jobs.filter((j) => j.schedule.engine === 'scheduler');

/** The jobs that run on EventBridge rules. */
export const ruleJobs = (config: StackConfig): JobConfig[] => config.jobs.filter((j) => j.schedule.engine === 'rule');

/**
 * True when a job's rule or schedule sends invocations it could not deliver to the stack's dead-letter
 * queue (both engines: the rule's target has a DeadLetterConfig as the schedule's target does).
 */
export const jobUsesDeadLetterQueue = (job: JobConfig): boolean => job.schedule.deadLetterQueue;
