/**
 * The CloudWatch Logs groups of the stack: the one the task's awslogs driver writes to (stack.md row 15),
 * and the run history's, where the history rule writes stopped tasks' events (model/history.ts).
 * Both keep `logs.retentionDays`: history reaches back exactly as far as the runs' own logs, so every run
 * `history` lists can be read with `logs --task`. Retention changes in place; the name cannot.
 */
import {
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  ListTagsForResourceCommand,
  PutRetentionPolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type LogGroup,
} from '@aws-sdk/client-cloudwatch-logs';
import { awsErrorCode } from '../base/errors.js';
import { formatBytes } from '../base/format.js';
import type { Ctx, FieldChange, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges } from './lib/tags.js';
import { createUnique } from './lib/create.js';
import { historyGroupName } from '../model/history.js';
import { convergeTags, unlessGone } from './lib/aws-calls.js';

/** The group's settings; `retentionDays` undefined means "never expire". */
export interface LogGroupDesired {
  name: string;
  retentionDays: number | undefined;
  tags: Record<string, string>;
}

const KIND = 'logs.log-group';

/**
 * The ARN without the `:*` that DescribeLogGroups' `arn` carries: the tagging APIs and IAM's
 * group-level actions want the bare form.
 */
const bareArn = (g: LogGroup) => g.logGroupArn ?? g.arn!.replace(/:\*$/, '');

/** DescribeLogGroups matches a prefix, so `/ecs/app` also returns `/ecs/app-old`: keep the exact name. */
async function describe(ctx: Ctx, name: string): Promise<LogGroup | undefined> {
  let nextToken: string | undefined;
  do {
    const out = await ctx.aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name, nextToken }));
    const hit = out.logGroups?.find((g) => g.logGroupName === name);
    if (hit) return hit;
    nextToken = out.nextToken;
  } while (nextToken);
  return undefined;
}

const recordOf = (g: LogGroup): ResourceRecord => ({ kind: KIND, id: g.logGroupName!, arn: bareArn(g) });

/** A group's tags by its ARN, read once per walk. */
function tagsOf(ctx: Ctx, arn: string): Promise<Record<string, string>> {
  return ctx.memo(
    `logs:tags:${arn}`,
    async () => (await ctx.aws.logs.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags ?? {},
  );
}

export const logGroup: ResourceKind<LogGroupDesired, { name: string }> = {
  kind: KIND,
  label: 'CloudWatch log group',
  dependsOn: [],
  costly: false,
  nodes: (config) => [
    { key: K.logGroup, deps: [], params: { name: config.logs.group } },
    { key: K.historyLogGroup, deps: [], params: { name: historyGroupName(config) } },
  ],
  desired: (ctx, node) => ({
    name: node.params.name,
    retentionDays: ctx.config.logs.retentionDays,
    tags: resourceTags(ctx, node.key),
  }),

  // A recorded group's tags (by its recorded ARN) go out in the walk's first round, with its lookup.
  prefetch(ctx, nodes) {
    for (const n of nodes) {
      const arn = ctx.maybeRecord(n.key)?.arn;
      if (arn) tagsOf(ctx, arn).catch(() => undefined);
    }
  },

  async find(ctx, node, recorded) {
    // DescribeLogGroups carries no tags: one more read, which is also what the tag diff needs.
    for (const name of new Set([recorded?.id, node.params.name].filter((n): n is string => !!n))) {
      const g = await describe(ctx, name);
      if (!g) continue;
      const tags = await tagsOf(ctx, bareArn(g));
      return {
        record: recordOf(g),
        observed: { name, retentionDays: g.retentionInDays, tags: managedTags(ctx, tags) },
        ...ownershipOf(ctx, tags),
      };
    }
    return undefined;
  },

  async create(ctx, _node, desired) {
    // Names are unique: "already exists" right after our attempt is that attempt's group.
    await createUnique(
      'CloudWatch log group',
      desired.name,
      () => ctx.aws.logs.send(new CreateLogGroupCommand({ logGroupName: desired.name, tags: desired.tags })),
      (err) => awsErrorCode(err) === 'ResourceAlreadyExistsException',
      async () => {
        const g = await describe(ctx, desired.name);
        return g && { ...ownershipOf(ctx, await tagsOf(ctx, bareArn(g))), value: undefined };
      },
    );
    // CreateLogGroup cannot set retention; until this call the group would keep logs forever.
    if (desired.retentionDays !== undefined) {
      await ctx.aws.logs.send(
        new PutRetentionPolicyCommand({ logGroupName: desired.name, retentionInDays: desired.retentionDays }),
      );
    }
    // CreateLogGroup returns nothing; the ARN follows a fixed pattern.
    return {
      kind: KIND,
      id: desired.name,
      arn: `arn:${ctx.partition}:logs:${ctx.region}:${ctx.account}:log-group:${desired.name}`,
    };
  },

  diff(desired, observed): FieldChange[] {
    const changes: FieldChange[] = [];
    if (desired.name !== observed.name)
      changes.push({ field: 'name', from: observed.name, to: desired.name, replace: true });
    if (desired.retentionDays !== observed.retentionDays) {
      changes.push({
        field: 'retentionInDays',
        from: observed.retentionDays ?? 'never expire',
        to: desired.retentionDays ?? 'never expire',
      });
    }
    changes.push(...tagChanges(desired.tags, observed.tags));
    return changes;
  },

  async update(ctx, _node, found, desired, changes) {
    const arn = found.record.arn;
    // The retention and the tags are independent calls: together.
    await Promise.all([
      desired.retentionDays !== undefined &&
        changes.some((c) => c.field === 'retentionInDays') &&
        ctx.aws.logs.send(
          new PutRetentionPolicyCommand({ logGroupName: found.record.id, retentionInDays: desired.retentionDays }),
        ),
      hasTagChange(changes) &&
        arn &&
        convergeTags(desired.tags, found.observed.tags, {
          tag: (tags) => ctx.aws.logs.send(new TagResourceCommand({ resourceArn: arn, tags })),
          untag: (tagKeys) => ctx.aws.logs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys })),
        }),
    ]);
  },

  async ownerOf(ctx, rec) {
    const g = await describe(ctx, rec.id);
    return g && ownershipOf(ctx, await tagsOf(ctx, bareArn(g)));
  },

  // The log events go with the group: `down` says how much (retention expires them anyway, so it does
  // not ask for --force; --keep-logs keeps the group). CloudWatch updates storedBytes with a delay.
  async contents(ctx, rec) {
    const bytes = (await describe(ctx, rec.id))?.storedBytes ?? 0;
    return bytes > 0
      ? { count: bytes, description: `${formatBytes(bytes)} of log events`, needsForce: false }
      : undefined;
  },

  async delete(ctx, rec) {
    await unlessGone(ctx.aws.logs.send(new DeleteLogGroupCommand({ logGroupName: rec.id })));
  },
};
