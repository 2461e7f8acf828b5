/**
 * A job's trigger, whichever engine runs it: the EventBridge rule or the EventBridge Scheduler
 * schedule, with how to pause and resume it (the pause mark: model/pause.ts). `pause`, `resume` and
 * `down --endpoints` reach the trigger kinds through here.
 */
import type { JobConfig } from '../config/schema.js';
import { asStepError } from '../engine/engine.js';
import type { Ctx, Found, ResourceKind } from '../engine/types.js';
import { K, jobKey } from '../model/keys.js';
import type { PauseMark, Pausable, PausableSettings } from '../model/pause.js';
import { eventsRule, rulePause } from './events-rule.js';
import { schedulePause, schedulerSchedule } from './scheduler-schedule.js';

/** A job's trigger, whichever engine runs it: the node, the kind, and how to pause it. */
export interface TriggerOf {
  key: string;
  kind: ResourceKind<PausableSettings>;
  pausable: Pausable<PausableSettings>;
  /** What people call it: `EventBridge rule sample-batch`, `schedule sample-batch/nightly`. */
  what(found: Found): string;
}

/** The trigger node of a job (its rule or its Scheduler schedule). */
export function jobTrigger(job: JobConfig): TriggerOf {
  return job.schedule.engine === 'scheduler'
    ? { key: jobKey(job, K.schedule), kind: schedulerSchedule as never, pausable: schedulePause as never, what: (f) => `EventBridge Scheduler schedule ${f.record.id}` }
    : { key: jobKey(job, K.rule), kind: eventsRule as never, pausable: rulePause as never, what: (f) => `EventBridge rule ${f.record.id}` };
}

/**
 * `down --endpoints`: pause every enabled schedule the walk found (runs would fail without the
 * endpoints) with the mark of `reason`; schedules paused already keep their mark. Returns the jobs paused.
 */
export async function pauseFound(
  ctxFor: (key: string) => Ctx, items: { job: JobConfig; found: Found<PausableSettings> }[], mark: PauseMark,
): Promise<string[]> {
  const todo = items.filter(({ found }) => found.owned && found.observed.state === 'ENABLED' && !found.observed.paused);
  await Promise.all(todo.map(async ({ job, found }) => {
    const t = jobTrigger(job);
    try {
      await t.pausable.pause(ctxFor(t.key), found, mark);
    } catch (err) {
      throw asStepError(t.key, 'update', err);
    }
  }));
  return todo.map(({ job }) => job.name);
}
