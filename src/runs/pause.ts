/**
 * `pause` and `resume`: a job's schedule disabled with a mark saying who paused it, when and why, and
 * enabled again to the config's `schedule.enabled`. The mark is on the schedule itself (a tag on the
 * rule, the end of the Scheduler schedule's description: model/pause.ts), so a lost or shared
 * state file cannot resume a paused job: every `up` reads the live schedule and keeps it disabled.
 * `down --endpoints` pauses with its own mark, which the `up` that restores the endpoints lifts.
 */
import type { JobConfig } from '../config/schema.js';
import { jobTrigger, type FoundTrigger, type TriggerOf } from '../resources/triggers.js';
import { newMark, type PauseMark } from '../model/pause.js';
import { buildContext } from '../engine/context.js';
import { asStepError } from '../engine/engine.js';
import { UserError } from '../base/errors.js';
import { jobsOf } from '../model/job-select.js';
import { openStack, type OpenStack, type StackOptions } from '../engine/stack.js';
import { describeOwner, type Ctx } from '../engine/types.js';

/** What `pause` or `resume` did to one job's schedule. */
export interface PauseResult {
  job: string;
  /** `EventBridge rule <name>` or `EventBridge Scheduler schedule <group>/<name>`. */
  schedule: string;
  /**
   * `paused` / `resumed`: changed now; `already paused` (by the user); `not paused` (resume had nothing
   * to lift and the schedule already had the config's state).
   */
  outcome: 'paused' | 'already paused' | 'resumed' | 'not paused';
  /** The mark it carries now (pause), or carried before (resume). */
  mark?: PauseMark;
  /** Whether the schedule fires now. */
  enabled: boolean;
}

/** The outcome of `pause` or `resume`. */
export interface PauseReport {
  stack: string;
  region: string;
  account: string;
  results: PauseResult[];
  /** Jobs whose schedule does not exist yet (`up` has not created it). */
  missing: string[];
}

/** Options of `pause` and `resume`. */
export interface PauseOptions extends StackOptions {
  /** One job; left out, every job of the stack. */
  job?: string;
}

/** A job's live trigger, refused when it is not this stack's; undefined when it does not exist. */
export async function findTrigger(
  stack: OpenStack,
  job: JobConfig,
  ctx: Ctx,
): Promise<{ t: TriggerOf; found?: FoundTrigger }> {
  const t = jobTrigger(job);
  let found: FoundTrigger | undefined;
  try {
    found = await t.find(ctx, stack.state.get(t.key));
    // A state record naming something not ours is only a hint: look again by name.
    if (found && !found.found.owned && stack.state.get(t.key)) found = await t.find(ctx, undefined);
  } catch (err) {
    throw asStepError(t.key, 'find', err);
  }
  if (found && !found.found.owned) {
    throw new UserError(
      `the schedule of job ${job.name}, ${found.what}, ${describeOwner(found.found)}: batchctl never touches it`,
      'give the job a schedule name of its own (schedule.name)',
    );
  }
  return { t, ...(found ? { found } : {}) };
}

/** Open the stack (with the lock: `up` must not write the schedule meanwhile) and find each job's trigger. */
async function eachTrigger(
  opts: PauseOptions,
  command: string,
  act: (stack: OpenStack, job: JobConfig, ctx: Ctx, trigger: FoundTrigger) => Promise<PauseResult>,
): Promise<PauseReport> {
  const stack = await openStack(opts, ['eventBridge', 'scheduler', 'sts'], command);
  try {
    const { config } = stack;
    const jobs = jobsOf(config, opts.job);
    const missing: string[] = [];
    const results = await Promise.all(
      jobs.map(async (job) => {
        const ctx = buildContext({
          config,
          aws: stack.aws,
          account: stack.account,
          partition: stack.partition,
          reporter: opts.reporter,
          clock: opts.clock,
          records: stack.state.records(),
        });
        const { t, found } = await findTrigger(stack, job, ctx);
        if (!found) {
          missing.push(job.name);
          return undefined;
        }
        try {
          return await act(stack, job, ctx, found);
        } catch (err) {
          throw asStepError(t.key, 'update', err);
        }
      }),
    );
    const done = results.filter((r): r is PauseResult => !!r);
    if (!done.length) {
      throw new UserError(
        `${opts.job ? `job ${opts.job}'s schedule does` : jobs.length === 1 ? 'the schedule does' : "no job's schedule does"} not exist yet`,
        'run `batchctl up` first: it creates the schedule',
      );
    }
    return { stack: config.stack, region: config.region, account: stack.account, results: done, missing };
  } finally {
    await stack.close();
  }
}

/**
 * `batchctl pause [job]`: mark each schedule paused by the caller, then disable it. A schedule the
 * user paused already is left as it is; one paused by `down --endpoints` becomes the user's (so the
 * `up` that restores the endpoints keeps it paused).
 */
export function runPause(opts: PauseOptions): Promise<PauseReport> {
  return eachTrigger(opts, 'batchctl pause', async (stack, job, ctx, t) => {
    const have = t.found.observed.paused;
    if (have?.reason === 'user' && t.found.observed.state === 'DISABLED') {
      return { job: job.name, schedule: t.what, outcome: 'already paused', mark: have, enabled: false };
    }
    const mark = have?.reason === 'user' ? have : newMark('user', stack.caller, ctx.clock.now());
    await t.pause(ctx, mark);
    return { job: job.name, schedule: t.what, outcome: 'paused', mark, enabled: false };
  });
}

/**
 * `batchctl resume [job]`: lift the mark, then give the schedule the config's state. A schedule paused
 * by `down --endpoints` resumes too (with a warning: runs fail until `up` restores the endpoints).
 */
export function runResume(opts: PauseOptions): Promise<PauseReport> {
  return eachTrigger(opts, 'batchctl resume', async (_stack, job, ctx, t) => {
    const have = t.found.observed.paused;
    const enabled = job.schedule.enabled;
    if (!have && (t.found.observed.state === 'ENABLED') === enabled) {
      return { job: job.name, schedule: t.what, outcome: 'not paused', enabled };
    }
    if (have?.reason === 'endpoints') {
      opts.reporter.warn(
        `job ${job.name} was paused by down --endpoints: its runs fail until \`batchctl up\` restores the endpoints`,
      );
    }
    await t.resume(ctx, enabled);
    return { job: job.name, schedule: t.what, outcome: 'resumed', ...(have ? { mark: have } : {}), enabled };
  });
}
