/**
 * Run history: names, the rule's event pattern and the log group's resource policy shared by the
 * events.history-rule, events.history-target, logs.log-group (history node) and logs.resource-policy kinds,
 * and read by `batchctl history` (runs/history.ts).
 *
 * Why a log group: ECS forgets a stopped task about an hour after it stops, so "did last night's run
 * happen" needs a record of its own. EventBridge writes each matching "ECS Task State Change" event, whole,
 * as one log event whose timestamp is the event's time; FilterLogEvents reads them back by time.
 */
import type { StackConfig } from '../config/schema.js';
import type { Ctx } from '../engine/types.js';
import { arn, type PolicyDocument, type PolicyStatement } from './policies.js';

/**
 * The history log group: `/aws/events/batchctl/<stack>/history`. Under `/aws/events/` because that is
 * where the EventBridge console lists (and creates) log groups for rule targets; the API takes any name.
 */
export const historyGroupName = (config: Pick<StackConfig, 'stack'>): string =>
  `/aws/events/batchctl/${config.stack}/history`;

/** The history rule: `<stack>-history` (stack names are at most 32 characters; rule names 64). */
export const historyRuleName = (stack: string): string => `${stack}-history`;

/** Where every stack's history log group lives: `/aws/events/batchctl/<stack>/history`. */
export const HISTORY_GROUP_PREFIX = '/aws/events/batchctl/';

/** The stack a history log group's name belongs to, or undefined for any other name. */
export function stackOfHistoryGroup(name: string | undefined): string | undefined {
  return /^\/aws\/events\/batchctl\/([^/]+)\/history$/.exec(name ?? '')?.[1];
}

/**
 * The log group resource policy: ONE for every batchctl stack of the account and region. CloudWatch Logs
 * allows 10 account-level resource policies per region, not raisable (Route 53, API Gateway, OpenSearch
 * and others take slots too): a policy per stack (what batchctl did before) runs out.
 */
export const SHARED_HISTORY_POLICY = 'batchctl-history';

/** The policy a stack had before the shared one (`up` deletes it once the shared one exists). */
export const legacyHistoryPolicyName = (stack: string): string => `batchctl-${stack}-history`;

/** The history log group's ARN without `:*` (the target's form). */
export const historyGroupArn = (ctx: Ctx): string => arn(ctx, 'logs', `log-group:${historyGroupName(ctx.config)}`);

/** What the shared policy names: every history log group of the region and their streams. */
export const sharedHistoryResource = (ctx: Pick<Ctx, 'partition' | 'region' | 'account'>): string =>
  `arn:${ctx.partition}:logs:${ctx.region}:${ctx.account}:log-group:${HISTORY_GROUP_PREFIX}*`;

/**
 * The shared resource policy EventBridge needs to write to the history groups: CloudWatch Logs targets
 * take no role, so EventBridge (and, for delivery, delivery.logs.amazonaws.com) must be admitted by a
 * resource policy. Its document is the SAME for every stack of the account and region, so that stacks
 * never need to merge their edits: Logs has no conditional update for account-level policies (a revision
 * exists only for log-group-scoped ones), and two stacks writing at once then write the same bytes. It
 * names the history groups by their prefix, and admits PutLogEvents only on behalf of history rules
 * (`<stack>-history`, aws:SourceArn). CreateLogStream carries no such condition: EventBridge does not
 * send the rule as the source of that call, and a condition on it makes delivery fail (AWS's own
 * serverless pattern splits the statement the same way).
 */
export function sharedHistoryPolicy(ctx: Pick<Ctx, 'partition' | 'region' | 'account'>): PolicyDocument {
  const Principal = { Service: ['delivery.logs.amazonaws.com', 'events.amazonaws.com'] };
  const Resource = sharedHistoryResource(ctx);
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'BatchctlHistoryStreams', Effect: 'Allow', Principal, Action: 'logs:CreateLogStream', Resource },
      {
        Sid: 'BatchctlHistoryEvents',
        Effect: 'Allow',
        Principal,
        Action: 'logs:PutLogEvents',
        Resource,
        Condition: {
          ArnLike: { 'aws:SourceArn': `arn:${ctx.partition}:events:${ctx.region}:${ctx.account}:rule/*-history` },
        },
      },
    ],
  };
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

/**
 * Whether a policy document names only resources `allowed` accepts, and at least one: the proof that a
 * resource policy of our name is batchctl's, since it carries no tag. A policy that also names anything
 * else (someone edited it, or another tool chose our name) is not ours to overwrite or delete.
 */
export function namesOnly(doc: PolicyDocument | undefined, allowed: (resource: string) => boolean): boolean {
  if (!doc) return false;
  const stmts: PolicyStatement[] = Array.isArray(doc.Statement)
    ? doc.Statement
    : [doc.Statement as unknown as PolicyStatement];
  const named = stmts.flatMap((s) => list(s.Resource));
  return named.length > 0 && named.every(allowed) && stmts.every((s) => !('NotResource' in s));
}

/** An event pattern for tasks of some families that stopped in one cluster (the alert rule adds to it). */
export interface StoppedTasksPattern {
  source: string[];
  'detail-type': string[];
  detail: { clusterArn: string[]; taskDefinitionArn: { prefix: string }[]; lastStatus: string[] };
}

/**
 * The pattern of the history rule: every "ECS Task State Change" of this cluster that says STOPPED, for
 * the stack's families (matched on the task definition ARN, as the alert rule does: RunTask lets the
 * caller set any `group`, while the task definition ARN always names the family). Step Functions'
 * attempts are tasks of the same families, so each attempt of a retried run is logged.
 */
export function historyEventPattern(clusterArn: string, taskDefinitionPrefixes: string[]): StoppedTasksPattern {
  return {
    source: ['aws.ecs'],
    'detail-type': ['ECS Task State Change'],
    detail: {
      clusterArn: [clusterArn],
      taskDefinitionArn: taskDefinitionPrefixes.map((prefix) => ({ prefix })),
      lastStatus: ['STOPPED'],
    },
  };
}
