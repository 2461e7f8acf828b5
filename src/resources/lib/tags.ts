import { TAG_LOGICAL, TAG_STACK, type Ctx, type FieldChange, type Found, type Ownership } from '../../engine/types.js';

/** The tags of one resource: the stack tag, the config's extra tags, and the node's logical name. */
export function resourceTags(ctx: Ctx, key: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...ctx.baseTags, [TAG_LOGICAL]: key, ...extra };
}

/** `[{Key, Value}]`, the form EC2, ECR, IAM, Secrets Manager and S3 take. */
export function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** `[{key, value}]`, the form ECS takes. */
export function ecsTagList(tags: Record<string, string>): { key: string; value: string }[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

export function tagRecord(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** ECS's `[{key, value}]` as a record. */
export function ecsTagRecord(tags: { key?: string; value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key ?? '', t.value ?? '']));
}

/** True when the tags say this resource belongs to this stack. */
export function isOurs(ctx: Pick<Ctx, 'stack'>, tags: Record<string, string> | undefined): boolean {
  return tags?.[TAG_STACK] === ctx.stack;
}

/** Ownership read from a resource's own tags: ours, another stack's (named), or nobody's (null). */
export function ownershipOf(ctx: Pick<Ctx, 'stack'>, tags: Record<string, string> | undefined): Ownership {
  const stack = tags?.[TAG_STACK];
  return stack === ctx.stack ? { owned: true } : { owned: false, owner: stack ?? null };
}

export { describeOwner } from '../../engine/types.js';

/**
 * The ownership of something AWS cannot tag, which is ours exactly when its parent is. When this walk
 * already assessed the parent node and found the same resource (`parentId`), its verdict is reused (no
 * call); otherwise `read` reads the parent's ownership (undefined: the parent is gone).
 */
export async function inheritedOwnership(
  ctx: Ctx,
  parentKey: string,
  parentId: string,
  read: () => Promise<Ownership | undefined>,
): Promise<Ownership | undefined> {
  const seen = ctx.assessed(parentKey);
  if (seen && (seen.record.id === parentId || seen.record.arn === parentId))
    return { owned: seen.owned, ...(seen.owned ? {} : { owner: seen.owner }) };
  return read();
}

/** A Found for an untaggable resource: its record and observed settings with the parent's ownership. */
export function foundWith<O>(own: Ownership | undefined, found: Omit<Found<O>, 'owned' | 'owner'>): Found<O> {
  // A parent that vanished between the two reads owns nothing.
  const o = own ?? { owned: false, owner: null };
  return { ...found, owned: o.owned, ...(o.owned ? {} : { owner: o.owner }) };
}

/** EC2 filters that find a resource by our tags. */
export function ec2TagFilters(ctx: Ctx, key: string): { Name: string; Values: string[] }[] {
  return [
    { Name: `tag:${TAG_STACK}`, Values: [ctx.stack] },
    { Name: `tag:${TAG_LOGICAL}`, Values: [key] },
  ];
}

/** A deterministic, run-scoped idempotency token (CreateVpcEndpoint etc. take up to 64 ASCII chars). */
export async function clientToken(ctx: Ctx, key: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(`${ctx.stack}\0${key}\0${ctx.runId}`).digest('hex').slice(0, 64);
}

// ---------------------------------------------------------------------------------------------------
// Tag convergence

/**
 * The tags batchctl manages among a resource's tags (ctx.tagKeys): what `find` observes, so a key the
 * config dropped shows up as a removal while tags others add are invisible to the diff.
 */
export function managedTags(
  ctx: Pick<Ctx, 'tagKeys'>,
  all: Record<string, string> | undefined,
): Record<string, string> {
  return Object.fromEntries(Object.entries(all ?? {}).filter(([k]) => ctx.tagKeys.has(k)));
}

/** What converges a resource's tags: keys to set (added or changed), and keys to remove. */
export interface TagDelta {
  set: Record<string, string>;
  remove: string[];
}

/** The delta from `observed` (managed tags only, see managedTags) to `desired`. */
export function tagDelta(desired: Record<string, string> = {}, observed: Record<string, string> = {}): TagDelta {
  const set = Object.fromEntries(Object.entries(desired).filter(([k, v]) => observed[k] !== v));
  const remove = Object.keys(observed)
    .filter((k) => !(k in desired))
    .sort();
  return { set, remove };
}

/**
 * `plan`'s view of a tag delta: one `tags` change, from the affected keys' current values to their new
 * ones (a removed key is in `from` and not in `to`). Empty when the tags have converged.
 */
export function tagChanges(desired: Record<string, string> = {}, observed: Record<string, string> = {}): FieldChange[] {
  const d = tagDelta(desired, observed);
  const keys = [...Object.keys(d.set), ...d.remove].sort();
  if (!keys.length) return [];
  const pick = (src: Record<string, string>, ks: string[]) =>
    Object.fromEntries(ks.filter((k) => k in src).map((k) => [k, src[k]!]));
  return [{ field: 'tags', from: pick(observed, keys), to: pick(desired, Object.keys(d.set).sort()) }];
}

/** True when a change list carries a tag change. */
export const hasTagChange = (changes: FieldChange[]) => changes.some((c) => c.field === 'tags');
