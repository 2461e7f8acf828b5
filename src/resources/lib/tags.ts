import { TAG_LOGICAL, TAG_STACK, type Ctx } from '../../core/types.js';

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

/** True when the tags say this resource belongs to this stack. */
export function isOurs(ctx: Ctx, tags: Record<string, string> | undefined): boolean {
  return tags?.[TAG_STACK] === ctx.stack;
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
