/**
 * The convergence engine: walks the dependency graph with bounded concurrency, running for each node
 * find -> create | diff -> update, and saving the state after every step.
 */
import { randomUUID } from 'node:crypto';
import type { StackConfig } from '../config/schema.js';
import type { AwsClients } from '../aws/clients.js';
import { buildContext } from './context.js';
import { AwsStepError, RunFailed, UserError, WaitTimeout, awsErrorCode, type Step } from './errors.js';
import { buildGraph, type Graph, type GraphNode } from './graph.js';
import type { Clock } from './clock.js';
import { realClock } from './clock.js';
import type { Reporter, ResourceAction, ResourceEvent } from './reporter.js';
import type { StateStore } from './state.js';
import type { FieldChange, ResourceKind, ResourceRecord } from './types.js';

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

export function fmt(v: unknown, sensitive?: boolean): string {
  if (sensitive) return '(sensitive)';
  if (v === undefined) return '(none)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Converge every resource of the config. Throws RunFailed (after reporting) when any step failed. */
export async function up(env: EngineEnv, opts: UpOptions = {}): Promise<RunResult> {
  const graph = buildGraph(env.config, env.kinds);
  return walk(env, graph, opts);
}

async function walk(env: EngineEnv, graph: Graph, opts: UpOptions): Promise<RunResult> {
  const clock = env.clock ?? realClock;
  const parallel = Math.max(1, opts.parallel ?? DEFAULT_PARALLEL);
  const started = clock.now();
  const runId = randomUUID();
  const records = env.state.records();
  const events: ResourceEvent[] = [];
  const failures: Error[] = [];
  const done = new Set<string>();
  const failedOrSkipped = new Set<string>();
  const running = new Set<string>();
  const waiting = new Map(graph.nodes.map((n) => [n.key, new Set(n.spec.deps)]));
  let stopping = false;

  const emit = (e: ResourceEvent) => {
    events.push(e);
    env.reporter.stepDone(e);
  };

  const runStep = async (node: GraphNode): Promise<void> => {
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

  await new Promise<void>((resolveAll) => {
    const pump = () => {
      if (!stopping) {
        for (const node of graph.nodes) {
          if (running.size >= parallel) break;
          if (done.has(node.key) || running.has(node.key) || failedOrSkipped.has(node.key)) continue;
          if (waiting.get(node.key)!.size > 0) continue;
          running.add(node.key);
          runStep(node).then(
            () => {
              running.delete(node.key);
              done.add(node.key);
              for (const d of graph.dependants.get(node.key)!) waiting.get(d)!.delete(node.key);
              pump();
            },
            (err: unknown) => {
              running.delete(node.key);
              failedOrSkipped.add(node.key);
              const e = err instanceof Error ? err : new Error(String(err));
              failures.push(e);
              emit({ key: node.key, kind: node.kind.kind, label: node.kind.label, action: 'failed', message: e.message });
              // Stop starting new steps; the ones in flight finish and are recorded.
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

  // Everything that never ran: dependants of a failure, or independent steps not started after it.
  for (const node of graph.nodes) {
    if (done.has(node.key) || failedOrSkipped.has(node.key)) continue;
    const blockedBy = [...waiting.get(node.key)!].filter((d) => failedOrSkipped.has(d));
    emit({
      key: node.key, kind: node.kind.kind, label: node.kind.label, action: 'skipped',
      message: blockedBy.length ? `needs ${blockedBy.join(', ')}` : 'not started after an earlier failure',
    });
    failedOrSkipped.add(node.key);
  }

  const counts = { created: 0, updated: 0, unchanged: 0, deleted: 0, absent: 0, failed: 0, skipped: 0 } as Record<ResourceAction, number>;
  for (const e of events) counts[e.action] += 1;
  const result: RunResult = { events, counts, wallMs: clock.now() - started, failures };
  if (failures.length) throw Object.assign(new RunFailed(failures), { result });
  return result;
}

async function converge(
  env: EngineEnv,
  node: GraphNode,
  ctx: ReturnType<typeof buildContext>,
  recorded: ResourceRecord | undefined,
  opts: UpOptions,
  clock: Clock,
): Promise<{ action: ResourceAction; record: ResourceRecord; changes?: string[] }> {
  const { kind, spec } = node;
  const desired = await kind.desired(ctx, spec);
  const found = await step(node, 'find', () => kind.find(ctx, spec, recorded));
  if (!found) {
    const record = await withIamRetry(env, node, ctx.reporter, clock, opts, () => step(node, 'create', () => kind.create(ctx, spec, desired)));
    return { action: 'created', record };
  }
  if (!found.owned) {
    throw new UserError(
      `${kind.label} ${found.record.id} (${node.key}) already exists but is not part of stack '${env.config.stack}' (no batchctl:stack tag)`,
      'batchctl never adopts resources it did not create: rename it in the config, or tag it batchctl:stack=' + env.config.stack + ' if it really is this stack\'s',
    );
  }
  const changes = kind.diff(desired, found.observed);
  if (changes.length === 0) return { action: 'unchanged', record: found.record };
  const replace = changes.filter((c) => c.replace);
  if (replace.length || !kind.update) throw new ReplacementRefused(node.key, kind.label, replace.length ? replace : changes);
  const update = kind.update.bind(kind);
  const record = await withIamRetry(env, node, ctx.reporter, clock, opts, () => step(node, 'update', () => update(ctx, spec, found, desired, changes)));
  return { action: 'updated', record: record ?? found.record, changes: changes.map((c) => c.field) };
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
