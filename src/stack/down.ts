/**
 * `down`: delete the stack's resources in reverse dependency order. Only what is ours is deleted: what
 * the state file records, what the config's graph finds owned (plan's walk), tagged orphans the state
 * does not know (kinds with `list`), and state records of nodes the config no longer has.
 */
import { randomUUID } from 'node:crypto';
import { ALL_SERVICES } from '../aws/clients.js';
import { RESOURCE_KINDS } from '../resources/index.js';
import { endpointAzCount } from '../model/network.js';
import { buildContext } from '../engine/context.js';
import { asStepError, DEFAULT_PARALLEL } from '../engine/engine.js';
import { runSteps, type StepsOutcome } from '../engine/steps.js';
import { UserError } from '../base/errors.js';
import { NotOurs, StepsFailed } from '../engine/errors.js';
import { deletionPrerequisites } from '../engine/graph.js';
import { planStack, type Plan, type PlanEnv } from '../engine/plan.js';
import { fires, jobTrigger, pauseFound, type FoundTrigger } from '../resources/triggers.js';
import { newMark } from '../model/pause.js';
import type { JobConfig } from '../config/schema.js';
import { endpointCost, pricesFor } from '../model/pricing.js';
import { realClock } from '../base/clock.js';
import { countActions, type ResourceEvent, type RunResult } from '../engine/reporter.js';
import { openStack, type StackOptions } from '../engine/stack.js';
import {
  describeOwner,
  type Ctx,
  type DeleteOptions,
  type ResourceKind,
  type ResourceRecord,
} from '../engine/types.js';

/** Options of `down`. */
export interface DownOptions extends StackOptions {
  /** Only the costly kinds (the interface endpoints); everything else stays. */
  endpointsOnly?: boolean;
  /** Delete data too: bucket objects (every version), repository images; the secret without recovery. */
  force?: boolean;
  /** Skip the confirmation. */
  yes?: boolean;
  /** On a terminal: ask through `confirm`; otherwise `yes` is required. */
  interactive: boolean;
  /** Shows the lines and answers whether to go ahead. */
  confirm?: (lines: string[]) => Promise<boolean>;
  parallel?: number;
  /** Secrets Manager recovery window, 7-30 days (default 7). */
  recoveryWindowDays?: number;
  /** Keep the log group (and its events); its state record stays, so a later `down` removes it. */
  keepLogs?: boolean;
}

/** One resource `down` deletes. */
export interface DownTarget {
  /** The node key; orphans that duplicate a live node's key get `#<id>` appended. */
  key: string;
  kind: string;
  label: string;
  id: string;
  /** Not a node of the current graph, or a tagged duplicate of one. */
  orphan: boolean;
  /** What goes with it: `12 objects`, `3 images`, `1.2 MiB of log events`. */
  data?: string;
}

/** What `down --endpoints` saves, or why it cannot say. */
export type EndpointSaving =
  { enis: number; hourly: number; monthly: number; asOf: string } | { enis: number; unknownPrices: true };

/** The outcome of `down`. */
export interface DownReport extends RunResult {
  stack: string;
  region: string;
  account: string;
  statePath: string;
  targets: DownTarget[];
  /** True when the user declined at the prompt (nothing was deleted). */
  declined: boolean;
  /** What --keep-logs kept. */
  kept?: DownTarget[];
  /** For `--endpoints`. */
  saving?: EndpointSaving;
  /**
   * `--endpoints`: the jobs whose schedule it paused (runs would fail without the endpoints); the next `up` resumes
   * them.
   */
  paused?: string[];
}

/** A run's report is `down`'s (StepsFailed carries any run's: `up`'s, `down`'s). */
export function isDownReport(r: RunResult): r is DownReport {
  return 'targets' in r && 'declined' in r;
}

interface Target extends DownTarget {
  kindDef: ResourceKind;
  record: ResourceRecord;
  /** Graph keys this target depends on (deleted after it); empty for orphans. */
  deps: string[];
  /** The key in the state file, when the state knows it. */
  stateKey?: string;
}

/**
 * Delete the stack (or its interface endpoints). Throws UserError before any mutating call when data would
 * be lost without --force, or no confirmation was given; StepsFailed (its `report` this report) when a step failed.
 */
export async function runDown(opts: DownOptions): Promise<DownReport> {
  const clock = opts.clock ?? realClock;
  const started = clock.now();
  const stack = await openStack(opts, ALL_SERVICES, 'batchctl down');
  const { config, state } = stack;
  const head = { stack: config.stack, region: config.region, account: stack.account, statePath: state.path };
  opts.reporter.info(
    `batchctl down${opts.endpointsOnly ? ' --endpoints' : ''}: stack ${head.stack} in ${head.region} (account ${head.account})`,
  );
  const env: PlanEnv = {
    config,
    aws: stack.aws,
    account: stack.account,
    partition: stack.partition,
    reporter: opts.reporter,
    state,
    clock,
    kinds: RESOURCE_KINDS,
  };
  const runId = randomUUID();
  const ctxFor = (stepKey: string) => buildContext({ ...env, runId, records: state.records(), stepKey });
  try {
    const found = await discover(env, ctxFor, opts);
    const all = opts.endpointsOnly ? found.targets.filter((t) => t.kindDef.costly) : found.targets;
    // --keep-logs: the kept group is still a live target, so its record stays in the state.
    const kept = opts.keepLogs ? all.filter((t) => t.kind === KEPT_BY_KEEP_LOGS) : [];
    const targets = all.filter((t) => !kept.includes(t));
    const gone = goneRecords(env, all, opts);
    // Without the endpoints every run would fail (and alert): their schedules are paused first, marked
    // as `down --endpoints`'s, which the `up` that restores the endpoints lifts (a user's pause stays).
    const toPause =
      opts.endpointsOnly && config.network.interfaceEndpoints.length ? schedulesToPause(config, found.plan) : [];
    const events: ResourceEvent[] = [];
    const emit = (e: ResourceEvent) => {
      events.push(e);
      opts.reporter.stepDone(e);
    };
    // Counting is a full listing (a bucket's every version): skipped when nobody reads it, that is with
    // --force (nothing to refuse) and --yes (no confirmation); the kept log group is still described.
    const data = await dataHeld(opts.force && opts.yes ? kept : [...targets, ...kept], ctxFor);
    let paused: string[] = [];
    const report = (extra: Partial<DownReport> = {}): DownReport => ({
      ...head,
      targets: targets.map((t) => publicTarget(t, data)),
      declined: false,
      events,
      counts: countActions(events),
      wallMs: clock.now() - started,
      failures: [],
      ...(kept.length ? { kept: kept.map((t) => publicTarget(t, data)) } : {}),
      ...(paused.length ? { paused } : {}),
      ...extra,
    });
    // A refused or declined run changes nothing, not even the state file: all of this once it goes ahead.
    const begin = async () => {
      if (toPause.length) {
        paused = await pauseFound(ctxFor, toPause, newMark('endpoints', stack.caller, clock.now()));
        opts.reporter.info(
          `Paused the schedule of ${paused.join(', ')} (runs would fail without the endpoints): the \`batchctl up\` that restores the endpoints resumes ${paused.length === 1 ? 'it' : 'them'}`,
        );
      }
      await forgetGone(env, gone, emit);
      for (const t of kept) {
        const d = data.get(t.key);
        opts.reporter.info(
          `Kept ${t.label} ${t.id} (--keep-logs)${d ? `, holding ${d.description}` : ''}; \`batchctl down\` without --keep-logs deletes it`,
        );
        emit({ key: t.key, kind: t.kind, label: t.label, action: 'skipped', id: t.id, message: 'kept: --keep-logs' });
      }
    };
    if (!targets.length) {
      await begin();
      if (!kept.length) opts.reporter.info('Nothing to delete.');
      return report();
    }
    if (!opts.force) refuseDataLoss(targets, data);
    if (!(await confirmed(opts, targets, kept, toPause, data))) {
      opts.reporter.info('Cancelled: nothing was deleted.');
      return report({ declined: true });
    }
    await begin();
    const { done, failures } = await deleteTargets(env, targets, ctxFor, opts, emit);
    const saving = opts.endpointsOnly ? savingOf(env, targets.filter((t) => done.has(t.key)).length) : undefined;
    const result = report({ failures, saving });
    if (failures.length) throw new StepsFailed(result);
    return result;
  } finally {
    await stack.close();
  }
}

/**
 * State records `down` will not delete: resources that are gone already (reported `absent` and forgotten),
 * and your VPC and subnets (mode existing: never targets, their records simply leave the state). Records of
 * a kind this batchctl does not know are kept, with a warning.
 */
function goneRecords(env: PlanEnv, targets: Target[], opts: DownOptions): { absent: ResourceEvent[]; yours: string[] } {
  const live = new Set(targets.map((t) => t.stateKey).filter(Boolean));
  const absent: ResourceEvent[] = [];
  const yours: string[] = [];
  for (const [key, rec] of env.state.records()) {
    const kindDef = env.kinds.find((k) => k.kind === rec.kind);
    if (live.has(key) || (opts.endpointsOnly && !kindDef?.costly)) continue;
    if (kindDef?.external) yours.push(key);
    else if (kindDef) absent.push({ key, kind: rec.kind, label: kindDef.label, action: 'absent', id: rec.id });
    else
      env.reporter.warn(
        `state record ${key} has kind ${rec.kind}, which this batchctl does not know: kept in the state`,
      );
  }
  return { absent, yours };
}

async function forgetGone(
  env: PlanEnv,
  gone: { absent: ResourceEvent[]; yours: string[] },
  emit: (e: ResourceEvent) => void,
): Promise<void> {
  for (const e of gone.absent) {
    env.state.remove(e.key);
    emit(e);
  }
  for (const key of gone.yours) env.state.remove(key);
  if (gone.absent.length || gone.yours.length) await env.state.save();
}

/** Whether to go ahead: `--yes`, or the user's answer on a terminal; elsewhere, refused without `--yes`. */
async function confirmed(
  opts: DownOptions,
  targets: Target[],
  kept: Target[],
  toPause: { job: JobConfig }[],
  data: Held,
): Promise<boolean> {
  if (opts.yes) return true;
  const lines = targets.map((t) => {
    const d = data.get(t.key);
    return `  ${t.label.padEnd(26)} ${t.key.padEnd(40)} ${t.id}${t.orphan ? '  (orphan)' : ''}${d ? `  (${d.description})` : ''}`;
  });
  const n = `${targets.length} resource${targets.length === 1 ? '' : 's'}`;
  if (!opts.interactive || !opts.confirm) {
    throw new UserError(
      `down needs --yes when not on a terminal (it would delete ${n})`,
      'run it on a terminal to confirm, or pass --yes',
      lines,
    );
  }
  const keeping = kept.length ? ` (keeping ${kept.map((t) => `${t.label} ${t.id}`).join(', ')}: --keep-logs)` : '';
  const pausing = toPause.length
    ? ` and pause the schedule of ${toPause.map((p) => p.job.name).join(', ')} (runs would fail without the endpoints; \`up\` resumes ${toPause.length === 1 ? 'it' : 'them'})`
    : '';
  return opts.confirm([`batchctl down will delete ${n}${keeping}${pausing}:`, ...lines]);
}

/** Delete the targets, dependants first; each deleted one leaves the state at once. */
function deleteTargets(
  env: PlanEnv,
  targets: Target[],
  ctxFor: (key: string) => Ctx,
  opts: DownOptions,
  emit: (e: ResourceEvent) => void,
): Promise<StepsOutcome> {
  const byKey = new Map(targets.map((t) => [t.key, t]));
  const delOpts: DeleteOptions = { force: opts.force, recoveryWindowDays: opts.recoveryWindowDays };
  return runSteps({
    keys: targets.map((t) => t.key),
    prereqs: deletionPrerequisites(targets, env.kinds),
    parallel: opts.parallel ?? DEFAULT_PARALLEL,
    subject: (key) => byKey.get(key)!,
    run: async (key) => {
      const t = byKey.get(key)!;
      try {
        await t.kindDef.delete(ctxFor(key), t.record, delOpts);
      } catch (err) {
        throw asStepError(key, 'delete', err);
      }
      if (t.stateKey) {
        env.state.remove(t.stateKey);
        await env.state.save();
      }
      return { action: 'deleted', arn: t.record.arn };
    },
    notStarted: (blockedBy) =>
      blockedBy.length ? `kept: ${blockedBy.join(', ')} must be deleted first` : 'not started after an earlier failure',
    reporter: opts.reporter,
    clock: env.clock ?? realClock,
    emit,
  });
}

/**
 * What exists, and is ours: plan's read-only walk over the config's graph (dependencies first, so
 * dependants are looked up with their parents' live ids), then tagged resources no node accounts for,
 * then state records of nodes the config no longer has. Only what its tags (or its parent's) say is this
 * stack's is ever a target: a state record naming anything else is reported and forgotten.
 */
async function discover(
  env: PlanEnv,
  ctxFor: (key: string) => Ctx,
  opts: DownOptions,
): Promise<{ targets: Target[]; plan: Plan }> {
  const plan = await planStack(env, { parallel: opts.parallel });
  const targets: Target[] = [];
  const claimed = new Set<string>();
  const add = (t: Omit<Target, 'kind' | 'label' | 'id'>) => {
    targets.push({ ...t, kind: t.kindDef.kind, label: t.kindDef.label, id: t.record.id });
    claimed.add(`${t.kindDef.kind}\0${t.record.id}`);
  };
  for (const e of plan.entries) {
    // Stale state records (nodes the config no longer has) are handled with the other orphans below.
    if (e.action === 'delete' || e.action === 'forget') continue;
    const node = plan.graph.byKey.get(e.key)!;
    // Yours (mode existing): `down` leaves your VPC and subnets exactly as it found them.
    if (node.kind.external) continue;
    const recorded = plan.walk.ignored.has(e.key) ? undefined : env.state.get(e.key);
    if (e.ignoredRecord || (e.error instanceof NotOurs && e.error.ignoredRecord))
      env.reporter.warn(`${e.key}: ${e.notes?.[0] ?? 'its state record is not ours: not touched'}`);
    if (e.action === 'error') {
      // Not ours: never deleted, whatever the state says.
      if (e.conflict) {
        env.reporter.warn(`kept ${e.key}: ${e.error!.message}`);
        continue;
      }
      // A read failed, so the node could not be assessed: the recorded id is still checked by its own tags
      // (or its parent's) before anything is deleted; without that, `down` cannot know what exists.
      const own = recorded
        ? await node.kind.ownerOf(ctxFor(e.key), recorded).catch(() => {
            throw e.error!;
          })
        : undefined;
      if (!recorded) throw e.error!;
      if (own?.owned)
        add({ key: e.key, kindDef: node.kind, record: recorded, deps: node.spec.deps, orphan: false, stateKey: e.key });
      else if (own)
        env.reporter.warn(
          `kept ${e.key}: ${recorded.id} is recorded in the state but ${describeOwner(own)}: not touched`,
        );
      continue;
    }
    if (!e.record) continue;
    // A resource already scheduled for deletion (a secret in its recovery window) is gone as far as
    // `down` is concerned, unless --force asks for it to go at once.
    if ((e.found?.observed as { pendingDeletion?: boolean } | undefined)?.pendingDeletion && !opts.force) continue;
    add({
      key: e.key,
      kindDef: node.kind,
      record: e.record,
      deps: node.spec.deps,
      orphan: false,
      stateKey: env.state.get(e.key) ? e.key : undefined,
    });
  }
  // The listings are the walk's own (shared reads): tagged with this stack by construction.
  const listCtx = buildContext({ ...env, records: env.state.records(), memo: plan.walk.memo });
  const listed = await Promise.all(
    RESOURCE_KINDS.filter((k) => k.list && (!opts.endpointsOnly || k.costly)).map(async (k) => ({
      kind: k,
      items: await k.list!(listCtx),
    })),
  );
  for (const { kind, items } of listed) {
    for (const { key, record } of items) {
      if (claimed.has(`${kind.kind}\0${record.id}`)) continue;
      const stateKey = env.state.get(key)?.id === record.id ? key : undefined;
      add({
        key: plan.graph.byKey.has(key) || targets.some((t) => t.key === key) ? `${key}#${record.id}` : key,
        kindDef: kind,
        record,
        deps: [],
        orphan: true,
        stateKey,
      });
    }
  }
  // Stale records: plan checked each one's ownership ('delete': ours; 'forget': gone or not ours).
  for (const e of plan.entries) {
    if (e.action === 'forget' && e.notes?.length && !/no longer exists/.test(e.notes[0]!))
      env.reporter.warn(`${e.key}: ${e.notes[0]} (forgotten from the state)`);
    if (e.action === 'error' && !plan.graph.byKey.has(e.key)) throw e.error!;
    if (e.action !== 'delete' || !e.record || claimed.has(`${e.kind}\0${e.record.id}`)) continue;
    const kind = RESOURCE_KINDS.find((k) => k.kind === e.kind);
    if (kind) add({ key: e.key, kindDef: kind, record: e.record, deps: [], orphan: true, stateKey: e.key });
  }
  return { targets, plan };
}

/** Every job's schedule the walk found that fires now (ours, enabled, not paused): what `down --endpoints` pauses. */
function schedulesToPause(config: PlanEnv['config'], plan: Plan): { job: JobConfig; trigger: FoundTrigger }[] {
  return config.jobs.flatMap((job) => {
    const t = jobTrigger(job);
    const found = plan.entries.find((e) => e.key === t.key)?.found;
    const trigger = found && t.bind(found);
    return trigger && fires(trigger) ? [{ job, trigger }] : [];
  });
}

/** What the log group kind is: the one --keep-logs keeps. */
const KEPT_BY_KEEP_LOGS = 'logs.log-group';

type Held = Map<string, { count: number; description: string; needsForce?: boolean }>;

/** What goes with each target that holds anything (objects, images, log events), by key. */
async function dataHeld(targets: Target[], ctxFor: (key: string) => Ctx): Promise<Held> {
  const held = await Promise.all(
    targets
      .filter((t) => t.kindDef.contents)
      .map(async (t) => [t.key, await t.kindDef.contents!(ctxFor(t.key), t.record)] as const),
  );
  return new Map(held.filter((h): h is [string, NonNullable<(typeof h)[1]>] => !!h[1] && h[1].count > 0));
}

/** Refuse (before any mutating call) when deleting would destroy objects or images, with the counts. */
function refuseDataLoss(targets: Target[], data: Held): void {
  const full = targets
    .filter((t) => data.get(t.key)?.needsForce !== false && data.has(t.key))
    .map((t) => ({ t, c: data.get(t.key) }));
  if (!full.length) return;
  throw new UserError(
    full.length === 1
      ? `${full[0]!.t.label} ${full[0]!.t.id} holds ${full[0]!.c!.description}: pass --force to delete them with it`
      : `${full.length} resources hold data: pass --force to delete it with them`,
    'nothing was deleted; copy what you need first, or pass --force',
    // One resource is named in the message already; several are listed once each.
    full.length === 1 ? [] : full.map((h) => `${h.t.label} ${h.t.id} holds ${h.c!.description}`),
  );
}

function savingOf(env: PlanEnv, endpoints: number): EndpointSaving {
  const azs = endpointAzCount(env.config);
  // Endpoint prices do not depend on the architecture: any job's does.
  const prices = pricesFor(env.config.region, env.config.jobs[0]!.task.cpuArchitecture, env.config.pricing);
  if (!prices) return { enis: endpoints * azs, unknownPrices: true };
  return { ...endpointCost(prices.table, endpoints, azs), asOf: prices.table.asOf };
}

function publicTarget(t: Target, data: Held): DownTarget {
  const d = data.get(t.key)?.description;
  return { key: t.key, kind: t.kind, label: t.label, id: t.id, orphan: t.orphan, ...(d ? { data: d } : {}) };
}
