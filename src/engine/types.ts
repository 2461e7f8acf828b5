/**
 * The contracts between the engine and the resource modules. A resource *kind* (one file in
 * src/resources/) contributes zero or more *nodes* to the dependency graph for a given config; the
 * engine walks the nodes, calling the kind's find/create/update/delete.
 */
import type { StackConfig } from '../config/schema.js';
import type { AwsClients } from '../aws/clients.js';
import type { Reporter } from './reporter.js';
import type { Clock } from '../base/clock.js';
import type { ResourceRecord } from '../state/state.js';

export type { ResourceRecord };

/** One node of the graph: an instance of a kind for this config. */
export interface NodeSpec<P = unknown> {
  /** Unique in the stack and stable across runs, e.g. `subnet/batch-1a`. Also the logical-name tag. */
  key: string;
  /** Keys of the nodes this one needs first (their records are readable through ctx.record). */
  deps: string[];
  /** Kind-specific parameters taken from the config (e.g. the subnet's AZ and CIDR). */
  params: P;
  /**
   * The dependencies this resource lives in and cannot exist without (a subnet's VPC, an inline policy's
   * role, a bucket setting's bucket, a target's rule). When one of them does not exist, neither does this
   * one: it is not looked up, and once they are created it is created without a second look.
   */
  partOf?: string[];
}

/** One differing setting, as `plan` shows it and `update` applies it. */
export interface FieldChange {
  /** Dotted path of the setting, e.g. `retentionInDays` or `ingress[0]`. */
  field: string;
  from: unknown;
  to: unknown;
  /** The change cannot be made in place; `up` refuses it instead of replacing silently. */
  replace?: boolean;
  /** Render the values as `(sensitive)`: they must never be printed. */
  sensitive?: boolean;
  /**
   * What applying the change deletes that batchctl did not put there (an inline policy added to a role by
   * hand, another target on a rule, a statement added to a policy, a subscription): one line each, as
   * `plan` shows them. Drift includes what was added, not only what was changed.
   */
  removes?: string[];
  /** The change is nothing but `removes`: the rest of the setting is as desired (plan shows the removals only). */
  onlyRemoves?: boolean;
}

/**
 * Whose a live resource is. Only the tag decides: `batchctl:stack=<this stack>` on the resource, or,
 * for what AWS cannot tag (targets, inline policies, subscriptions, secret values, bucket settings,
 * schedules), on its parent. A state record never proves ownership.
 */
export interface Ownership {
  owned: boolean;
  /** When not owned: the stack its `batchctl:stack` tag names, or null when it carries none. */
  owner?: string | null;
  /**
   * For what AWS cannot tag and whose ownership is judged otherwise (a Logs resource policy, by its
   * document): why it is not ours, in place of "has no batchctl:stack tag", and what to do about it, in
   * place of "tag it".
   */
  why?: string;
  hint?: string;
}

/** How a verdict of "not ours" reads: "carries the tag of stack 'x'" or "has no batchctl:stack tag". */
export function describeOwner(o: Ownership): string {
  if (!o.owned && !o.owner && o.why) return o.why;
  return o.owner ? `carries the tag of stack '${o.owner}'` : 'has no batchctl:stack tag';
}

/** What `find` saw of a live resource. */
export interface Found<O = unknown> extends Ownership {
  record: ResourceRecord;
  /** The live settings, in the same shape `desired` returns, for `diff`. */
  observed: O;
  /**
   * Other live resources of this stack carrying this node's `batchctl:logical` tag (two runs raced, or
   * an older run was interrupted). The one kept is `record`; `up` deletes these once it has converged.
   */
  duplicates?: ResourceRecord[];
}

/** The context every resource call receives. Clients are created elsewhere and passed in here. */
export interface Ctx {
  config: StackConfig;
  stack: string;
  region: string;
  account: string;
  /** AWS partition, for ARNs (`aws`, `aws-cn`, `aws-us-gov`). */
  partition: string;
  aws: AwsClients;
  reporter: Reporter;
  clock: Clock;
  /** Unique per `up` run; used to derive idempotency tokens. */
  runId: string;
  /** Tags every taggable resource carries (`batchctl:stack` plus the config's extra tags). */
  baseTags: Record<string, string>;
  /**
   * The tag keys batchctl manages: ours (`batchctl:*`), the config's, and the config keys recorded in the
   * state by earlier runs. A key in this set that the config no longer has is removed; keys others add
   * to our resources are never touched.
   */
  tagKeys: ReadonlySet<string>;
  /**
   * What this walk found of another node: its Found (ownership included), null when it does not exist,
   * undefined when the walk has not assessed it. Lets untaggable children inherit their parent's
   * ownership without reading its tags again.
   */
  assessed(key: string): Found | null | undefined;
  /**
   * During `up`'s step of a node that was not looked up because a node it is part of (NodeSpec.partOf) did
   * not exist when the walk began: that node's key. It was created in this run, so this one starts as AWS
   * makes it with a new one (a new bucket blocks public access and encrypts with SSE-S3).
   */
  createdWith?: string;
  /**
   * Record in the state, before a create call, what is about to be created (intended name, time), so a
   * crash between the create and the tagging leaves a trace the next run can prove ownership with. A
   * no-op outside `up`.
   */
  intend(record: ResourceRecord): Promise<void>;
  /**
   * Run a read once per walk and share its answer (a stack-wide Describe that several nodes need). Outside
   * a read-only assessment it simply runs `read`.
   */
  memo<T>(key: string, read: () => Promise<T>): Promise<T>;
  /** The record of an already-converged dependency. Throws when the key is not a declared, done dep. */
  record(key: string): ResourceRecord;
  /** The record of a node if it is known (in this run or in the state file). */
  maybeRecord(key: string): ResourceRecord | undefined;
  /** Every record of a kind known (in this run or in the state file), those the config no longer has included. */
  recordsOf(kind: string): ResourceRecord[];
  /**
   * Poll until `check` returns a value other than undefined, within `budgetMs`, showing `what` as
   * progress. Throws a WaitTimeout naming `what` when the budget runs out.
   */
  waitFor<T>(
    what: string,
    check: () => Promise<T | undefined>,
    opts: { budgetMs: number; intervalMs?: number },
  ): Promise<T>;
}

/**
 * A resource kind: one file in src/resources/, listed in src/resources/index.ts.
 * `D` is the desired settings, compared with what `find` observed by `diff`.
 */
export interface ResourceKind<D = any, P = any> {
  /** e.g. `ec2.vpc`. */
  kind: string;
  /** Human label for output, e.g. `VPC`. */
  label: string;
  /**
   * Every kind this kind's nodes depend on (their NodeSpec.deps), across every config. Between graph
   * nodes the node deps order the walk; `down` and `up`'s clean-up order orphans (resources no node
   * accounts for) by these instead. buildGraph refuses a dep of a kind not named here;
   * test/resources/depends-on.test.ts also refuses a kind named here that no config's nodes depend on.
   */
  dependsOn: readonly string[];
  /** Billed by the hour whether or not the job runs (`down --endpoints` removes the costly ones). */
  costly: boolean;
  /**
   * The user's resource, named by id in the config (a VPC and subnets of yours, network mode `existing`):
   * looked up so dependants can use it, and refused when missing, but never created, updated or deleted,
   * and never ours (it carries no tag of ours and needs none). `up`'s prune and `down` leave it alone;
   * `plan` and `status` show it as yours. Its `create` and `delete` only throw.
   */
  external?: boolean;
  /** The nodes this kind contributes for a config. */
  nodes(config: StackConfig): NodeSpec<P>[];
  /**
   * The settings the node should have. May read dependency records through ctx.record. `found` is the
   * live resource when it exists: what only the resource itself records and the config does not say
   * (a schedule paused by `batchctl pause`, the image `batchctl deploy` pinned) is kept from it.
   */
  desired(ctx: Ctx, node: NodeSpec<P>, found?: Found<D>): D | Promise<D>;
  /**
   * What the reader of `plan`, `up` and `status` should know about the node that is not a change (a
   * paused schedule, an image not pinned yet). Shown with the node's notes.
   */
  notes?(desired: D, found: Found<D> | undefined): string[];
  /**
   * Look the resource up: by the recorded id first, else by tags (`batchctl:stack` + `batchctl:logical`)
   * or by its unique AWS name. Returns undefined when it does not exist; never throws for that. Ownership
   * comes from the tags alone (the record is only a hint): a recorded resource that is not ours is
   * returned not owned, and the engine looks again without the record.
   */
  find(ctx: Ctx, node: NodeSpec<P>, recorded: ResourceRecord | undefined): Promise<Found<D> | undefined>;
  /** Create it with tags, wait until usable, and return its record. */
  create(ctx: Ctx, node: NodeSpec<P>, desired: D): Promise<ResourceRecord>;
  /** The differences between desired and observed; empty when converged. */
  diff(desired: D, observed: D): FieldChange[];
  /** Converge mutable settings. Omitted when the kind has none (then any diff is a replacement). */
  update?(
    ctx: Ctx,
    node: NodeSpec<P>,
    found: Found<D>,
    desired: D,
    changes: FieldChange[],
  ): Promise<ResourceRecord | void>;
  /** Delete it and wait until it is gone. Treat "already gone" as success. */
  delete(ctx: Ctx, record: ResourceRecord, opts?: DeleteOptions): Promise<void>;
  /**
   * Whose the resource a record names is, read live (its tags, or its parent's); undefined when it no
   * longer exists. For records no graph node vouches for (stale state records, orphans only the state
   * file knows): nothing is deleted before this says it is ours.
   */
  ownerOf(ctx: Ctx, record: ResourceRecord): Promise<Ownership | undefined>;
  /**
   * What deleting would destroy besides the resource itself (objects in a bucket, images in a
   * repository), so `down` can refuse without --force and say how much would be lost. `needsForce:
   * false` only says it in the confirmation (log events, which retention expires anyway).
   */
  contents?(
    ctx: Ctx,
    record: ResourceRecord,
  ): Promise<{ count: number; description: string; needsForce?: boolean } | undefined>;
  /**
   * Every resource of this kind carrying this stack's tag, with its logical key: lets `down` sweep
   * tagged orphans that the state file does not know (a crashed run, a config that changed).
   */
  list?(ctx: Ctx): Promise<{ key: string; record: ResourceRecord }[]>;
  /**
   * Start, when a walk starts, the reads this kind's finds share through `ctx.memo` (the stack-wide EC2
   * Describe of its type, the account's roles, a recorded parent's settings), so they all go out in the
   * walk's first round instead of each waiting for its node's dependencies. Reads only; nothing awaits
   * them here, and a failed one is forgotten (the find asks again and reports its own error).
   */
  prefetch?(ctx: Ctx, nodes: NodeSpec<P>[]): void;
  /**
   * What a saved plan keeps of a found resource, to tell when it is applied whether the resource moved
   * (engine/saved-plan.ts). Default: its record and observed settings. A kind overrides it to leave out
   * what settles by itself (a subscription's confirmation), what is not a setting (timestamps), and to
   * stand in for a secret with something not derived from it (its version id): a plan file never holds
   * a secret value, nor a hash of one.
   */
  pin?(found: Found<D>): Pinned;
}

/** What a saved plan keeps of a found resource (see ResourceKind.pin). */
export interface Pinned {
  record: ResourceRecord;
  observed: unknown;
}

/** How `down` deletes. */
export interface DeleteOptions {
  /** Delete data too: empty the bucket (every version), delete images, delete the secret at once. */
  force?: boolean;
  /** Secrets Manager recovery window in days (7-30) when not forced. */
  recoveryWindowDays?: number;
}

/** Tag keys batchctl writes. */
export const TAG_STACK = 'batchctl:stack';
export const TAG_LOGICAL = 'batchctl:logical';
