/**
 * `plan`: what `up` would do, from the state and live AWS, with no mutating call. It runs the same
 * `assess` as `up` over the same graph, so what it shows is what `up` does. `down` and `status` use the
 * same walk to discover what exists.
 */
import { randomUUID } from 'node:crypto';
import { buildContext } from './context.js';
import { assess, DEFAULT_PARALLEL, staleRecords, walkKeys, type Assessment, type EngineEnv } from './engine.js';
import { buildGraph, type Graph } from './graph.js';
import { realClock } from './clock.js';
import type { ResourceRecord } from './types.js';

/** One node of a plan: the assessment, or the error that stopped it (e.g. a same-named resource not ours). */
export interface PlanEntry extends Partial<Omit<Assessment, 'action'>> {
  key: string;
  label: string;
  kind: string;
  /** `delete`: in the state but no longer in the config; `up` deletes it after converging the rest. */
  action: Assessment['action'] | 'error' | 'delete';
  /** The live resource's record, when it exists. */
  record?: ResourceRecord;
  error?: Error;
}

/** A whole plan, in dependency order. */
export interface Plan {
  graph: Graph;
  entries: PlanEntry[];
  /** Counts per action. */
  counts: Record<PlanEntry['action'], number>;
  /** True when `up` would change something (or cannot: replacements and errors count). */
  pending: boolean;
}

/** Everything `plan` needs: the engine's environment without the reporter's step events. */
export type PlanEnv = Omit<EngineEnv, 'iamPropagation'>;

/**
 * Assess every node, dependencies first (a node's find may need its parents' ids). Read-only: only
 * find (Describe/Get/List) calls are made. Never throws for one node; its error is in its entry.
 */
export async function planStack(env: PlanEnv, opts: { parallel?: number } = {}): Promise<Plan> {
  const graph = buildGraph(env.config, env.kinds);
  // Working records: the state's, replaced by what is found live; a node found missing loses its record,
  // so its dependants are planned as `create` instead of being looked up with a dead id.
  const records = env.state.records();
  const entries = new Map<string, PlanEntry>();
  const runId = randomUUID();
  await walkKeys(
    graph.nodes.map((n) => n.key),
    (k) => graph.byKey.get(k)!.spec.deps,
    opts.parallel ?? DEFAULT_PARALLEL,
    async (key) => {
      const node = graph.byKey.get(key)!;
      const ctx = buildContext({
        config: env.config, aws: env.aws, account: env.account, partition: env.partition,
        reporter: env.reporter, clock: env.clock ?? realClock, runId, records, stepKey: key,
      });
      const base = { key, label: node.kind.label, kind: node.kind.kind };
      try {
        const a = await assess(node, ctx, env.state.get(key), env.config.stack, true);
        if (a.found) records.set(key, a.found.record);
        else records.delete(key);
        entries.set(key, { ...a, record: a.found?.record });
      } catch (err) {
        records.delete(key);
        entries.set(key, { ...base, action: 'error', error: err instanceof Error ? err : new Error(String(err)), changes: [] });
      }
    },
  );
  const ordered: PlanEntry[] = graph.nodes.map((n) => entries.get(n.key)!);
  for (const [key, record] of staleRecords(graph, env.state.records())) {
    const kind = env.kinds.find((k) => k.kind === record.kind);
    if (kind) ordered.push({ key, label: kind.label, kind: kind.kind, action: 'delete', record, changes: [] });
  }
  const counts = { create: 0, update: 0, unchanged: 0, replace: 0, error: 0, delete: 0 };
  for (const e of ordered) counts[e.action] += 1;
  return { graph, entries: ordered, counts, pending: ordered.some((e) => e.action !== 'unchanged') };
}

/** A plan with the stack's identity, as the `plan` command reports it. */
export interface PlanReport extends Plan {
  stack: string;
  region: string;
  account: string;
}

/** `batchctl plan`: open the stack (no lock: read-only) and plan it. */
export async function runPlan(opts: import('./stack.js').StackOptions & { parallel?: number }): Promise<PlanReport> {
  const [{ openStack }, { RESOURCE_KINDS }, { ALL_SERVICES }] = await Promise.all([
    import('./stack.js'), import('../resources/index.js'), import('../aws/clients.js'),
  ]);
  const stack = await openStack(opts, ALL_SERVICES);
  try {
    // What `up` would refuse before writing, `plan` refuses too: a plan that `up` cannot apply is no plan.
    const { preflight } = await import('./preflight.js');
    await preflight({ config: stack.config, aws: stack.aws, account: stack.account, partition: stack.partition, configPath: opts.configPath });
    const plan = await planStack(
      { config: stack.config, aws: stack.aws, account: stack.account, partition: stack.partition, reporter: opts.reporter, state: stack.state, clock: opts.clock, kinds: RESOURCE_KINDS },
      { parallel: opts.parallel },
    );
    return { ...plan, stack: stack.config.stack, region: stack.config.region, account: stack.account };
  } finally {
    await stack.close();
  }
}
