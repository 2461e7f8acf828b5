/**
 * `plan`: what `up` would do, from the state and live AWS, with no mutating call. It runs the same
 * `assess` as `up` over the same graph, so what it shows is what `up` does. `down` and `status` use the
 * same walk to discover what exists.
 */
import { randomUUID } from 'node:crypto';
import {
  assessGraph,
  DEFAULT_PARALLEL,
  heldBy,
  staleRecords,
  type Assessment,
  type EngineEnv,
  type GraphAssessment,
} from './engine.js';
import { NotOurs } from './errors.js';
import { buildGraph, subgraph, type Graph, type GraphNode } from './graph.js';
import { realClock } from '../base/clock.js';
import { buildContext } from './context.js';
import { describeOwner, type Ownership, type ResourceRecord } from './types.js';
import type { OpenStack } from './stack.js';
import type { StackConfig } from '../config/schema.js';

/** One node of a plan: the assessment, or the error that stopped it (e.g. a same-named resource not ours). */
export interface PlanEntry extends Partial<Omit<Assessment, 'action'>> {
  key: string;
  label: string;
  kind: string;
  /**
   * `delete`: in the state but no longer in the config; `up` deletes it after converging the rest.
   * `forget`: such a record names a resource that is gone, or is not ours: `up` drops the record and
   * touches nothing.
   */
  action: Assessment['action'] | 'error' | 'delete' | 'forget';
  /** The live resource's record, when it exists. */
  record?: ResourceRecord;
  error?: Error;
  /** The resource exists and is not ours (the error is a NotOurs): `up` refuses, `down` keeps it. */
  conflict?: boolean;
  /** `delete` and `forget`: whose the recorded resource is, read live; null when it no longer exists. */
  recordOwner?: Ownership | null;
}

/** A whole plan, in dependency order. */
export interface Plan {
  graph: Graph;
  entries: PlanEntry[];
  /** Counts per action. */
  counts: Record<PlanEntry['action'], number>;
  /** True when `up` would change something (or cannot: replacements and errors count). */
  pending: boolean;
  /**
   * What makes `up` refuse before its first write: resources that are not ours and replacements. `plan`
   * exits 2 exactly when this is not empty.
   */
  conflicts: PlanEntry[];
  /** The walk itself (what was found, shared reads), for `down` and `status`. */
  walk: GraphAssessment;
}

/** Everything `plan` needs: the engine's environment without the reporter's step events. */
export type PlanEnv = Omit<EngineEnv, 'iamPropagation'>;

/**
 * Assess every node, dependencies first (a node's find may need its parents' ids). Read-only: only
 * find (Describe/Get/List) calls are made. Never throws for one node; its error is in its entry.
 */
export async function planStack(
  env: PlanEnv,
  opts: { parallel?: number; select?: (n: GraphNode) => boolean } = {},
): Promise<Plan> {
  const full = buildGraph(env.config, env.kinds);
  // A selection (status: the shared resources) keeps the nodes it names; they must not need the others.
  const graph = opts.select ? subgraph(full, opts.select) : full;
  const walk = await assessGraph(env, graph, {
    records: env.state.records(),
    runId: randomUUID(),
    parallel: opts.parallel ?? DEFAULT_PARALLEL,
    clock: env.clock ?? realClock,
    previousTagKeys: env.state.tagKeys(),
  });
  return planOf(env, graph, walk, full);
}

/**
 * The plan an assessment of the graph makes: its entries in dependency order, then the state records
 * the config no longer has, each checked live. `up` with a saved plan builds it from its own assessment
 * to compare with the plan's.
 */
export async function planOf(
  env: Pick<PlanEnv, 'config' | 'aws' | 'account' | 'partition' | 'reporter' | 'state' | 'kinds'>,
  graph: Graph,
  walk: GraphAssessment,
  /**
   * The config's whole graph, when `graph` is a selection of it: records of nodes outside the selection are not stale.
   */
  full: Graph = graph,
): Promise<Plan> {
  const ordered: PlanEntry[] = graph.nodes.map((n) => {
    const a = walk.entries.get(n.key);
    if (a) return { ...a, record: a.found?.record };
    const error = walk.errors.get(n.key)!;
    const notes = error instanceof NotOurs ? error.notes : [];
    return {
      key: n.key,
      label: n.kind.label,
      kind: n.kind.kind,
      action: 'error',
      error,
      changes: [],
      ...(notes.length ? { notes } : {}),
      ...(error instanceof NotOurs ? { conflict: true, record: error.found.record } : {}),
    };
  });
  // Stale records are checked like everything else: nothing is deleted before its tags say it is ours.
  const stale = await Promise.all(
    staleRecords(full, env.state.records()).map(async ([key, record]): Promise<PlanEntry | undefined> => {
      const kind = env.kinds.find((k) => k.kind === record.kind);
      if (!kind) return undefined;
      const base = { key, label: kind.label, kind: kind.kind, record, changes: [] };
      if (kind.external)
        return {
          ...base,
          action: 'forget',
          external: true,
          notes: [`${record.id} is yours and no longer in the config: batchctl never touched it`],
        };
      const live = new Map(
        graph.nodes.flatMap((n) => {
          const r = walk.entries.get(n.key)?.found?.record;
          return r ? [[n.key, r] as const] : [];
        }),
      );
      const holder = heldBy(graph, live, record);
      if (holder)
        return {
          ...base,
          action: 'forget',
          notes: [`${record.id} is now ${holder}'s: kept, the old record forgotten`],
        };
      const ctx = buildContext({
        config: env.config,
        aws: env.aws,
        account: env.account,
        partition: env.partition,
        reporter: env.reporter,
        stepKey: key,
        memo: walk.memo,
      });
      try {
        const own = await kind.ownerOf(ctx, record);
        const recordOwner = own ? { owned: own.owned, ...(own.owned ? {} : { owner: own.owner ?? null }) } : null;
        if (own?.owned) return { ...base, action: 'delete', recordOwner };
        return {
          ...base,
          action: 'forget',
          recordOwner,
          notes: [
            own
              ? `${record.id} is recorded in the state but ${describeOwner(own)}: not touched`
              : `${record.id} no longer exists`,
          ],
        };
      } catch (err) {
        return { ...base, action: 'error', error: err instanceof Error ? err : new Error(String(err)) };
      }
    }),
  );
  ordered.push(...stale.filter((e): e is PlanEntry => !!e));
  const counts = { create: 0, update: 0, unchanged: 0, replace: 0, error: 0, delete: 0, forget: 0 };
  for (const e of ordered) counts[e.action] += 1;
  const conflicts = ordered.filter((e) => e.conflict || e.action === 'replace');
  const pending = ordered.some((e) => e.action !== 'unchanged' || !!e.found?.duplicates?.length);
  return { graph, entries: ordered, counts, pending, conflicts, walk };
}

/** What a plan is made from besides the live resources: the config, the state version read, the preflight. */
export function basisOf(
  stack: Pick<OpenStack, 'config' | 'account' | 'partition' | 'state'>,
  preflight: PreflightAnswers,
): PlanBasis {
  return {
    config: stack.config,
    account: stack.account,
    partition: stack.partition,
    preflight,
    state: {
      backend: stack.state.backend.kind,
      location: stack.state.path,
      version: stack.state.storedVersion ?? null,
    },
  };
}

/**
 * What `up` builds on from its preflight (stack/preflight.ts), which a saved plan pins: the endpoint
 * services the config needs, as AWS named them.
 */
export interface PreflightAnswers {
  services: { type: string; short: string; name: string }[];
}

/** What a plan was made from, besides the live resources. */
export interface PlanBasis {
  config: StackConfig;
  account: string;
  partition: string;
  /** The state the plan read: where, and its version (S3 ETag or the file's hash; null: none stored). */
  state: { backend: 'local' | 's3'; location: string; version: string | null };
  preflight: PreflightAnswers;
}
