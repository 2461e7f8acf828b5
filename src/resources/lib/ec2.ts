/**
 * Helpers shared by the EC2 network kinds (VPC, subnets, route tables, security groups, endpoints).
 */
import {
  DeleteVpcEndpointsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointsCommand,
  type IpPermission,
  type ResourceType,
  type TagSpecification,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2';
import { UserError, WaitTimeout, awsErrorCode, isNotFound } from '../../core/errors.js';
import { TAG_LOGICAL, TAG_STACK, type Ctx, type FieldChange, type ResourceRecord } from '../../core/types.js';
import { ec2TagFilters, isOurs, resourceTags, tagList, tagRecord } from './tags.js';

/** The Name tag EC2 resources carry (for the console; never used to find anything: it is not unique). */
export function ec2Name(ctx: Ctx, key: string): string {
  return `${ctx.stack}-${key.replaceAll('/', '-')}`;
}

/** TagSpecifications that tag an EC2 resource at creation with our tags plus Name. */
export function tagSpecs(ctx: Ctx, resourceType: ResourceType, key: string): TagSpecification[] {
  return [{ ResourceType: resourceType, Tags: tagList(resourceTags(ctx, key, { Name: ec2Name(ctx, key) })) }];
}

/** The resource, or undefined when AWS says it does not exist. */
export async function unlessNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Look an EC2 resource up by its recorded id, else by our tags. Describe-by-id throws a NotFound for an
 * id that is gone (state file older than the stack), which means "look by tags".
 */
export async function findTagged<T extends { Tags?: { Key?: string; Value?: string }[] }>(
  ctx: Ctx,
  key: string,
  what: string,
  recorded: ResourceRecord | undefined,
  describe: (q: { ids?: string[]; filters?: { Name: string; Values: string[] }[] }) => Promise<T[] | undefined>,
): Promise<{ item: T; owned: boolean } | undefined> {
  if (recorded) {
    const [item] = (await unlessNotFound(describe({ ids: [recorded.id] }))) ?? [];
    if (item) return { item, owned: true };
  }
  const items = (await describe({ filters: ec2TagFilters(ctx, key) })) ?? [];
  return pickOne(ctx, key, what, items);
}

/**
 * One tagged match, or a clear error when an earlier crashed run left a duplicate. `what` is the EC2 type
 * name whose `<what>Id` field holds the id (Vpc, Subnet, RouteTable, Group, VpcEndpoint).
 */
export function pickOne<T extends { Tags?: { Key?: string; Value?: string }[] }>(
  ctx: Ctx, key: string, what: string, items: T[],
): { item: T; owned: boolean } | undefined {
  const idOf = (t: T) => (t as Record<string, unknown>)[`${what}Id`];
  if (items.length > 1) {
    throw new UserError(
      `${items.length} ${what}s carry the tags of ${key} in stack ${ctx.stack}: ${items.map(idOf).join(', ')}`,
      'an interrupted run probably created a duplicate; delete the extra one (keep the one in the state file) and run again',
    );
  }
  const item = items[0];
  return item ? { item, owned: isOurs(ctx, tagRecord(item.Tags)) } : undefined;
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
 * Call `fn` and retry while AWS says the resource it just returned does not exist yet: EC2 is
 * eventually consistent, so a call right after a Create can fail with a NotFound for a few seconds.
 */
export async function retryWhileNotFound<T>(ctx: Ctx, what: string, fn: () => Promise<T>, budgetMs = 60_000): Promise<T> {
  let last: unknown;
  try {
    return await ctx.waitFor(what, async () => {
      try {
        return { v: await fn() };
      } catch (err) {
        if (!isNotFound(err)) throw err;
        last = err;
        return undefined;
      }
    }, { budgetMs, intervalMs: 2000 }).then((r) => r.v);
  } catch (err) {
    throw err instanceof WaitTimeout && last ? last : err;
  }
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
    throw Object.assign(new Error(why), { name: code, Code: code, cause: last });
  }
}

/**
 * The network interfaces in a subnet or security group, as `eni-0abc (VPC Endpoint Interface vpce-0def)`,
 * and for a group the other groups whose rules reference it: what keeps a delete in DependencyViolation.
 */
export async function networkBlockers(ctx: Ctx, filter: 'subnet-id' | 'group-id', id: string): Promise<string[]> {
  const out = await ctx.aws.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: filter, Values: [id] }] }));
  const enis = (out.NetworkInterfaces ?? []).map((n) => `${n.NetworkInterfaceId}${n.Description ? ` (${n.Description})` : ''}`);
  if (filter !== 'group-id') return enis;
  const refs = await ctx.aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'ip-permission.group-id', Values: [id] }] }))
    .then((r) => (r.SecurityGroups ?? []).filter((g) => g.GroupId !== id).map((g) => `security group ${g.GroupId} (a rule references it)`))
    .catch(() => []);
  return [...enis, ...refs];
}

/**
 * Wait until no VPC endpoint network interface remains in a subnet or security group. AWS releases an
 * interface endpoint's ENIs only after the endpoint is gone, sometimes minutes later, and the subnet or
 * group cannot be deleted while they exist. Other ENIs (a running task, a user's instance) are not
 * waited for: the delete then fails with AWS's DependencyViolation, which names the real problem.
 */
export async function waitEndpointEnisReleased(ctx: Ctx, filter: 'subnet-id' | 'group-id', id: string, budgetMs = 10 * 60_000): Promise<void> {
  let left: string[] = [];
  try {
    await ctx.waitFor(`endpoint network interfaces in ${id} to be released`, async () => {
      const out = await ctx.aws.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: filter, Values: [id] }] }));
      left = (out.NetworkInterfaces ?? []).filter((n) => n.InterfaceType === 'vpc_endpoint').map((n) => n.NetworkInterfaceId ?? '?');
      return left.length ? undefined : true;
    }, { budgetMs, intervalMs: 10_000 });
  } catch (err) {
    if (err instanceof WaitTimeout && left.length) throw new WaitTimeout(`endpoint network interfaces in ${id} to be released (still there: ${left.join(', ')})`, budgetMs);
    throw err;
  }
}

/**
 * Every resource of one EC2 type tagged with this stack, keyed by its `batchctl:logical` tag (resources
 * without one are not batchctl's and are left out). For `list`, so `down` can sweep tagged orphans.
 */
export async function listTagged<T extends { Tags?: { Key?: string; Value?: string }[] }>(
  ctx: Ctx,
  kind: string,
  idOf: (item: T) => string | undefined,
  page: (q: { filters: { Name: string; Values: string[] }[]; nextToken?: string }) => Promise<{ items?: T[]; nextToken?: string }>,
): Promise<{ key: string; record: ResourceRecord }[]> {
  const out: { key: string; record: ResourceRecord }[] = [];
  let nextToken: string | undefined;
  do {
    const res = await page({ filters: [{ Name: `tag:${TAG_STACK}`, Values: [ctx.stack] }], nextToken });
    for (const item of res.items ?? []) {
      const key = tagRecord(item.Tags)[TAG_LOGICAL];
      const id = idOf(item);
      if (key && id) out.push({ key, record: { kind, id } });
    }
    nextToken = res.nextToken;
  } while (nextToken);
  return out;
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
  if (LIST_KEYS.has(key) && (typeof v === 'string' || Array.isArray(v))) return sorted(([] as string[]).concat(v as string));
  if (key === 'Principal' && v && typeof v === 'object' && !Array.isArray(v)) {
    const aws = (v as Record<string, unknown>).AWS;
    if (Object.keys(v).length === 1 && (aws === '*' || (Array.isArray(aws) && aws.length === 1 && aws[0] === '*'))) return '*';
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
  const out = await unlessNotFound(ctx.aws.ec2.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [id] })));
  const ep = out?.VpcEndpoints?.[0];
  return ep && !isGone(ep) ? ep : undefined;
}

function isGone(ep: VpcEndpoint): boolean {
  const s = (ep.State ?? '').toLowerCase();
  return s === 'deleted' || s === 'deleting';
}

/** Our tagged endpoints of one type (Gateway or Interface) that are not deleted or being deleted. */
export async function listEndpoints(ctx: Ctx, kind: string, type: 'Gateway' | 'Interface'): Promise<{ key: string; record: ResourceRecord }[]> {
  return listTagged<VpcEndpoint>(ctx, kind, (e) => (e.VpcEndpointType === type && !isGone(e) ? e.VpcEndpointId : undefined), async (q) => {
    const out = await ctx.aws.ec2.send(new DescribeVpcEndpointsCommand({ Filters: q.filters, NextToken: q.nextToken }));
    return { items: out.VpcEndpoints, nextToken: out.NextToken };
  });
}

/** An endpoint by its recorded id, else by our tags (ignoring deleted and deleting ones). */
export async function findEndpoint(ctx: Ctx, key: string, recorded: ResourceRecord | undefined): Promise<{ item: VpcEndpoint; owned: boolean } | undefined> {
  if (recorded) {
    const ep = await describeEndpoint(ctx, recorded.id);
    if (ep) return { item: ep, owned: true };
  }
  const out = await ctx.aws.ec2.send(new DescribeVpcEndpointsCommand({ Filters: ec2TagFilters(ctx, key) }));
  return pickOne(ctx, key, 'VpcEndpoint', (out.VpcEndpoints ?? []).filter((e) => !isGone(e)));
}

/** Wait until the endpoint is available; fail with AWS's reason when it failed or was rejected. */
export async function waitEndpointAvailable(ctx: Ctx, key: string, id: string, budgetMs = 10 * 60_000): Promise<VpcEndpoint> {
  return ctx.waitFor(`${key} pending -> available`, async () => {
    const ep = await describeEndpoint(ctx, id);
    const state = (ep?.State ?? '').toLowerCase();
    if (state === 'available') return ep;
    if (state === 'failed' || state === 'rejected') {
      const why = ep?.LastError ? `: ${ep.LastError.Code}: ${ep.LastError.Message}` : '';
      throw new Error(`${key} (${id}) is ${state}${why}`);
    }
    return undefined;
  }, { budgetMs, intervalMs: 5000 });
}

/**
 * Delete an endpoint and wait until AWS no longer lists it as deleting. DeleteVpcEndpoints does not throw
 * for a failed item: it reports it in `Unsuccessful`, so that list is checked here.
 */
export async function deleteEndpoint(ctx: Ctx, record: ResourceRecord, budgetMs = 10 * 60_000): Promise<void> {
  const out = await unlessNotFound(ctx.aws.ec2.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [record.id] })));
  const failed = out?.Unsuccessful?.find((u) => u.Error && !isNotFound({ Code: u.Error.Code }));
  if (failed?.Error) {
    throw Object.assign(new Error(`${record.id}: ${failed.Error.Code}: ${failed.Error.Message}`), { name: failed.Error.Code });
  }
  await ctx.waitFor(`${record.id} to be deleted`, async () => {
    const res = await unlessNotFound(ctx.aws.ec2.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [record.id] })));
    const state = (res?.VpcEndpoints?.[0]?.State ?? 'deleted').toLowerCase();
    return state === 'deleted' ? true : undefined;
  }, { budgetMs, intervalMs: 5000 });
}
