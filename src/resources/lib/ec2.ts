/**
 * Helpers shared by the EC2 network kinds (VPC, subnets, route tables, security groups, endpoints).
 */
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DeleteVpcEndpointsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointsCommand,
  type IpPermission,
  type Route,
  type ResourceType,
  type TagSpecification,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2';
import { WaitTimeout, awsErrorCode, isNotFound } from '../../base/errors.js';
import {
  TAG_LOGICAL,
  TAG_STACK,
  type Ctx,
  type FieldChange,
  type Found,
  type Ownership,
  type ResourceRecord,
} from '../../engine/types.js';
import { ec2TagFilters, isOurs, managedTags, ownershipOf, resourceTags, tagList, tagRecord } from './tags.js';
import { K } from '../../model/keys.js';
import { retryWhile } from './create.js';
import { convergeTags, ifExists, reportedAwsError } from './aws-calls.js';

/** The Name tag EC2 resources carry (for the console; never used to find anything: it is not unique). */
export function ec2Name(ctx: Ctx, key: string): string {
  return `${ctx.stack}-${key.replaceAll('/', '-')}`;
}

/** TagSpecifications that tag an EC2 resource at creation with our tags plus Name. */
export function tagSpecs(ctx: Ctx, resourceType: ResourceType, key: string): TagSpecification[] {
  return [{ ResourceType: resourceType, Tags: tagList(resourceTags(ctx, key, { Name: ec2Name(ctx, key) })) }];
}

type Tagged = { Tags?: { Key?: string; Value?: string }[] };
type Filter = { Name: string; Values: string[] };

/** One page of an EC2 Describe, by ids or by filters. */
export type Ec2Describe<T> = (q: {
  ids?: string[];
  filters?: Filter[];
  nextToken?: string;
}) => Promise<{ items?: T[]; nextToken?: string }>;

/**
 * Every resource of one EC2 type carrying this stack's tag: one paged Describe per walk, shared by all
 * the nodes of that type (four subnets cost one call, not four) and by `down`'s orphan sweep.
 */
export function stackItems<T extends Tagged>(ctx: Ctx, type: string, describe: Ec2Describe<T>): Promise<T[]> {
  return ctx.memo(`ec2:${type}`, async () => {
    const out: T[] = [];
    let nextToken: string | undefined;
    do {
      const page = await describe({ filters: [{ Name: `tag:${TAG_STACK}`, Values: [ctx.stack] }], nextToken });
      out.push(...(page.items ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  });
}

/**
 * A kind's `prefetch` for one EC2 type: the stack-wide Describe of `stackItems`, sent when the walk starts
 * (all types together, in the first round) rather than when the type's first node is reached.
 */
export function prefetchStack<T extends Tagged>(
  type: string,
  describe: (ctx: Ctx) => Ec2Describe<T>,
): (ctx: Ctx) => void {
  return (ctx) => void stackItems(ctx, type, describe(ctx)).catch(() => undefined);
}

/** What `findInStack` returns: the resource kept for the node, its ownership, and the duplicates. */
export interface Ec2Found<T> extends Ownership {
  item: T;
  /** Other resources of this stack with the node's logical tag (see Found.duplicates). */
  duplicates: T[];
}

/** How `findInStack` looks one EC2 type up. */
export interface Ec2Lookup<T> {
  /** The EC2 type name, also the memo key (Vpc, Subnet, RouteTable, SecurityGroup, VpcEndpoint). */
  type: string;
  describe: Ec2Describe<T>;
  idOf: (item: T) => string;
  /** Items to ignore (endpoints deleted or being deleted). */
  gone?: (item: T) => boolean;
  /** The parent an item must be in to be this node's (a subnet's VPC); items elsewhere are duplicates. */
  parent?: { of: (item: T) => string | undefined; id: string | undefined };
  /**
   * Orders several candidates, the one to keep first. Default: the oldest where AWS reports a creation
   * time, else the lowest id. Every run must order them alike, so two racing runs keep the same one.
   */
  rank?: (items: T[]) => Promise<T[]> | T[];
  /**
   * When nothing of ours is found: the resource that would make the create fail (a same-named security
   * group, another table's association of our subnet), to report it before `up` writes anything.
   */
  blocker?: () => Promise<T | undefined>;
}

/**
 * An EC2 resource of a node, found among the stack's resources by its `batchctl:logical` tag. A recorded
 * id is only a hint: when it is not among ours, it is described by id, and a resource without our tag is
 * returned as not owned (the engine reports it and never touches it).
 */
export async function findInStack<T extends Tagged>(
  ctx: Ctx,
  key: string,
  recorded: ResourceRecord | undefined,
  look: Ec2Lookup<T>,
): Promise<Ec2Found<T> | undefined> {
  const live = (t: T | undefined): t is T => !!t && !look.gone?.(t);
  const all = (await stackItems(ctx, look.type, look.describe)).filter(live);
  const mine = all.filter((t) => tagRecord(t.Tags)[TAG_LOGICAL] === key);
  if (recorded && !mine.some((t) => look.idOf(t) === recorded.id)) {
    const [r] = ((await ifExists(look.describe({ ids: [recorded.id] })))?.items ?? []).filter(live);
    const tags = tagRecord(r?.Tags);
    // Ours but not in the listing yet (EC2's filters lag behind a create): it is this node's.
    if (r && isOurs(ctx, tags) && tags[TAG_LOGICAL] === key) mine.push(r);
    else if (r && !isOurs(ctx, tags)) return { item: r, ...ownershipOf(ctx, tags), duplicates: [] };
  }
  const inParent = look.parent ? mine.filter((t) => look.parent!.of(t) === look.parent!.id) : mine;
  const elsewhere = mine.filter((t) => !inParent.includes(t));
  const ranked = inParent.length > 1 ? await (look.rank ?? oldestFirst)(inParent) : inParent;
  const [item, ...rest] = ranked;
  if (!item) {
    const b = look.blocker ? await look.blocker() : undefined;
    return b ? { item: b, ...ownershipOf(ctx, tagRecord(b.Tags)), duplicates: [] } : undefined;
  }
  return { item, owned: true, duplicates: [...rest, ...elsewhere] };
}

/** The default duplicate order: oldest first where AWS says when (endpoints), then by id. */
function oldestFirst<T>(items: T[]): T[] {
  const time = (t: T) => (t as { CreationTimestamp?: Date }).CreationTimestamp?.getTime?.() ?? Number.MAX_SAFE_INTEGER;
  const id = (t: T) => String(Object.entries(t as object).find(([k]) => /Id$/.test(k) && k !== 'OwnerId')?.[1] ?? '');
  return [...items].sort((a, b) => time(a) - time(b) || id(a).localeCompare(id(b)));
}

/** Whose an EC2 resource is, from a Describe by id (undefined: it is gone). */
export async function ec2OwnerOf<T extends Tagged>(
  ctx: Ctx,
  id: string,
  describe: Ec2Describe<T>,
  gone?: (t: T) => boolean,
): Promise<Ownership | undefined> {
  const [item] = (await ifExists(describe({ ids: [id] })))?.items ?? [];
  return item && !gone?.(item) ? ownershipOf(ctx, tagRecord(item.Tags)) : undefined;
}

/**
 * After a create whose answer was lost: the id of what it created, found by the node's tags (a direct
 * Describe, never the walk's shared listing, which predates the create).
 */
export async function lookupCreated<T extends Tagged>(
  ctx: Ctx,
  key: string,
  describe: Ec2Describe<T>,
  idOf: (t: T) => string | undefined,
  gone?: (t: T) => boolean,
): Promise<string | undefined> {
  const items = ((await describe({ filters: ec2TagFilters(ctx, key) })).items ?? []).filter((t) => !gone?.(t));
  return oldestFirst(items).map(idOf).find(Boolean);
}

/** A kind's Found from `findInStack`'s answer: the kept resource's record, its ownership and its duplicates. */
export function ec2Found<T, O>(
  kind: string,
  found: Ec2Found<T>,
  idOf: (t: T) => string,
  observed: O,
  attrs?: Record<string, string>,
): Found<O> {
  return {
    record: { kind, id: idOf(found.item), ...(attrs ? { attrs } : {}) },
    owned: found.owned,
    owner: found.owner,
    duplicates: found.duplicates.map((t) => ({ kind, id: idOf(t) })),
    observed,
  };
}

/** Converge an EC2 resource's tags: CreateTags for added and changed keys, DeleteTags for removed ones. */
export async function convergeEc2Tags(
  ctx: Ctx,
  id: string,
  desired: Record<string, string>,
  observed: Record<string, string>,
): Promise<void> {
  await convergeTags(desired, observed, {
    tag: (set) => ctx.aws.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: tagList(set) })),
    untag: (keys) => ctx.aws.ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: keys.map((Key) => ({ Key })) })),
  });
}

/** The managed tags of an EC2 resource (Name is set at creation for the console, never compared). */
export function ec2Tags(ctx: Ctx, t: Tagged): Record<string, string> {
  return managedTags(ctx, tagRecord(t.Tags));
}

/** A FieldChange when the two values differ (compared as JSON: normalise lists before calling). */
export function change(field: string, from: unknown, to: unknown, replace = false): FieldChange[] {
  if (JSON.stringify(from) === JSON.stringify(to)) return [];
  return [replace ? { field, from, to, replace: true } : { field, from, to }];
}

/** Sorted copy, for comparing id lists. */
export function sorted(list: (string | undefined)[] | undefined): string[] {
  return [...new Set((list ?? []).filter((s): s is string => !!s))].sort();
}

/**
 * Call `fn` and retry while AWS says a resource it names does not exist yet: EC2 is eventually
 * consistent, so a call using an id a Create returned a moment ago can fail with a NotFound for a few
 * seconds.
 */
export function retryWhileNotFound<T>(ctx: Ctx, what: string, fn: () => Promise<T>, budgetMs = 60_000): Promise<T> {
  return retryWhile(ctx, what, fn, isNotFound, { budgetMs });
}

/**
 * Delete with `fn`, treating NotFound as done. DependencyViolation is retried within the budget: EC2
 * reports it for a while after the dependants are gone (endpoint ENIs release minutes after the endpoint,
 * and the dependency graph is eventually consistent). AWS's message never says *what* depends on the
 * resource, so `blockers` (when given) is asked, and its answer goes into the progress line and into the
 * error thrown when the budget runs out (still the AWS DependencyViolation, with the blockers appended).
 */
export async function deleteEc2(
  ctx: Ctx,
  what: string,
  fn: () => Promise<unknown>,
  budgetMs = 5 * 60_000,
  blockers?: () => Promise<string[]>,
): Promise<void> {
  let last: unknown;
  const attempt = async (): Promise<true | undefined> => {
    try {
      await fn();
      return true;
    } catch (err) {
      if (isNotFound(err)) return true;
      if (awsErrorCode(err) !== 'DependencyViolation') throw err;
      last = err;
      return undefined;
    }
  };
  if (await attempt()) return;
  const blockedBy = async () => (blockers ? (await blockers().catch(() => [])).join(', ') : '');
  const named = await blockedBy();
  // The first attempt already failed: let waitFor sleep before the next one.
  let first = true;
  try {
    await ctx.waitFor(
      `${what} to be deletable (DependencyViolation${named ? `: used by ${named}` : ''})`,
      async () => (first ? ((first = false), undefined) : attempt()),
      { budgetMs, intervalMs: 10_000 },
    );
  } catch (err) {
    if (!(err instanceof WaitTimeout) || !last) throw err;
    const now = await blockedBy();
    const code = awsErrorCode(last);
    const why = `${(last as Error).message} (still after ${Math.round(budgetMs / 1000)} s; ${now ? `blocked by ${now}` : `nothing visible uses ${what} now: run down again`})`;
    throw reportedAwsError(code, why, last);
  }
}

/**
 * The network interfaces in a subnet or security group, as `eni-0abc (VPC Endpoint Interface vpce-0def)`,
 * and for a group the other groups whose rules reference it: what keeps a delete in DependencyViolation.
 */
export async function networkBlockers(ctx: Ctx, filter: 'subnet-id' | 'group-id', id: string): Promise<string[]> {
  const out = await ctx.aws.ec2.send(
    new DescribeNetworkInterfacesCommand({ Filters: [{ Name: filter, Values: [id] }] }),
  );
  const enis = (out.NetworkInterfaces ?? []).map(
    (n) => `${n.NetworkInterfaceId}${n.Description ? ` (${n.Description})` : ''}`,
  );
  if (filter !== 'group-id') return enis;
  const refs = await ctx.aws.ec2
    .send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'ip-permission.group-id', Values: [id] }] }))
    .then((r) =>
      (r.SecurityGroups ?? [])
        .filter((g) => g.GroupId !== id)
        .map((g) => `security group ${g.GroupId} (a rule references it)`),
    )
    .catch(() => []);
  return [...enis, ...refs];
}

/**
 * Wait until no VPC endpoint network interface remains in a subnet or security group. AWS releases an
 * interface endpoint's ENIs only after the endpoint is gone, sometimes minutes later, and the subnet or
 * group cannot be deleted while they exist. Other ENIs (a running task, a user's instance) are not
 * waited for: the delete then fails with AWS's DependencyViolation, which names the real problem.
 */
export async function waitEndpointEnisReleased(
  ctx: Ctx,
  filter: 'subnet-id' | 'group-id',
  id: string,
  budgetMs = 10 * 60_000,
): Promise<void> {
  let left: string[] = [];
  try {
    await ctx.waitFor(
      `endpoint network interfaces in ${id} to be released`,
      async () => {
        const out = await ctx.aws.ec2.send(
          new DescribeNetworkInterfacesCommand({ Filters: [{ Name: filter, Values: [id] }] }),
        );
        left = (out.NetworkInterfaces ?? [])
          .filter((n) => n.InterfaceType === 'vpc_endpoint')
          .map((n) => n.NetworkInterfaceId ?? '?');
        return left.length ? undefined : true;
      },
      { budgetMs, intervalMs: 10_000 },
    );
  } catch (err) {
    if (err instanceof WaitTimeout && left.length)
      throw new WaitTimeout(
        `endpoint network interfaces in ${id} to be released (still there: ${left.join(', ')})`,
        budgetMs,
      );
    throw err;
  }
}

/**
 * Every resource of one EC2 type tagged with this stack, keyed by its `batchctl:logical` tag (resources
 * without one are not batchctl's and are left out). For `list`, so `down` can sweep tagged orphans.
 */
export async function listTagged<T extends Tagged>(
  ctx: Ctx,
  kind: string,
  type: string,
  idOf: (item: T) => string | undefined,
  describe: Ec2Describe<T>,
): Promise<{ key: string; record: ResourceRecord }[]> {
  const out: { key: string; record: ResourceRecord }[] = [];
  for (const item of await stackItems(ctx, type, describe)) {
    const key = tagRecord(item.Tags)[TAG_LOGICAL];
    const id = idOf(item);
    if (key && id) out.push({ key, record: { kind, id } });
  }
  return out;
}

/** The target id of a route, whatever its type. */
export function routeTarget(r: Route): string {
  return (
    r.GatewayId ??
    r.NatGatewayId ??
    r.TransitGatewayId ??
    r.VpcPeeringConnectionId ??
    r.NetworkInterfaceId ??
    r.InstanceId ??
    r.EgressOnlyInternetGatewayId ??
    r.LocalGatewayId ??
    r.CarrierGatewayId ??
    r.CoreNetworkArn ??
    'unknown'
  );
}

// ---------------------------------------------------------------------------------------------------
// Security group rules

const PROTOCOL_NAMES: Record<string, string> = { '-1': 'all', '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6' };
const PORTED = new Set(['tcp', 'udp', 'icmp', 'icmpv6']);

/**
 * Flatten IpPermissions into sorted atomic rules such as `tcp 443..443 sg-0abc` or `all * 0.0.0.0/0`.
 * AWS merges and splits permissions freely (one permission with two CIDRs comes back as one entry, two
 * authorisations of the same port as one), and names protocols `tcp` or `6`; atoms compare reliably.
 * Rule descriptions are ignored.
 */
export function ruleAtoms(perms: IpPermission[] | undefined): string[] {
  const atoms: string[] = [];
  for (const p of perms ?? []) {
    const raw = (p.IpProtocol ?? '-1').toLowerCase();
    const proto = PROTOCOL_NAMES[raw] ?? raw;
    // For all protocols (and non-TCP/UDP/ICMP numbers) AWS ignores the port range.
    const ports = PORTED.has(proto) && p.FromPort !== undefined ? `${p.FromPort}..${p.ToPort ?? p.FromPort}` : '*';
    const peers = [
      ...(p.IpRanges ?? []).map((r) => r.CidrIp),
      ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6),
      ...(p.UserIdGroupPairs ?? []).map((g) => g.GroupId),
      ...(p.PrefixListIds ?? []).map((l) => l.PrefixListId),
    ];
    for (const peer of peers) if (peer) atoms.push(`${proto} ${ports} ${peer}`);
  }
  return sorted(atoms);
}

/** The IpPermission of one atom from `ruleAtoms`. */
export function atomPermission(atom: string): IpPermission {
  const [proto = 'all', ports = '*', peer = ''] = atom.split(' ');
  const perm: IpPermission = { IpProtocol: proto === 'all' ? '-1' : proto };
  if (ports !== '*') {
    const [from, to] = ports.split('..');
    perm.FromPort = Number(from);
    perm.ToPort = Number(to);
  }
  if (peer.startsWith('sg-')) perm.UserIdGroupPairs = [{ GroupId: peer }];
  else if (peer.startsWith('pl-')) perm.PrefixListIds = [{ PrefixListId: peer }];
  else if (peer.includes(':')) perm.Ipv6Ranges = [{ CidrIpv6: peer }];
  else perm.IpRanges = [{ CidrIp: peer }];
  return perm;
}

// ---------------------------------------------------------------------------------------------------
// Policies

const LIST_KEYS = new Set(['Action', 'NotAction', 'Resource', 'NotResource']);

/**
 * A policy document as canonical JSON: keys sorted, Action/Resource lists sorted (a lone string and a
 * one-element list mean the same), statements sorted, `{"AWS":"*"}` principal written as `*`. AWS
 * returns endpoint policies reformatted, so comparing raw strings would never converge.
 */
export function canonicalPolicy(doc: string | object | undefined): string {
  if (doc === undefined || doc === '') return '';
  const parsed: unknown = typeof doc === 'string' ? JSON.parse(doc) : doc;
  return JSON.stringify(canon(parsed, ''));
}

function canon(v: unknown, key: string): unknown {
  if (LIST_KEYS.has(key) && (typeof v === 'string' || Array.isArray(v)))
    return sorted(([] as string[]).concat(v as string));
  if (key === 'Principal' && v && typeof v === 'object' && !Array.isArray(v)) {
    const aws = (v as Record<string, unknown>).AWS;
    if (Object.keys(v).length === 1 && (aws === '*' || (Array.isArray(aws) && aws.length === 1 && aws[0] === '*')))
      return '*';
  }
  if (Array.isArray(v)) {
    const items = v.map((x) => canon(x, ''));
    return key === 'Statement' ? items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : items;
  }
  if (v && typeof v === 'object') {
    const obj = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj).sort()) out[k] = canon(obj[k], k);
    if (key === '' && out.Statement && !Array.isArray(out.Statement)) out.Statement = [out.Statement];
    return out;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------
// VPC endpoints

/** The endpoint, or undefined when it is gone or going (AWS lists deleted endpoints for a while). */
export async function describeEndpoint(ctx: Ctx, id: string): Promise<VpcEndpoint | undefined> {
  const out = await ifExists(ctx.aws.ec2.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [id] })));
  const ep = out?.VpcEndpoints?.[0];
  return ep && !isGone(ep) ? ep : undefined;
}

function isGone(ep: VpcEndpoint): boolean {
  const s = (ep.State ?? '').toLowerCase();
  return s === 'deleted' || s === 'deleting';
}

/** Describe VPC endpoints, as `findInStack` and `listTagged` want it. */
export const describeEndpoints =
  (ctx: Ctx): Ec2Describe<VpcEndpoint> =>
  async (q) => {
    const out = await ctx.aws.ec2.send(
      new DescribeVpcEndpointsCommand({ VpcEndpointIds: q.ids, Filters: q.filters, NextToken: q.nextToken }),
    );
    return { items: out.VpcEndpoints, nextToken: out.NextToken };
  };

/** Our tagged endpoints of one type (Gateway or Interface) that are not deleted or being deleted. */
export async function listEndpoints(
  ctx: Ctx,
  kind: string,
  type: 'Gateway' | 'Interface',
): Promise<{ key: string; record: ResourceRecord }[]> {
  return listTagged<VpcEndpoint>(
    ctx,
    kind,
    'VpcEndpoint',
    (e) => (e.VpcEndpointType === type && !isGone(e) ? e.VpcEndpointId : undefined),
    describeEndpoints(ctx),
  );
}

/** An endpoint of this stack in the stack's VPC, by its logical tag (ignoring deleted and deleting ones). */
export function findEndpoint(
  ctx: Ctx,
  key: string,
  recorded: ResourceRecord | undefined,
): Promise<Ec2Found<VpcEndpoint> | undefined> {
  return findInStack(ctx, key, recorded, {
    type: 'VpcEndpoint',
    describe: describeEndpoints(ctx),
    idOf: (e) => e.VpcEndpointId!,
    gone: isGone,
    parent: { of: (e) => e.VpcId, id: ctx.maybeRecord(K.vpc)?.id },
  });
}

/** The endpoint kinds' prefetch: the stack's endpoints, one Describe for both kinds. */
export const prefetchEndpoints = prefetchStack('VpcEndpoint', describeEndpoints);

/** Whose an endpoint is (undefined: gone or going). */
export const endpointOwnerOf = (ctx: Ctx, id: string) => ec2OwnerOf(ctx, id, describeEndpoints(ctx), isGone);

/** Wait until the endpoint is available; fail with AWS's reason when it failed or was rejected. */
export async function waitEndpointAvailable(
  ctx: Ctx,
  key: string,
  id: string,
  budgetMs = 10 * 60_000,
): Promise<VpcEndpoint> {
  return ctx.waitFor(
    `${key} pending -> available`,
    async () => {
      const ep = await describeEndpoint(ctx, id);
      const state = (ep?.State ?? '').toLowerCase();
      if (state === 'available') return ep;
      if (state === 'failed' || state === 'rejected') {
        const why = ep?.LastError ? `: ${ep.LastError.Code}: ${ep.LastError.Message}` : '';
        throw new Error(`${key} (${id}) is ${state}${why}`);
      }
      return undefined;
    },
    { budgetMs, intervalMs: 5000 },
  );
}

/**
 * Delete an endpoint and wait until AWS no longer lists it as deleting. DeleteVpcEndpoints does not throw
 * for a failed item: it reports it in `Unsuccessful`, so that list is checked here.
 */
export async function deleteEndpoint(ctx: Ctx, record: ResourceRecord, budgetMs = 10 * 60_000): Promise<void> {
  const out = await ifExists(ctx.aws.ec2.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [record.id] })));
  const failed = out?.Unsuccessful?.find((u) => u.Error && !isNotFound({ Code: u.Error.Code }));
  if (failed?.Error) {
    const { Code = 'DeleteVpcEndpointsFailed', Message } = failed.Error;
    throw reportedAwsError(Code, `${record.id}: ${failed.Error.Code}: ${Message}`);
  }
  await ctx.waitFor(
    `${record.id} to be deleted`,
    async () => {
      const res = await ifExists(ctx.aws.ec2.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [record.id] })));
      const state = (res?.VpcEndpoints?.[0]?.State ?? 'deleted').toLowerCase();
      return state === 'deleted' ? true : undefined;
    },
    { budgetMs, intervalMs: 5000 },
  );
}
