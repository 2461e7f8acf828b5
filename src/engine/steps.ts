/**
 * The one step walker. `up`'s convergence, its clean-up of what the config no longer has, and `down`'s
 * deletions all run their steps here: at most `parallel` at a time, each once its prerequisites are
 * done; after a failure no new step starts (the ones in flight finish). Every step is reported the same
 * way: started, then its own event (timed), or `failed` with the error; every step never started is
 * reported `skipped`, naming the failed steps it waited for. Imports: the engine's reporter and base.
 */
import type { Clock } from '../base/clock.js';
import type { Reporter, ResourceEvent } from './reporter.js';

/** What a scheduled walk did: which keys ran, failed, or never started (and what they waited for). */
export interface WalkOutcome {
  done: Set<string>;
  failures: { key: string; error: Error }[];
  notStarted: { key: string; blockedBy: string[] }[];
}

/**
 * Run `step` for every key once all of `prereqs(key)` are done, at most `parallel` at a time. After a
 * failure no new step starts (steps in flight finish); the keys never started are returned with what
 * blocked them. `up` walks deps first; `down` passes dependants as prerequisites to walk reversed. Reports
 * nothing: the read-only assessment walks with it; steps that report go through `runSteps`.
 */
export async function walkKeys(
  keys: string[],
  prereqs: (key: string) => string[],
  parallel: number,
  step: (key: string) => Promise<void>,
  onFailure?: (key: string, error: Error) => void,
): Promise<WalkOutcome> {
  const done = new Set<string>();
  const failed = new Set<string>();
  const running = new Set<string>();
  const failures: WalkOutcome['failures'] = [];
  const waiting = new Map(keys.map((k) => [k, new Set(prereqs(k))]));
  const dependants = new Map<string, string[]>(keys.map((k) => [k, []]));
  for (const k of keys) for (const p of waiting.get(k) ?? []) dependants.get(p)?.push(k);
  const waitsFor = (key: string) => waiting.get(key) ?? new Set<string>();
  let stopping = false;
  await new Promise<void>((resolveAll) => {
    const pump = () => {
      if (!stopping) {
        for (const key of keys) {
          if (running.size >= Math.max(1, parallel)) break;
          if (done.has(key) || running.has(key) || failed.has(key) || waitsFor(key).size > 0) continue;
          running.add(key);
          step(key).then(
            () => {
              running.delete(key);
              done.add(key);
              for (const d of dependants.get(key) ?? []) waitsFor(d).delete(key);
              pump();
            },
            (err: unknown) => {
              running.delete(key);
              failed.add(key);
              const error = err instanceof Error ? err : new Error(String(err));
              failures.push({ key, error });
              onFailure?.(key, error);
              stopping = true;
              pump();
            },
          );
        }
      }
      if (running.size === 0) resolveAll();
    };
    pump();
  });
  const notStarted = keys
    .filter((k) => !done.has(k) && !failed.has(k))
    .map((k) => ({ key: k, blockedBy: [...waitsFor(k)].filter((d) => !done.has(d)) }));
  return { done, failures, notStarted };
}

/**
 * For each step never started, the failed steps that kept it waiting, followed through the steps in
 * between (vpc failed, so the subnets never started, so neither did the endpoints: all "after vpc").
 * Empty for a step that waited for no failure: the walk simply starts nothing new once a step fails.
 */
export function failedPrerequisites(outcome: WalkOutcome): Map<string, string[]> {
  const failed = new Set(outcome.failures.map((f) => f.key));
  const blocked = new Map(outcome.notStarted.map((n) => [n.key, n.blockedBy]));
  const memo = new Map<string, string[]>();
  const causes = (key: string): string[] => {
    if (failed.has(key)) return [key];
    const known = memo.get(key);
    if (known) return known;
    memo.set(key, []); // a cycle (a bug in the order) leads back here: it adds no cause
    const out = [...new Set((blocked.get(key) ?? []).flatMap(causes))].sort();
    memo.set(key, out);
    return out;
  };
  return new Map(outcome.notStarted.map((n) => [n.key, causes(n.key)]));
}

/** What a step's events say about it besides its own outcome: its kind and label, and its id when known. */
export interface StepSubject {
  kind: string;
  label: string;
  id?: string;
}

/** A step's own event: the walker adds the key, kind, label and duration. */
export type StepEvent = Omit<ResourceEvent, 'key' | 'kind' | 'label' | 'durationMs'>;

/** A walk of reporting steps. */
export interface StepWalk {
  keys: string[];
  prereqs: (key: string) => string[];
  parallel: number;
  subject: (key: string) => StepSubject;
  /** Run one step; its event, or undefined for a step that reports nothing (only the state forgets it). */
  run: (key: string) => Promise<StepEvent | undefined>;
  /** How a step never started reads: waiting for `blockedBy` (not done), or for nothing (the walk stopped). */
  notStarted: (blockedBy: string[]) => string;
  reporter: Pick<Reporter, 'stepStarted'>;
  clock: Pick<Clock, 'now'>;
  emit: (e: ResourceEvent) => void;
}

/** The outcome of a walk of reporting steps: what was done, and every failure (none: it succeeded). */
export interface StepsOutcome {
  done: Set<string>;
  failures: Error[];
}

/**
 * Run the steps of a walk and report each: started, its event (timed), `failed` with its error, or
 * `skipped` once the walk stopped before it started. Steps that never started although nothing failed
 * (prerequisites in a cycle) are a failure too: never a silent success.
 */
export async function runSteps(w: StepWalk): Promise<StepsOutcome> {
  const report = (key: string, e: StepEvent, durationMs?: number) => {
    const s = w.subject(key);
    const id = s.id !== undefined ? { id: s.id } : {};
    w.emit({ key, kind: s.kind, label: s.label, ...id, ...e, ...(durationMs !== undefined ? { durationMs } : {}) });
  };
  const outcome = await walkKeys(
    w.keys,
    w.prereqs,
    w.parallel,
    async (key) => {
      const t0 = w.clock.now();
      w.reporter.stepStarted(key, w.subject(key).label);
      const e = await w.run(key);
      if (e) report(key, e, w.clock.now() - t0);
    },
    (key, error) => report(key, { action: 'failed', message: error.message }),
  );
  const causes = failedPrerequisites(outcome);
  for (const { key, blockedBy } of outcome.notStarted) {
    report(key, { action: 'skipped', message: w.notStarted(blockedBy), notStarted: { after: causes.get(key) ?? [] } });
  }
  const failures = outcome.failures.map((f) => f.error);
  if (!failures.length && outcome.notStarted.length) {
    const keys = outcome.notStarted.map((n) => n.key);
    failures.push(new Error(`internal: ${keys.length} steps could not be ordered (${keys.join(', ')})`));
  }
  return { done: outcome.done, failures };
}
