/**
 * The CloudWatch Logs group the task's awslogs driver writes to (stack.md row 15). Retention changes in
 * place; the name cannot.
 */
import {
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  ListTagsForResourceCommand,
  PutRetentionPolicyCommand,
  type LogGroup,
} from '@aws-sdk/client-cloudwatch-logs';
import { awsErrorCode } from '../core/errors.js';
import { formatBytes } from '../core/format.js';
import type { Ctx, FieldChange, ResourceKind, ResourceRecord } from '../core/types.js';
import { K } from './lib/keys.js';
import { isOurs, resourceTags } from './lib/tags.js';

/** The group's settings; `retentionDays` undefined means "never expire". */
export interface LogGroupDesired {
  name: string;
  retentionDays: number | undefined;
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

export const logGroup: ResourceKind<LogGroupDesired, { name: string }> = {
  kind: KIND,
  label: 'CloudWatch log group',
  dependsOn: [],
  costly: false,
  nodes: (config) => [{ key: K.logGroup, deps: [], params: { name: config.logs.group } }],
  desired: (ctx, node) => ({ name: node.params.name, retentionDays: ctx.config.logs.retentionDays }),

  async find(ctx, node, recorded) {
    for (const name of new Set([recorded?.id, node.params.name].filter((n): n is string => !!n))) {
      const g = await describe(ctx, name);
      if (!g) continue;
      const owned =
        name === recorded?.id || isOurs(ctx, (await ctx.aws.logs.send(new ListTagsForResourceCommand({ resourceArn: bareArn(g) }))).tags);
      return { record: recordOf(g), observed: { name, retentionDays: g.retentionInDays }, owned };
    }
    return undefined;
  },

  async create(ctx, node, desired) {
    await ctx.aws.logs.send(new CreateLogGroupCommand({ logGroupName: desired.name, tags: resourceTags(ctx, node.key) }));
    // CreateLogGroup cannot set retention; until this call the group would keep logs forever.
    if (desired.retentionDays !== undefined) {
      await ctx.aws.logs.send(new PutRetentionPolicyCommand({ logGroupName: desired.name, retentionInDays: desired.retentionDays }));
    }
    // CreateLogGroup returns nothing; the ARN follows a fixed pattern.
    return { kind: KIND, id: desired.name, arn: `arn:${ctx.partition}:logs:${ctx.region}:${ctx.account}:log-group:${desired.name}` };
  },

  diff(desired, observed): FieldChange[] {
    const changes: FieldChange[] = [];
    if (desired.name !== observed.name) changes.push({ field: 'name', from: observed.name, to: desired.name, replace: true });
    if (desired.retentionDays !== observed.retentionDays) {
      changes.push({ field: 'retentionInDays', from: observed.retentionDays ?? 'never expire', to: desired.retentionDays ?? 'never expire' });
    }
    return changes;
  },

  async update(ctx, _node, found, desired) {
    if (desired.retentionDays !== undefined) {
      await ctx.aws.logs.send(new PutRetentionPolicyCommand({ logGroupName: found.record.id, retentionInDays: desired.retentionDays }));
    }
  },

  // The log events go with the group: `down` says how much (retention expires them anyway, so it does
  // not ask for --force; --keep-logs keeps the group). CloudWatch updates storedBytes with a delay.
  async contents(ctx, rec) {
    const bytes = (await describe(ctx, rec.id))?.storedBytes ?? 0;
    return bytes > 0 ? { count: bytes, description: `${formatBytes(bytes)} of log events`, needsForce: false } : undefined;
  },

  async delete(ctx, rec) {
    try {
      await ctx.aws.logs.send(new DeleteLogGroupCommand({ logGroupName: rec.id }));
    } catch (err) {
      if (awsErrorCode(err) !== 'ResourceNotFoundException') throw err;
    }
  },
};
