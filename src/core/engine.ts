/**
 * The convergence engine: walks the dependency graph with bounded concurrency, running for each node
 * find -> create | diff -> update, and saving the state after every step.
 */
import { randomUUID } from 'node:crypto';
import type { StackConfig } from '../config/schema.js';
import type { AwsClients } from '../aws/clients.js';
import { buildContext } from './context.js';
import { fmt } from './format.js';
import { AwsStepError, MissingRecord, RunFailed, UserError, WaitTimeout, awsErrorCode, type Step } from './errors.js';
import { buildGraph, deletionPrerequisites, type Graph, type GraphNode } from './graph.js';
import type { Clock } from './clock.js';
import { realClock } from './clock.js';
import type { Reporter, ResourceAction, ResourceEvent } from './reporter.js';
import type { StateStore } from './state.js';
import type { Ctx, FieldChange, Found, ResourceKind, ResourceRecord } from './types.js';

/** Everything a run needs besides its options. */
export interface EngineEnv {
  config: StackConfig;
  aws: AwsClients;
  account: string;
  partition: string;
  reporter: Reporter;
  state: StateStore;
  clock?: Clock;
  kinds: readonly ResourceKind[];
  /** Recognises "IAM has not propagated yet" errors, naming the role when it can. */
  iamPropagation?: (err: unknown) => { role?: string } | undefined;
}

/** Options of `up`. */
export interface UpOptions {
  /** Steps in flight at once. Default 8. */
  parallel?: number;
  /** How long steps refused because of IAM propagation are retried. Default 2 minutes. */
  iamRetryBudgetMs?: number;
}

/** The outcome of one run. */
export interface RunResult {
  events: ResourceEvent[];
  counts: Record<ResourceAction, number>;
  wallMs: number;
  /** Empty when the run succeeded. */
  failures: Error[];
}

export const DEFAULT_PARALLEL = 8;
export const IAM_RETRY_BUDGET_MS = 120_000;

/** A change `up` will not make: it needs the resource replaced. */
export class ReplacementRefused extends UserError {
  constructor(readonly key: string, readonly label: string, readonly changes: FieldChange[]) {
    super(
      `${label} ${key} would have to be replaced to change ${changes.map((c) => `${c.field} (${fmt(c.from, c.sensitive)} -> ${fmt(c.to, c.sensitive)})`).join(', ')}`,
      'batchctl never replaces a resource silently: revert the setting, or remove the resource (batchctl down) and run up again',
    );
  }
}


/** Converge every resource of the config. Throws RunFailed (after reporting) when any step failed. */
export async function up(env: EngineEnv, opts: UpOptions = {}): Promise<RunResult> {
  const graph = buildGraph(env.config, env.kinds);
  return walk(env, graph, opts);
}

/** The outcome of a scheduled walk: which keys ran, failed, or never started (and what blocked them). */
export interface WalkOutcome {
  done: Set<string>;
  failures: { key: string; error: Error }[];
  notStarted: { key: string; blockedBy: string[] }[];
}

/**
 * Run `step` for every key once all of `prereqs(key)` are done, at most `parallel` at a time. After a
 * failure no new step starts (steps in flight finish); the keys never started are returned with what
 * blocked them. `up` walks deps first; `down` passes dependants as prerequisites to walk reversed.
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
  for (const k of keys) for (const p of waiting.get(k)!) dependants.get(p)?.push(k);
  let stopping = false;
  await new Promise<void>((resolveAll) => {
    const pump = () => {
      if (!stopping) {
        for (const key of keys) {
          if (running.size >= Math.max(1, parallel)) break;
          if (done.has(key) || running.has(key) || failed.has(key) || waiting.get(key)!.size > 0) continue;
          running.add(key);
          step(key).then(
            () => {
              running.delete(key);
              done.add(key);
              for (const d of dependants.get(key)!) waiting.get(d)!.delete(key);
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
    .map((k) => ({ key: k, blockedBy: [...waiting.get(k)!].filter((d) => !done.has(d)) }));
  return { done, failures, notStarted };
}

async function walk(env: EngineEnv, graph: Graph, opts: UpOptions): Promise<RunResult> {
  const clock = env.clock ?? realClock;
  const started = clock.now();
  const runId = randomUUID();
  const records = env.state.records();
  const events: ResourceEvent[] = [];
  const emit = (e: ResourceEvent) => {
    events.push(e);
    env.reporter.stepDone(e);
  };

  const runStep = async (key: string): Promise<void> => {
    const node = graph.byKey.get(key)!;
    const t0 = clock.now();
    env.reporter.stepStarted(node.key, node.kind.label);
    const ctx = buildContext({
      config: env.config, aws: env.aws, account: env.account, partition: env.partition,
      reporter: env.reporter, clock, runId, records, stepKey: node.key,
    });
    const { action, record, changes } = await converge(env, node, ctx, env.state.get(node.key), opts, clock);
    records.set(node.key, record);
    env.state.put(node.key, record);
    await env.state.save();
    emit({
      key: node.key, kind: node.kind.kind, label: node.kind.label, action,
      id: record.id, arn: record.arn, changes, durationMs: clock.now() - t0,
    });
  };

  const outcome = await walkKeys(
    graph.nodes.map((n) => n.key),
    (k) => graph.byKey.get(k)!.spec.deps,
    opts.parallel ?? DEFAULT_PARALLEL,
    runStep,
    (key, error) => {
      const node = graph.byKey.get(key)!;
      emit({ key, kind: node.kind.kind, label: node.kind.label, action: 'failed', message: error.message });
    },
  );
  // Everything that never ran: dependants of a failure, or independent steps not started after it.
  for (const { key, blockedBy } of outcome.notStarted) {
    const node = graph.byKey.get(key)!;
    emit({
      key, kind: node.kind.kind, label: node.kind.label, action: 'skipped',
      message: blockedBy.length ? `needs ${blockedBy.join(', ')}` : 'not started after an earlier failure',
    });
  }
  const failures = outcome.failures.map((f) => f.error);
  // Only once everything the config describes has converged: resources the config no longer has (an
  // endpoint removed from the list, the old trigger after a schedule engine switch) are deleted, so the
  // replacement always exists before what it replaces goes.
  if (!failures.length) failures.push(...(await prune(env, graph, records, runId, opts, clock, emit)));
  const result: RunResult = { events, counts: countActions(events), wallMs: clock.now() - started, failures };
  if (failures.length) throw Object.assign(new RunFailed(failures), { result });
  return result;
}

/** State records whose keys the config's graph no longer has: what `up` deletes after converging. */
export function staleRecords(graph: Graph, records: Map<string, ResourceRecord>): [string, ResourceRecord][] {
  return [...records].filter(([key]) => !graph.byKey.has(key));
}

async function prune(
  env: EngineEnv, graph: Graph, records: Map<string, ResourceRecord>, runId: string, opts: UpOptions, clock: Clock,
  emit: (e: ResourceEvent) => void,
): Promise<Error[]> {
  const stale = staleRecords(graph, records).filter(([, rec]) => env.kinds.some((k) => k.kind === rec.kind));
  if (!stale.length) return [];
  const targets = stale.map(([key, rec]) => ({ key, kind: rec.kind, deps: [], orphan: true, record: rec, kindDef: env.kinds.find((k) => k.kind === rec.kind)! }));
  const byKey = new Map(targets.map((t) => [t.key, t]));
  const outcome = await walkKeys(
    targets.map((t) => t.key),
    deletionPrerequisites(targets, env.kinds),
    opts.parallel ?? DEFAULT_PARALLEL,
    async (key) => {
      const t = byKey.get(key)!;
      const t0 = clock.now();
      env.reporter.stepStarted(key, t.kindDef.label);
      const ctx = buildContext({
        config: env.config, aws: env.aws, account: env.account, partition: env.partition,
        reporter: env.reporter, clock, runId, records, stepKey: key,
      });
      try {
        await t.kindDef.delete(ctx, t.record);
      } catch (err) {
        throw asStepError(key, 'delete', err);
      }
      records.delete(key);
      env.state.remove(key);
      await env.state.save();
      emit({ key, kind: t.kind, label: t.kindDef.label, action: 'deleted', id: t.record.id, arn: t.record.arn, durationMs: clock.now() - t0 });
    },
    (key, error) => {
      const t = byKey.get(key)!;
      emit({ key, kind: t.kind, label: t.kindDef.label, action: 'failed', id: t.record.id, message: error.message });
    },
  );
  return outcome.failures.map((f) => f.error);
}

export function countActions(events: ResourceEvent[]): Record<ResourceAction, number> {
  const counts = { created: 0, updated: 0, unchanged: 0, deleted: 0, absent: 0, failed: 0, skipped: 0 } as Record<ResourceAction, number>;
  for (const e of events) counts[e.action] += 1;
  return counts;
}

/** What `plan` and `up` both compute for a node: the one diff, so `plan` shows what `up` does. */
export interface Assessment {
  key: string;
  label: string;
  kind: string;
  /** `replace`: the change needs a new resource, which `up` refuses. */
  action: 'create' | 'update' | 'unchanged' | 'replace';
  found?: Found;
  desired?: unknown;
  changes: FieldChange[];
}

/**
 * Find a node and diff it against the config. Throws a UserError for a same-named resource that is not
 * ours. With `tolerateMissingDeps` (plan), a node whose dependencies do not exist yet is reported as
 * `create` instead of failing on their missing records.
 */
export async function assess(
  node: GraphNode,
  ctx: Ctx,
  recorded: ResourceRecord | undefined,
  stack: string,
  tolerateMissingDeps = false,
): Promise<Assessment> {
  const { kind, spec } = node;
  const base = { key: node.key, label: kind.label, kind: kind.kind };
  let found: Found | undefined;
  try {
    found = await step(node, 'find', () => kind.find(ctx, spec, recorded));
  } catch (err) {
    if (tolerateMissingDeps && err instanceof AwsStepError && err.cause instanceof MissingRecord) return { ...base, action: 'create', changes: [] };
    throw err;
  }
  if (found && !found.owned) {
    throw new UserError(
      `${kind.label} ${found.record.id} (${node.key}) already exists but is not part of stack '${stack}' (no batchctl:stack tag)`,
      'batchctl never adopts resources it did not create: rename it in the config, or tag it batchctl:stack=' + stack + ' if it really is this stack\'s',
    );
  }
  let desired: unknown;
  try {
    desired = await kind.desired(ctx, spec);
  } catch (err) {
    if (tolerateMissingDeps && err instanceof MissingRecord) {
      return found ? { ...base, action: 'update', found, changes: [{ field: '(settings)', from: '(current)', to: `(known once ${err.dependency} exists)` }] } : { ...base, action: 'create', changes: [] };
    }
    throw err;
  }
  if (!found) return { ...base, action: 'create', desired, changes: [] };
  const changes = kind.diff(desired, found.observed);
  if (changes.length === 0) return { ...base, action: 'unchanged', found, desired, changes };
  const replace = changes.filter((c) => c.replace);
  if (replace.length || !kind.update) return { ...base, action: 'replace', found, desired, changes: replace.length ? replace : changes.map((c) => ({ ...c, replace: true })) };
  return { ...base, action: 'update', found, desired, changes };
}

async function converge(
  env: EngineEnv,
  node: GraphNode,
  ctx: Ctx,
  recorded: ResourceRecord | undefined,
  opts: UpOptions,
  clock: Clock,
): Promise<{ action: ResourceAction; record: ResourceRecord; changes?: string[] }> {
  const { kind, spec } = node;
  const a = await assess(node, ctx, recorded, env.config.stack);
  switch (a.action) {
    case 'unchanged':
      return { action: 'unchanged', record: a.found!.record };
    case 'replace':
      throw new ReplacementRefused(node.key, kind.label, a.changes);
    case 'create': {
      const record = await withIamRetry(env, node, ctx.reporter, clock, opts, () => step(node, 'create', () => kind.create(ctx, spec, a.desired)));
      return { action: 'created', record };
    }
    case 'update': {
      const update = kind.update!.bind(kind);
      const found = a.found!;
      const record = await withIamRetry(env, node, ctx.reporter, clock, opts, () => step(node, 'update', () => update(ctx, spec, found, a.desired, a.changes)));
      return { action: 'updated', record: record ?? found.record, changes: a.changes.map((c) => c.field) };
    }
  }
}

/** Run one AWS step; turn SDK errors into AwsStepError naming the resource, the step and the code. */
async function step<T>(node: GraphNode, name: Step, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asStepError(node.key, name, err);
  }
}

export function asStepError(resource: string, name: Step, err: unknown): Error {
  if (err instanceof UserError || err instanceof AwsStepError) return err;
  if (err instanceof WaitTimeout) return new AwsStepError(resource, 'wait', 'Timeout', err.message, err);
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return new AwsStepError(resource, name, code, message, err);
}

/**
 * IAM is eventually consistent: for seconds after CreateRole, other services may refuse the role
 * ("cannot be assumed", "Role is not valid"). Those refusals are retried with backoff within a budget.
 */
async function withIamRetry<T>(env: EngineEnv, node: GraphNode, reporter: Reporter, clock: Clock, opts: UpOptions, fn: () => Promise<T>): Promise<T> {
  const budget = opts.iamRetryBudgetMs ?? IAM_RETRY_BUDGET_MS;
  const start = clock.now();
  let delay = 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const cause = err instanceof AwsStepError ? err.cause : err;
      const hit = env.iamPropagation?.(cause);
      const elapsed = clock.now() - start;
      if (!hit || elapsed + delay > budget) throw err;
      reporter.stepProgress(
        node.key,
        `waiting for IAM role ${hit.role ?? ''} to propagate (attempt ${attempt}, ${Math.round(elapsed / 1000)} s of ${Math.round(budget / 1000)} s)`.replace('role  to', 'role to'),
      );
      await clock.sleep(delay);
      delay = Math.min(delay * 2, 10_000);
    }
  }
}
