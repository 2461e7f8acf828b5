/**
 * Saved plans. `plan --out plan.json` writes what `up` would change together with everything the plan
 * was made from: the state version it read, the config, the preflight's answers and, for every node,
 * what was found live (its ids, whose it is, its duplicates, its observed settings), and for every state
 * record the config no longer has, whose that resource is. `up plan.json` takes the lock and makes the
 * assessment `up` always makes before its first write; it goes on only when that assessment read exactly
 * what the plan read, and then makes exactly the plan's changes. Anything that moved (a resource changed,
 * created or deleted behind the plan's back, the state written by another run, the config edited) refuses
 * the plan, naming what moved, with nothing written.
 *
 * `up plan.json` never does more than `up` would: the plan file only narrows what `up` may do. A plan
 * edited by hand therefore cannot make `up` change anything the live re-assessment does not want; its
 * digest catches the edit anyway, with a clearer message.
 *
 * A plan file never holds a secret value, nor a plain hash of one (a hash of a guessable secret can be
 * checked offline): kinds pin a sensitive setting by something not derived from it (ResourceKind.pin:
 * the secret's version id), and sensitive changes keep only their field name.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { StackConfig } from '../config/schema.js';
import { sortKeys } from '../base/json.js';
import { VERSION } from '../base/version.js';
import { RunFailed, UserError } from '../base/errors.js';
import { printable } from '../base/format.js';
import { PlanMoved, REPLAN } from './errors.js';
import type { Graph } from './graph.js';
import type { Assessment, GraphAssessment } from './engine.js';
import type { Plan, PlanBasis, PlanEntry } from './plan.js';
import { writeFileAtomic } from '../state/state.js';
import { describeOwner, type FieldChange, type ResourceKind, type ResourceRecord } from './types.js';

export const PLAN_FORMAT = 'batchctl-plan';
/** Bumped when a saved plan's shape changes: a plan of another format version is refused. */
export const PLAN_FORMAT_VERSION = 1;

/** What a saved plan keeps of one node, or of a state record the config no longer has. */
export interface PlanPin {
  key: string;
  kind: string;
  label: string;
  action: PlanEntry['action'];
  /** Assessed before its dependencies exist: what it needs is known once they do (Assessment.partial). */
  partial?: boolean;
  /** The live resource, when one exists (for a stale record: the recorded one, with its live owner). */
  found?: {
    record: ResourceRecord;
    owned: boolean;
    /** When not owned: the stack its tag names, or null when it has none. */
    owner?: string | null;
    /** The observed settings, as the kind pins them (never a secret value). */
    observed?: unknown;
    /** Ids of other live resources carrying this node's tags (`up` deletes them). */
    duplicates?: string[];
  };
  /** The state's record for this node names a resource that is not ours: it was ignored. */
  ignoredRecord?: boolean;
  /** The planned changes; a sensitive change keeps its field only. */
  changes: FieldChange[];
}

/** Everything a saved plan pins; its digest covers all of it. */
export interface SavedPlanBody {
  format: typeof PLAN_FORMAT;
  formatVersion: number;
  batchctlVersion: string;
  createdAt: string;
  stack: string;
  region: string;
  account: string;
  partition: string;
  state: PlanBasis['state'];
  /** The config as loaded (defaults filled, names resolved): editing what `up` reads moves it. */
  config: unknown;
  /** The preflight's answers `up` builds on: each endpoint service's name, by `type:short`. */
  preflight: { services: Record<string, string> };
  pending: boolean;
  counts: Plan['counts'];
  /** Every node in dependency order, then the stale state records. */
  resources: PlanPin[];
}

/** A saved plan file. */
export interface SavedPlan extends SavedPlanBody {
  /** The first 12 hex digits of the digest: names the plan in `plan --out` and `up plan.json` output. */
  id: string;
  /** SHA-256 of the body's canonical JSON: a file edited after it was written is refused. */
  digest: string;
}

/** JSON with object keys sorted and undefined members dropped; Dates become ISO strings. */
const canonical = (v: unknown): unknown => (v === undefined ? undefined : sortKeys(JSON.parse(JSON.stringify(v))));
/**
 * The config as the plan pins it: jobs keyed by name, so what moved is named as the user reads it
 * (`jobs.report.task.cpu`, not a position in a list that reorders when a job is added).
 */
function configPin(config: StackConfig): unknown {
  return { ...config, jobs: Object.fromEntries(config.jobs.map((j) => [j.name, j])) };
}
const digestOf = (body: SavedPlanBody) =>
  createHash('sha256')
    .update(JSON.stringify(canonical(body)))
    .digest('hex');

/** A change as a plan file keeps it: a sensitive one without its values. */
function redact(c: FieldChange): FieldChange {
  return c.sensitive
    ? {
        field: c.field,
        from: '(sensitive)',
        to: '(sensitive)',
        sensitive: true,
        ...(c.replace ? { replace: true } : {}),
      }
    : c;
}

/** What a plan file keeps of one entry. A read that failed cannot be pinned: it is thrown. */
export function pinOf(e: PlanEntry, kind: ResourceKind | undefined): PlanPin {
  const base: PlanPin = {
    key: e.key,
    kind: e.kind,
    label: e.label,
    action: e.action,
    changes: (e.changes ?? []).map(redact),
  };
  if (e.partial) base.partial = true;
  if (e.ignoredRecord) base.ignoredRecord = true;
  if (e.action === 'error' && !e.conflict) throw e.error ?? new Error(`${e.key}: could not be assessed`);
  if (e.action === 'delete' || e.action === 'forget') {
    if (e.recordOwner && e.record) base.found = { record: e.record, ...e.recordOwner };
    return canonical(base) as PlanPin;
  }
  if (e.conflict && e.record) {
    const owner = (e.error as { found?: { owner?: string | null } } | undefined)?.found?.owner ?? null;
    base.found = { record: e.record, owned: false, owner };
    return canonical(base) as PlanPin;
  }
  if (e.found) {
    const pinned = kind?.pin ? kind.pin(e.found) : { record: e.found.record, observed: e.found.observed };
    base.found = {
      record: pinned.record,
      owned: e.found.owned,
      ...(e.found.owned ? {} : { owner: e.found.owner ?? null }),
      observed: pinned.observed,
      ...(e.found.duplicates?.length ? { duplicates: e.found.duplicates.map((d) => d.id).sort() } : {}),
    };
  }
  return canonical(base) as PlanPin;
}

/**
 * The preflight's answers `up` builds on: the name of each endpoint service the config wants (what
 * CreateVpcEndpoint takes, by `type:short`). Whether the config's zones are usable and offer those
 * services is asked again by `up <plan>`'s own preflight, which stops it as it stops any `up`.
 */
function preflightPin(basis: PlanBasis): SavedPlanBody['preflight'] {
  return {
    services: Object.fromEntries(
      basis.preflight.services.map((x) => [`${x.type}:${x.short}`, x.name]).sort(([a], [b]) => a!.localeCompare(b!)),
    ),
  };
}

/** The body of a saved plan for a plan and what it was made from. */
export function planBody(
  plan: Plan,
  basis: PlanBasis,
  kinds: readonly ResourceKind[],
  createdAt = new Date().toISOString(),
): SavedPlanBody {
  const kindOf = (k: string) => kinds.find((x) => x.kind === k);
  return {
    format: PLAN_FORMAT,
    formatVersion: PLAN_FORMAT_VERSION,
    batchctlVersion: VERSION,
    createdAt,
    stack: basis.config.stack,
    region: basis.config.region,
    account: basis.account,
    partition: basis.partition,
    state: basis.state,
    config: canonical(configPin(basis.config)),
    preflight: preflightPin(basis),
    pending: plan.pending,
    counts: plan.counts,
    resources: plan.entries.map((e) => pinOf(e, kindOf(e.kind))),
  };
}

/**
 * Write a saved plan: atomically (temp file, fsync, rename) and 0600, like the state. Refuses a plan
 * `up` could not apply (a read failed, a resource is not ours, a replacement).
 */
export async function writeSavedPlan(
  path: string,
  plan: Plan,
  basis: PlanBasis,
  kinds: readonly ResourceKind[],
): Promise<SavedPlan> {
  const failed = plan.entries.filter((e) => e.action === 'error' && !e.conflict);
  if (failed.length) throw new RunFailed(failed.map((e) => e.error ?? new Error(e.key)));
  if (plan.conflicts.length) {
    throw new UserError(
      `the plan was not saved to ${path}: up would refuse it (${plan.conflicts.map((e) => e.key).join(', ')})`,
      'resolve the conflicts shown above, then plan again',
    );
  }
  const body = planBody(plan, basis, kinds);
  const digest = digestOf(body);
  const saved: SavedPlan = { ...body, id: digest.slice(0, 12), digest };
  await writeFileAtomic(path, JSON.stringify(saved, null, 2) + '\n');
  return saved;
}

/** True for the text of a saved plan (what `plan --out` may replace without --force). */
export function isSavedPlanText(text: string): boolean {
  try {
    const v = JSON.parse(text) as { format?: unknown } | null;
    return !!v && typeof v === 'object' && v.format === PLAN_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Read a saved plan and check what needs no AWS call: that it is a plan file of this format, written by
 * this batchctl version, and not edited since.
 */
export async function readSavedPlan(path: string): Promise<SavedPlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read the saved plan ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}`,
      'write one with batchctl plan --out <file>',
    );
  }
  let raw: Partial<SavedPlan> | null;
  try {
    raw = JSON.parse(text) as Partial<SavedPlan> | null;
  } catch {
    raw = null;
  }
  if (!raw || typeof raw !== 'object' || raw.format !== PLAN_FORMAT) {
    throw new UserError(
      `${path} is not a batchctl plan file`,
      'write one with batchctl plan --out <file>; `batchctl up` without a file plans and applies in one go',
    );
  }
  if (raw.formatVersion !== PLAN_FORMAT_VERSION) {
    throw new UserError(
      `the saved plan ${path} has format version ${JSON.stringify(raw.formatVersion)}; this batchctl reads ${PLAN_FORMAT_VERSION}`,
      REPLAN,
    );
  }
  if (typeof raw.batchctlVersion !== 'string' || !raw.batchctlVersion) {
    // No version: not what `plan --out` writes (it always records its own), so nothing says who made it.
    throw new UserError(
      `the saved plan ${path} does not say which batchctl made it (no batchctlVersion): batchctl always records it, so the file was edited`,
      REPLAN,
    );
  }
  if (raw.batchctlVersion !== VERSION) {
    // Another version may assess differently (new kinds, other diffs): what it planned is not what this one would do.
    throw new UserError(
      `the saved plan ${path} was made by batchctl ${printable(String(raw.batchctlVersion), 40)}; this is batchctl ${VERSION}`,
      `apply it with batchctl ${printable(String(raw.batchctlVersion), 40)}, or ${REPLAN} with this version`,
    );
  }
  const { id, digest, ...body } = raw as SavedPlan;
  if (typeof digest !== 'string' || digest !== digestOf(body as SavedPlanBody) || id !== digest.slice(0, 12)) {
    throw new UserError(
      `the saved plan ${path} was modified after batchctl wrote it (its digest does not match)`,
      REPLAN,
    );
  }
  return raw as SavedPlan;
}

/** Refuse a plan made for another stack, region, account or partition. */
export function checkPlanIdentity(
  path: string,
  saved: SavedPlan,
  now: { stack: string; region: string; account: string; partition: string },
): void {
  const differs = (['stack', 'region', 'account', 'partition'] as const).filter((k) => saved[k] !== now[k]);
  if (!differs.length) return;
  throw new UserError(
    `the saved plan ${path} is for stack '${saved.stack}' in ${saved.region} (account ${saved.account}), but this config and these credentials are stack '${now.stack}' in ${now.region} (account ${now.account})`,
    'apply it with the config and credentials it was made with (check -c, --region, --profile), or make a new plan for this stack',
  );
}

/** A value on one line for a refusal. */
function show(v: unknown): string {
  if (v === undefined) return '(none)';
  return printable(typeof v === 'string' ? v : JSON.stringify(v), 80);
}

/** Where two canonical JSON values differ, as `path: old -> new` (objects and same-length arrays descended). */
export function differences(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    return [...new Set([...Object.keys(ao), ...Object.keys(bo)])]
      .sort()
      .flatMap((k) => differences(ao[k], bo[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length)
    return a.flatMap((x, i) => differences(x, b[i], `${path}[${i}]`));
  return [`${path || '(value)'}: ${show(a)} -> ${show(b)}`];
}

const describeAction = (p: PlanPin) => `${p.action}${p.partial ? ' (once its dependencies exist)' : ''}`;
const ownerText = (f: NonNullable<PlanPin['found']>) =>
  f.owned ? "this stack's" : `not this stack's: it ${describeOwner({ owned: false, owner: f.owner })}`;

/** What moved in one resource between the plan and now: what was read (primary), then what follows from it. */
function movedResource(then: PlanPin | undefined, now: PlanPin | undefined): { primary: string[]; derived: string[] } {
  const primary: string[] = [];
  const derived: string[] = [];
  if (!then || !now) {
    const p = (then ?? now)!;
    // A state record the config no longer has came or went with the state; a node, with the config.
    const stale = p.action === 'delete' || p.action === 'forget';
    (stale ? primary : derived).push(
      then
        ? `${p.key}: in the plan (${describeAction(p)}), no longer ${stale ? 'in the state' : 'part of the stack'}`
        : `${p.key}: ${stale ? `${p.found?.record.id ?? 'a record'} was recorded in the state since the plan, ` : ''}not in the plan; up would now ${describeAction(p)} it`,
    );
    return { primary, derived };
  }
  const k = then.key;
  const [a, b] = [then.found, now.found];
  if (!a && b)
    primary.push(
      `${k}: ${b.record.id} ${b.owned ? 'was created since the plan' : `appeared since the plan and is ${ownerText(b)}`}`,
    );
  else if (a && !b)
    primary.push(
      `${k}: ${a.record.id} ${then.action === 'delete' || then.action === 'forget' ? 'no longer exists' : 'was deleted since the plan'}`,
    );
  else if (a && b) {
    primary.push(...differences(a.record, b.record).map((d) => `${k}: record ${d}`));
    if (a.owned !== b.owned || (a.owner ?? null) !== (b.owner ?? null))
      primary.push(`${k}: ${b.record.id} was ${ownerText(a)}, now ${ownerText(b)}`);
    primary.push(
      ...differences(a.duplicates ?? [], b.duplicates ?? []).map(
        (d) => `${k}: duplicates ${d.replace(/^\(value\): /, '')}`,
      ),
    );
    primary.push(...differences(a.observed, b.observed).map((d) => `${k}: ${d}`));
  }
  if (!!then.ignoredRecord !== !!now.ignoredRecord)
    primary.push(
      `${k}: the state's record ${now.ignoredRecord ? 'now names a resource that is not ours' : 'is ours again'}`,
    );
  if (then.action !== now.action || !!then.partial !== !!now.partial)
    derived.push(`${k}: planned ${describeAction(then)}, up would now ${describeAction(now)}`);
  else derived.push(...differences(then.changes, now.changes).map((d) => `${k}: planned change ${d}`));
  return { primary, derived };
}

/**
 * Everything that differs between a saved plan and the same plan made now, one line each: the state,
 * the config, the preflight, then each resource (`key: field: old -> new`). Differences that only follow
 * from others (a resource's planned change after its setting moved) are only counted (`follow`) when a
 * cause is listed. `moved` empty: nothing moved.
 */
export function movedSince(saved: SavedPlanBody, now: SavedPlanBody): { moved: string[]; follow: number } {
  const primary: string[] = [];
  if (saved.state.version !== now.state.version) {
    primary.push(
      saved.state.version === null
        ? `state: ${now.state.location} was written since the plan, which read no state (another run applied first)`
        : now.state.version === null
          ? `state: ${now.state.location} no longer exists (the plan read version ${shortVersion(saved.state.version)})`
          : `state: ${now.state.location} was written since the plan (version ${shortVersion(saved.state.version)} -> ${shortVersion(now.state.version)}): another run applied first`,
    );
  }
  // A local state's path depends on where the checkout is; an S3 state is the same object everywhere.
  if ((saved.state.backend === 's3' || now.state.backend === 's3') && saved.state.location !== now.state.location) {
    primary.push(`state: the plan read ${saved.state.location}, this run uses ${now.state.location}`);
  }
  primary.push(...differences(saved.config, now.config).map((d) => `config: ${d}`));
  const derived: string[] = [];
  // A service the config added or dropped follows from the config; one it kept may have been renamed.
  for (const key of new Set([...Object.keys(saved.preflight.services), ...Object.keys(now.preflight.services)])) {
    const [a, b] = [saved.preflight.services[key], now.preflight.services[key]];
    if (a === b) continue;
    (a && b ? primary : derived).push(`preflight: endpoint service ${key}: ${show(a)} -> ${show(b)}`);
  }
  const thenBy = new Map(saved.resources.map((p) => [p.key, p]));
  const nowBy = new Map(now.resources.map((p) => [p.key, p]));
  for (const key of [...new Set([...thenBy.keys(), ...nowBy.keys()])]) {
    const m = movedResource(thenBy.get(key), nowBy.get(key));
    primary.push(...m.primary);
    if (!m.primary.length) derived.push(...m.derived);
  }
  return primary.length ? { moved: primary, follow: derived.length } : { moved: derived, follow: 0 };
}

const shortVersion = (v: string) => v.replace(/"/g, '').slice(0, 12);

/**
 * Whether a node's assessment, made while applying (after its dependencies changed), stays within the
 * plan: the same changes or fewer. A node planned for creation may be found made already (nothing to
 * write) or take its desired settings; an update may have less left to do; nothing the plan did not show
 * is ever added. Returns what is outside the plan, or undefined.
 */
export function outsidePlan(pin: PlanPin | undefined, a: Assessment): string | undefined {
  if (!pin) return `${a.key}: not in the plan`;
  const dups = (a.found?.duplicates ?? []).map((d) => d.id).filter((id) => !(pin.found?.duplicates ?? []).includes(id));
  if (dups.length)
    return `${a.key}: ${dups.join(', ')} carr${dups.length === 1 ? 'ies' : 'y'} its tags too, which the plan did not show`;
  const planned = pin.action === 'create' || pin.action === 'update' || pin.action === 'unchanged';
  if (a.action === 'unchanged' && planned) return undefined;
  if (pin.action === 'create' && (a.action === 'create' || a.action === 'update')) return undefined;
  if (a.action === 'update' && (pin.action === 'update' || pin.action === 'unchanged')) {
    if (pin.found && a.found && pin.found.record.id !== a.found.record.id)
      return `${a.key}: planned on ${pin.found.record.id}, now ${a.found.record.id}`;
    if (pin.partial) return undefined;
    const shown = new Set(pin.changes.map((c) => JSON.stringify(canonical(c))));
    const extra = a.changes.map(redact).filter((c) => !shown.has(JSON.stringify(canonical(c))));
    return extra.length
      ? `${a.key}: ${extra.map((c) => `${c.field}: ${show(c.from)} -> ${show(c.to)}`).join(', ')} ${extra.length === 1 ? 'is' : 'are'} not in the plan`
      : undefined;
  }
  return `${a.key}: planned ${describeAction(pin)}, now ${a.action}`;
}

/**
 * The checks `up plan.json` hands the engine: before the first write, the plan made now from the
 * engine's own assessment must equal the saved one; then each step must stay within the plan.
 */
export function applyExactly(
  path: string,
  saved: SavedPlan,
  makePlan: (graph: Graph, assessment: GraphAssessment) => Promise<{ plan: Plan; body: SavedPlanBody }>,
): {
  beforeFirstWrite: (graph: Graph, assessment: GraphAssessment) => Promise<void>;
  beforeStep: (a: Assessment) => void;
} {
  const pins = new Map(saved.resources.map((p) => [p.key, p]));
  return {
    async beforeFirstWrite(graph, assessment) {
      const { plan, body } = await makePlan(graph, assessment);
      // A read that failed is AWS's failure, not a change: reported as such (exit 1), nothing written.
      const failed = plan.entries.filter((e) => e.action === 'error' && !e.conflict);
      if (failed.length) throw new RunFailed(failed.map((e) => e.error ?? new Error(e.key)));
      const { moved, follow } = movedSince(saved, body);
      if (moved.length) throw new PlanMoved(path, saved, moved, { follow });
    },
    beforeStep(a) {
      const outside = outsidePlan(pins.get(a.key), a);
      if (outside) throw new PlanMoved(path, saved, [outside], { during: true });
    },
  };
}
