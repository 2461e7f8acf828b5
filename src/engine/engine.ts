/**
 * The convergence engine: walks the dependency graph with bounded concurrency, running for each node
 * find -> create | diff -> update, and saving the state after every step.
 */
import { randomUUID } from 'node:crypto';
import type { StackConfig } from '../config/schema.js';
import type { AwsClients } from '../aws/clients.js';
import { buildContext } from './context.js';
import { AwsStepError, MissingRecord, UserError, WaitTimeout, awsErrorCode, type Step } from '../base/errors.js';
import { ExternalMissing, NotOurs, ReplacementRefused, StepsFailed } from './errors.js';
import { buildGraph, chainHeights, deletionPrerequisites, type Graph, type GraphNode } from './graph.js';
import { runSteps, walkKeys, type StepEvent } from './steps.js';
import type { Clock } from '../base/clock.js';
import { realClock } from '../base/clock.js';
import { countActions, type Reporter, type ResourceAction, type ResourceEvent, type RunResult } from './reporter.js';
import type { StateStore } from '../state/state.js';
import {
  describeOwner,
  type Ctx,
  type FieldChange,
  type Found,
  type NodeSpec,
  type Ownership,
  type ResourceKind,
  type ResourceRecord,
} from './types.js';

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
  /** Steps in flight at once. Default DEFAULT_PARALLEL. */
  parallel?: number;
  /** How long steps refused because of IAM propagation are retried. Default 2 minutes. */
  iamRetryBudgetMs?: number;
  /**
   * Called once the whole graph is assessed, before anything is written or refused: a saved plan checks
   * there that nothing moved since it was made; `up` asks its question there. Throwing stops `up` with nothing
   * written; returning 'stop' ends it there, nothing written, with a result of no events (the user said no).
   */
  beforeFirstWrite?: (graph: Graph, assessment: GraphAssessment) => Promise<void | 'stop'>;
  /**
   * Called with a node's assessment just before it converges (a node whose dependencies changed is
   * assessed again first). Throwing fails that step: a saved plan refuses a change it did not show.
   */
  beforeStep?: (a: Assessment) => void;
}

/**
 * Steps in flight at once. Mutating calls wait for their AWS throttling bucket (aws/pacing.ts), so this
 * bound no longer protects AWS; a low one would let steps waiting for one bucket (50 task definitions at
 * one a second) hold every slot while another bucket (IAM) sits idle. High enough that every ready step
 * of a 50-job stack runs, and the buckets alone set the pace.
 */
export const DEFAULT_PARALLEL = 64;
export const IAM_RETRY_BUDGET_MS = 120_000;

/**
 * Converge every resource of the config. First the same assessment `plan` makes, over the whole graph:
 * when anything is in conflict (a resource that is not ours, a replacement) the run stops there, having
 * written nothing. Throws RunFailed (after reporting) when any step failed.
 */
export async function up(env: EngineEnv, opts: UpOptions = {}): Promise<RunResult> {
  const graph = buildGraph(env.config, env.kinds);
  return walk(env, graph, opts);
}

async function walk(env: EngineEnv, graph: Graph, opts: UpOptions): Promise<RunResult> {
  const clock = env.clock ?? realClock;
  const started = clock.now();
  const runId = randomUUID();
  const records = env.state.records();
  const previousTagKeys = env.state.tagKeys();
  const events: ResourceEvent[] = [];
  const emit = (e: ResourceEvent) => {
    events.push(e);
    env.reporter.stepDone(e);
  };
  const parallel = opts.parallel ?? DEFAULT_PARALLEL;
  const result = (failures: Error[]): RunResult => ({
    events,
    counts: countActions(events),
    wallMs: clock.now() - started,
    failures,
  });

  // 1. Assess everything before the first write: the same walk as `plan`, whose reads step 2 reuses.
  const assessment = await assessGraph(env, graph, { records, runId, parallel, clock, previousTagKeys });
  if ((await opts.beforeFirstWrite?.(graph, assessment)) === 'stop') return result([]);
  const order = new Map(graph.nodes.map((n, i) => [n.key, i]));
  const refusals = refusalsOf(assessment).sort((a, b) => order.get(a.key)! - order.get(b.key)!);
  for (const a of assessment.entries.values()) for (const note of a.notes ?? []) env.reporter.warn(`${a.key}: ${note}`);
  for (const [key, e] of assessment.errors)
    for (const note of e instanceof NotOurs ? e.notes : []) env.reporter.warn(`${key}: ${note}`);
  if (refusals.length) {
    for (const { key, error } of refusals) {
      const n = graph.byKey.get(key)!;
      emit({ key, kind: n.kind.kind, label: n.kind.label, action: 'failed', message: error.message });
    }
    env.reporter.info(
      `Nothing was changed: ${refusals.length} resource${refusals.length === 1 ? '' : 's'} cannot be converged (see below), and up stops before its first write.`,
    );
    const failures = refusals.map((r) => r.error);
    throw new StepsFailed(result(failures));
  }

  // 2. Converge, dependencies first. A node whose dependencies all stood unchanged keeps its assessment.
  // The others are judged again with their dependencies' new records, on what the assessment saw of them:
  // nothing can have changed it since (the lock keeps other runs out; a child of a resource created in
  // this run cannot exist). Only a node whose first look could not run is looked up now.
  env.state.setTagKeys([...previousTagKeys, ...Object.keys(env.config.tags)]);
  const actions = new Map<string, ResourceAction>();
  const duplicates: { key: string; kept: ResourceRecord; record: ResourceRecord }[] = [];
  const ctxFor = (key: string, createdWith?: string) =>
    buildContext({
      config: env.config,
      aws: env.aws,
      account: env.account,
      partition: env.partition,
      reporter: env.reporter,
      clock,
      runId,
      records,
      stepKey: key,
      previousTagKeys,
      assessed: assessment.assessed,
      createdWith,
      intend: async (record) => {
        env.state.put(key, record);
        await env.state.save();
      },
    });
  const runStep = async (key: string): Promise<StepEvent> => {
    const node = graph.byKey.get(key)!;
    const prior = assessment.entries.get(key);
    const seen = assessment.seen.get(key);
    const ctx = ctxFor(key, seen?.partOf);
    const settled = node.spec.deps.every((d) => actions.get(d) === 'unchanged');
    const a =
      prior && !prior.partial && settled
        ? prior
        : seen
          ? await judge(node, ctx, seen)
          : await assess(node, ctx, assessment.ignored.has(key) ? undefined : env.state.get(key), env.config.stack);
    // What only this look showed (the first could not see the node whole: its dependencies did not exist).
    if (a !== prior)
      for (const note of a.notes ?? []) if (!prior?.notes?.includes(note)) env.reporter.warn(`${key}: ${note}`);
    opts.beforeStep?.(a);
    const { action, record, changes } = await converge(env, node, ctx, a, opts, clock);
    actions.set(key, action);
    assessment.assessed.set(
      key,
      a.found && action === 'unchanged' ? a.found : { record, owned: true, observed: a.desired },
    );
    for (const d of a.found?.duplicates ?? []) duplicates.push({ key, kept: record, record: d });
    records.set(node.key, record);
    env.state.put(node.key, record);
    await env.state.save();
    // Missing when the run began, and found as the config wants it when its step looked again: AWS made it
    // with its parent, in this run. This run created it, as the plan said it would: counted so, so plan, up
    // and down count the same resources the same way.
    const reported = action === 'unchanged' && prior?.action === 'create' && !prior.found ? 'created' : action;
    return { action: reported, id: record.id, arn: record.arn, changes };
  };

  // Everything that never ran is reported: dependants of a failure, or steps not started after it.
  const height = chainHeights(graph);
  const { failures } = await runSteps({
    keys: graph.nodes.map((n) => n.key),
    prereqs: (k) => graph.byKey.get(k)!.spec.deps,
    parallel,
    subject: (k) => graph.byKey.get(k)!.kind,
    run: runStep,
    priority: (k) => height.get(k) ?? 0,
    notStarted: (blockedBy) =>
      blockedBy.length ? `needs ${blockedBy.join(', ')}` : 'not started after an earlier failure',
    reporter: env.reporter,
    clock,
    emit,
  });
  // Only once everything the config describes has converged: resources the config no longer has (an
  // endpoint removed from the list, the old trigger after a schedule engine switch) and duplicates are
  // deleted, so what replaces them always exists before they go.
  if (!failures.length) failures.push(...(await cleanUp(env, graph, records, duplicates, runId, opts, clock, emit)));
  if (!failures.length) {
    // Every resource carries the config's tags now: keys dropped earlier are gone from all of them.
    env.state.setTagKeys(Object.keys(env.config.tags));
    await env.state.save();
  }
  if (failures.length) throw new StepsFailed(result(failures));
  return result(failures);
}

/** What stops `up` before its first write: resources that are not ours, refused replacements, failed reads. */
export function refusalsOf(assessment: GraphAssessment): { key: string; error: Error }[] {
  const out: { key: string; error: Error }[] = [];
  for (const [key, a] of assessment.entries)
    if (a.action === 'replace') out.push({ key, error: new ReplacementRefused(key, a.label, a.changes) });
  for (const [key, error] of assessment.errors) out.push({ key, error });
  return out;
}

/** State records whose keys the config's graph no longer has: what `up` deletes after converging. */
export function staleRecords(graph: Graph, records: Map<string, ResourceRecord>): [string, ResourceRecord][] {
  return [...records].filter(([key]) => !graph.byKey.has(key));
}

/**
 * The node now holding the resource a stale record names, if any: a config that gives a new node the
 * same name (a job moved into `jobs:` under a new key, keeping its family and rule names) finds the
 * resource under the new key. Deleting the stale record's resource would then delete the new node's.
 */
export function heldBy(graph: Graph, live: Map<string, ResourceRecord>, record: ResourceRecord): string | undefined {
  for (const [key, r] of live) if (graph.byKey.has(key) && r.kind === record.kind && r.id === record.id) return key;
  return undefined;
}

/**
 * After converging: delete the state records the config no longer has and the duplicates found, in
 * reverse dependency order. Nothing is deleted before its own tags (or its parent's) say it is ours: a
 * stale record naming a resource that is not ours is reported and forgotten, never acted on.
 */
async function cleanUp(
  env: EngineEnv,
  graph: Graph,
  records: Map<string, ResourceRecord>,
  duplicates: { key: string; kept: ResourceRecord; record: ResourceRecord }[],
  runId: string,
  opts: UpOptions,
  clock: Clock,
  emit: (e: ResourceEvent) => void,
): Promise<Error[]> {
  const kindOf = (kind: string) => env.kinds.find((k) => k.kind === kind);
  const stale = staleRecords(graph, records).filter(([, rec]) => kindOf(rec.kind));
  // Duplicates are ordered among themselves by their nodes' dependencies (a duplicate endpoint group goes
  // before the duplicate task group its rule references); stale records, having no node, by their kinds.
  const dupKey = (d: { key: string; record: ResourceRecord }) => `${d.key}#${d.record.id}`;
  const targets = [
    ...stale.map(([key, rec]) => ({
      key,
      stateKey: key as string | undefined,
      record: rec,
      note: undefined as string | undefined,
      deps: [] as string[],
      orphan: true,
    })),
    ...duplicates.map((d) => ({
      key: dupKey(d),
      stateKey: undefined,
      record: d.record,
      note: `duplicate of ${d.kept.id} (${d.key})`,
      orphan: false,
      deps: duplicates.filter((o) => graph.byKey.get(d.key)?.spec.deps.includes(o.key)).map(dupKey),
    })),
  ].map((t) => ({ ...t, kind: t.record.kind, kindDef: kindOf(t.record.kind)! }));
  if (!targets.length) return [];
  const byKey = new Map(targets.map((t) => [t.key, t]));
  const forget = async (stateKey: string | undefined) => {
    if (!stateKey) return;
    records.delete(stateKey);
    env.state.remove(stateKey);
    await env.state.save();
  };
  const removeOne = async (key: string): Promise<StepEvent | undefined> => {
    const t = byKey.get(key)!;
    if (t.kindDef.external) {
      // Yours (a subnet dropped from network.subnetIds): only the state forgets it.
      await forget(t.stateKey);
      return undefined;
    }
    const holder = t.stateKey ? heldBy(graph, records, t.record) : undefined;
    if (holder) {
      await forget(t.stateKey);
      return { action: 'skipped', arn: t.record.arn, message: `now ${holder}'s: kept, its old record forgotten` };
    }
    const ctx = buildContext({
      config: env.config,
      aws: env.aws,
      account: env.account,
      partition: env.partition,
      reporter: env.reporter,
      clock,
      runId,
      records,
      stepKey: key,
    });
    let own: Ownership | undefined;
    try {
      own = await t.kindDef.ownerOf(ctx, t.record);
      if (own?.owned) await t.kindDef.delete(ctx, t.record);
    } catch (err) {
      throw asStepError(key, 'delete', err);
    }
    await forget(t.stateKey);
    if (!own) return { action: 'absent', arn: t.record.arn };
    if (own.owned) return { action: 'deleted', arn: t.record.arn, ...(t.note ? { message: t.note } : {}) };
    const message = `${t.record.id} is recorded in the state but ${describeOwner(own)}: not touched (forgotten from the state)`;
    env.reporter.warn(`${key}: ${message}`);
    return { action: 'skipped', arn: t.record.arn, message };
  };
  // What never started stays in the state, and says why.
  const { failures } = await runSteps({
    keys: targets.map((t) => t.key),
    prereqs: deletionPrerequisites(targets, env.kinds),
    parallel: opts.parallel ?? DEFAULT_PARALLEL,
    subject: (k) => ({ kind: byKey.get(k)!.kind, label: byKey.get(k)!.kindDef.label, id: byKey.get(k)!.record.id }),
    run: removeOne,
    notStarted: (blockedBy) =>
      blockedBy.length ? `not deleted: waits for ${blockedBy.join(', ')}` : 'not deleted after an earlier failure',
    reporter: env.reporter,
    clock,
    emit,
  });
  return failures;
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
  /**
   * The node's dependencies do not all exist yet (plan, and `up`'s first pass): it will be created, or
   * looked at again once they exist.
   */
  partial?: boolean;
  /** What the reader should know: a state record that is not ours (ignored), duplicates `up` deletes. */
  notes?: string[];
  /** The state's record for this node names a resource that is not ours: it was ignored. */
  ignoredRecord?: boolean;
  /** The user's resource (an `external` kind): read only, always `unchanged`. */
  external?: boolean;
}

/**
 * What looking a node up found, final for the run: its Found (undefined when it does not exist), with the
 * notes and the state record ignored on the way. `partOf`: not looked up, because the node it lives in does
 * not exist.
 */
export interface Seen {
  found?: Found;
  notes: string[];
  ignoredRecord: boolean;
  partOf?: string;
}

/**
 * Find a node and diff it against the config. A state record naming a resource that is not ours is
 * noted and ignored (the node is looked up by its tags or name instead). Throws NotOurs for a resource
 * that is not ours under the node's own name. With `tolerateMissingDeps` (plan, `up`'s first pass), a
 * node whose dependencies do not exist yet is reported as `create` (partial) instead of failing.
 */
export async function assess(
  node: GraphNode,
  ctx: Ctx,
  recorded: ResourceRecord | undefined,
  stack: string,
  tolerateMissingDeps = false,
): Promise<Assessment> {
  return (await assessSeeing(node, ctx, recorded, stack, tolerateMissingDeps)).assessment;
}

/**
 * `assess`, and what was seen when the look is final: undefined for the user's resources (never judged)
 * and for a node whose look could not run yet (a dependency it needs to be found by does not exist).
 * With `absentParent`, the node is not looked up: it lives in that node, which does not exist.
 */
async function assessSeeing(
  node: GraphNode,
  ctx: Ctx,
  recorded: ResourceRecord | undefined,
  stack: string,
  tolerateMissingDeps: boolean,
  absentParent?: string,
): Promise<{ assessment: Assessment; seen?: Seen }> {
  const { kind, spec } = node;
  if (kind.external) {
    // Yours: found or refused, never diffed, created or claimed (it carries no tag of ours).
    const found = await step(node, 'find', () => kind.find(ctx, spec, undefined));
    if (!found) throw new ExternalMissing(node.key, kind.label);
    return {
      assessment: {
        key: node.key,
        label: kind.label,
        kind: kind.kind,
        action: 'unchanged',
        found,
        desired: found.observed,
        changes: [],
        external: true,
      },
    };
  }
  let seen: Seen;
  try {
    seen = absentParent
      ? { notes: [], ignoredRecord: false, partOf: absentParent }
      : await look(node, ctx, recorded, stack);
  } catch (err) {
    if (tolerateMissingDeps && err instanceof AwsStepError && err.cause instanceof MissingRecord) {
      const { notes = [], ignoredRecord = false } = err as { notes?: string[]; ignoredRecord?: boolean };
      return {
        assessment: {
          key: node.key,
          label: kind.label,
          kind: kind.kind,
          action: 'create',
          changes: [],
          partial: true,
          notes,
          ignoredRecord,
        },
      };
    }
    throw err;
  }
  return { assessment: await judge(node, ctx, seen, tolerateMissingDeps), seen };
}

/** Look a node up: its find, again without the state's record when that names a resource not ours. */
async function look(node: GraphNode, ctx: Ctx, recorded: ResourceRecord | undefined, stack: string): Promise<Seen> {
  const { kind, spec } = node;
  const notes: string[] = [];
  let ignoredRecord = false;
  let found: Found | undefined;
  try {
    found = await step(node, 'find', () => kind.find(ctx, spec, recorded));
    if (found && !found.owned && recorded) {
      notes.push(`${recorded.id} is recorded in the state but ${describeOwner(found)}: not touched`);
      ignoredRecord = true;
      found = await step(node, 'find', () => kind.find(ctx, spec, undefined));
    }
  } catch (err) {
    throw Object.assign(err as object, { notes, ignoredRecord });
  }
  if (found && !found.owned) throw new NotOurs(node.key, kind.label, found, stack, notes, ignoredRecord);
  if (found?.duplicates?.length) {
    const ids = found.duplicates.map((d) => d.id).join(', ');
    notes.push(
      `${ids} ${found.duplicates.length === 1 ? 'carries' : 'carry'} this resource's tags too (a concurrent or interrupted run made ${found.duplicates.length === 1 ? 'it' : 'them'}): keeping ${found.record.id}; up deletes the duplicate${found.duplicates.length === 1 ? '' : 's'} once the stack has converged`,
    );
  }
  return { found, notes, ignoredRecord };
}

/** Diff what was seen of a node against the config (its desired settings, read through its dependencies' records). */
export async function judge(node: GraphNode, ctx: Ctx, seen: Seen, tolerateMissingDeps = false): Promise<Assessment> {
  const { kind, spec } = node;
  const { found } = seen;
  const base = { key: node.key, label: kind.label, kind: kind.kind };
  const notes = [...seen.notes];
  const more = { notes, ignoredRecord: seen.ignoredRecord };
  let desired: unknown;
  try {
    desired = await kind.desired(ctx, spec, found);
  } catch (err) {
    if (tolerateMissingDeps && err instanceof MissingRecord) {
      return found
        ? {
            ...base,
            ...more,
            action: 'update',
            found,
            partial: true,
            changes: [{ field: '(settings)', from: '(current)', to: `(known once ${err.dependency} exists)` }],
          }
        : { ...base, ...more, action: 'create', partial: true, changes: [] };
    }
    throw err;
  }
  notes.push(...(kind.notes?.(desired, found) ?? []));
  if (!found) return { ...base, ...more, action: 'create', desired, changes: [] };
  const changes = kind.diff(desired, found.observed);
  if (changes.length === 0) return { ...base, ...more, action: 'unchanged', found, desired, changes };
  const replace = changes.filter((c) => c.replace);
  if (replace.length || !kind.update)
    return {
      ...base,
      ...more,
      action: 'replace',
      found,
      desired,
      changes: replace.length ? replace : changes.map((c) => ({ ...c, replace: true })),
    };
  return { ...base, ...more, action: 'update', found, desired, changes };
}

/** What one walk of assessments found. */
export interface GraphAssessment {
  /** Per node key, its assessment (absent for the nodes in `errors`). */
  entries: Map<string, Assessment>;
  /** Nodes that could not be assessed, or that are not ours (NotOurs). */
  errors: Map<string, Error>;
  /** What was found of each node (Ctx.assessed), for untaggable children and for `up`'s second pass. */
  assessed: Map<string, Found | null>;
  /** Keys whose state record names a resource that is not ours. */
  ignored: Set<string>;
  /** What was seen of each node whose look is final, for `up`'s second pass: it judges again, never looks again. */
  seen: Map<string, Seen>;
  /** The walk's shared reads (stack-wide listings), for `down`'s orphan sweep. */
  memo: Map<string, Promise<unknown>>;
}

/**
 * Assess every node, dependencies first (a node's find may need its parents' ids). Read-only. `records`
 * (the state's) is updated with what is found live; a node found missing, or not ours, loses its record,
 * so its dependants are assessed as `create` instead of being looked up with a dead or foreign id.
 */
export async function assessGraph(
  env: Pick<EngineEnv, 'config' | 'aws' | 'account' | 'partition' | 'reporter' | 'state'>,
  graph: Graph,
  opts: {
    records: Map<string, ResourceRecord>;
    runId: string;
    parallel: number;
    clock: Clock;
    previousTagKeys: readonly string[];
  },
): Promise<GraphAssessment> {
  const out: GraphAssessment = {
    entries: new Map(),
    errors: new Map(),
    assessed: new Map(),
    ignored: new Set(),
    seen: new Map(),
    memo: new Map(),
  };
  const contextFor = (key: string) =>
    buildContext({
      config: env.config,
      aws: env.aws,
      account: env.account,
      partition: env.partition,
      reporter: env.reporter,
      clock: opts.clock,
      runId: opts.runId,
      records: opts.records,
      stepKey: key,
      previousTagKeys: opts.previousTagKeys,
      assessed: out.assessed,
      memo: out.memo,
    });
  // The reads nodes share go out together, first: the stack-wide Describe of each EC2 type, the account's
  // roles, the settings of recorded parents. Each node's find then takes its answer from the walk's memo.
  const byKind = new Map<ResourceKind, NodeSpec[]>();
  for (const n of graph.nodes) byKind.set(n.kind, [...(byKind.get(n.kind) ?? []), n.spec]);
  for (const [kind, specs] of byKind) {
    try {
      kind.prefetch?.(contextFor(''), specs);
    } catch {
      // A read that cannot even start is the find's to report.
    }
  }
  // A node whose container was found missing (or was not looked up itself) cannot exist either.
  const absent = (key: string) => out.entries.get(key)?.action === 'create';
  await walkKeys(
    graph.nodes.map((n) => n.key),
    (k) => graph.byKey.get(k)!.spec.deps,
    opts.parallel,
    async (key) => {
      const node = graph.byKey.get(key)!;
      const ctx = contextFor(key);
      try {
        const parent = node.spec.partOf?.find(absent);
        const { assessment: a, seen } = await assessSeeing(
          node,
          ctx,
          env.state.get(key),
          env.config.stack,
          true,
          parent,
        );
        if (seen) out.seen.set(key, seen);
        if (a.ignoredRecord) out.ignored.add(key);
        if (a.found) opts.records.set(key, a.found.record);
        else opts.records.delete(key);
        if (!a.partial) out.assessed.set(key, a.found ?? null);
        out.entries.set(key, a);
      } catch (err) {
        opts.records.delete(key);
        if (err instanceof NotOurs) out.assessed.set(key, err.found);
        if (err instanceof NotOurs && err.ignoredRecord) out.ignored.add(key);
        out.errors.set(key, err instanceof Error ? err : new Error(String(err)));
      }
    },
  );
  return out;
}

async function converge(
  env: EngineEnv,
  node: GraphNode,
  ctx: Ctx,
  a: Assessment,
  opts: UpOptions,
  clock: Clock,
): Promise<{ action: ResourceAction; record: ResourceRecord; changes?: string[] }> {
  const { kind, spec } = node;
  switch (a.action) {
    case 'unchanged':
      return { action: 'unchanged', record: a.found!.record };
    case 'replace':
      throw new ReplacementRefused(node.key, kind.label, a.changes);
    case 'create': {
      const record = await withIamRetry(env, node, ctx.reporter, clock, opts, () =>
        step(node, 'create', () => kind.create(ctx, spec, a.desired)),
      );
      return { action: 'created', record };
    }
    case 'update': {
      const update = kind.update!.bind(kind);
      const found = a.found!;
      const record = await withIamRetry(env, node, ctx.reporter, clock, opts, () =>
        step(node, 'update', () => update(ctx, spec, found, a.desired, a.changes)),
      );
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
async function withIamRetry<T>(
  env: EngineEnv,
  node: GraphNode,
  reporter: Reporter,
  clock: Clock,
  opts: UpOptions,
  fn: () => Promise<T>,
): Promise<T> {
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
        `waiting for IAM role ${hit.role ?? ''} to propagate (attempt ${attempt}, ${Math.round(elapsed / 1000)} s of ${Math.round(budget / 1000)} s)`.replace(
          'role  to',
          'role to',
        ),
      );
      await clock.sleep(delay);
      delay = Math.min(delay * 2, 10_000);
    }
  }
}
