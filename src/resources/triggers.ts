/**
 * A job's trigger, whichever engine runs it: the EventBridge rule or the EventBridge Scheduler
 * schedule, with how to pause and resume it (the pause mark: model/pause.ts). `pause`, `resume` and
 * `down --endpoints` reach the trigger kinds through here, never the kinds themselves.
 *
 * Each engine's kind observes its own settings (a rule's, a schedule's); pausing writes them back whole.
 * A trigger found here is bound to its own kind's pause and resume, so the settings one kind observed only
 * ever go back to that kind: the choice of engine is typed, not cast.
 */
import type { JobConfig } from '../config/schema.js';
import { asStepError } from '../engine/engine.js';
import type { Ctx, Found, NodeSpec, ResourceKind, ResourceRecord } from '../engine/types.js';
import type { JobParams } from '../model/jobs.js';
import { K, jobKey } from '../model/keys.js';
import type { PauseMark, Pausable, PausableSettings } from '../model/pause.js';
import { eventsRule, rulePause, type RuleDesired } from './events-rule.js';
import { schedulePause, schedulerSchedule, type ScheduleDesired } from './scheduler-schedule.js';

/** A job's trigger as it is live, bound to the pause and resume of the kind that found it. */
export interface FoundTrigger {
  found: Found<PausableSettings>;
  /** What people call it: `EventBridge rule sample-batch`, `EventBridge Scheduler schedule sample-batch/nightly`. */
  what: string;
  /** Record the mark on the trigger, then disable it. */
  pause(ctx: Ctx, mark: PauseMark): Promise<void>;
  /** Lift the mark, then give the trigger the config's state. */
  resume(ctx: Ctx, enabled: boolean): Promise<void>;
}

/** A job's trigger node, whichever engine runs it. */
export interface TriggerOf {
  key: string;
  /** Look it up as its kind does (the record first); undefined when it does not exist. */
  find(ctx: Ctx, recorded: ResourceRecord | undefined): Promise<FoundTrigger | undefined>;
  /**
   * A Found this trigger's node had in a walk of the graph (`plan`'s, `down`'s), bound like one `find`
   * returns. The walk keeps every node's Found in one map, so the kind's own settings type is not carried
   * there: the node's key says whose it is.
   */
  bind(found: Found): FoundTrigger;
}

/** One engine's trigger: its kind, how it pauses, what people call it. */
interface TriggerKind<D extends PausableSettings> {
  kind: ResourceKind<D, JobParams>;
  pausable: Pausable<D>;
  noun: string;
}

const RULE: TriggerKind<RuleDesired> = { kind: eventsRule, pausable: rulePause, noun: 'EventBridge rule' };
const SCHEDULE: TriggerKind<ScheduleDesired> = {
  kind: schedulerSchedule,
  pausable: schedulePause,
  noun: 'EventBridge Scheduler schedule',
};

function trigger<D extends PausableSettings>(key: string, node: NodeSpec<JobParams>, t: TriggerKind<D>): TriggerOf {
  const bound = (found: Found<D>): FoundTrigger => ({
    found,
    what: `${t.noun} ${found.record.id}`,
    pause: (ctx, mark) => t.pausable.pause(ctx, found, mark),
    resume: (ctx, enabled) => t.pausable.resume(ctx, found, enabled),
  });
  return {
    key,
    async find(ctx, recorded) {
      const found = await t.kind.find(ctx, node, recorded);
      return found && bound(found);
    },
    // The one place the walk's Found meets its kind's type again: the node under `key` is this kind's.
    bind: (found) => bound(found as Found<D>),
  };
}

/** The trigger node of a job (its rule or its Scheduler schedule). */
export function jobTrigger(job: JobConfig): TriggerOf {
  const key = jobKey(job, job.schedule.engine === 'scheduler' ? K.schedule : K.rule);
  const node: NodeSpec<JobParams> = { key, deps: [], params: { job: job.name } };
  return job.schedule.engine === 'scheduler' ? trigger(key, node, SCHEDULE) : trigger(key, node, RULE);
}

/** True when the trigger fires now: ours, enabled, not paused. */
export const fires = (t: FoundTrigger): boolean =>
  t.found.owned && t.found.observed.state === 'ENABLED' && !t.found.observed.paused;

/**
 * `down --endpoints`: pause every trigger that fires now (runs would fail without the endpoints) with
 * `mark`; triggers paused already keep their mark. Returns the jobs paused.
 */
export async function pauseFound(
  ctxFor: (key: string) => Ctx,
  items: { job: JobConfig; trigger: FoundTrigger }[],
  mark: PauseMark,
): Promise<string[]> {
  const todo = items.filter(({ trigger: t }) => fires(t));
  await Promise.all(
    todo.map(async ({ job, trigger: t }) => {
      const { key } = jobTrigger(job);
      try {
        await t.pause(ctxFor(key), mark);
      } catch (err) {
        throw asStepError(key, 'update', err);
      }
    }),
  );
  return todo.map(({ job }) => job.name);
}
