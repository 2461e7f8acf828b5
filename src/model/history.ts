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
export const historyGroupName = (config: Pick<StackConfig, 'stack'>): string => `/aws/events/batchctl/${config.stack}/history`;

/** The history rule: `<stack>-history` (stack names are at most 32 characters; rule names 64). */
export const historyRuleName = (stack: string): string => `${stack}-history`;

/**
 * The log group resource policy: ONE per stack. CloudWatch Logs allows 10 resource policies per account
 * and region, so a policy per job (or per rule) would run out; the name says whose it is.
 */
export const historyPolicyName = (stack: string): string => `batchctl-${stack}-history`;

/** The history log group's ARN without `:*` (the target's form). */
export const historyGroupArn = (ctx: Ctx): string => arn(ctx, 'logs', `log-group:${historyGroupName(ctx.config)}`);

/**
 * The resources our policy may name: the group and its streams (`...:log-group:<name>:*`). The policy is
 * not taggable: it is ours exactly when it names only these (see `namesOnly`).
 */
export const historyPolicyResources = (ctx: Ctx): string[] => [`${historyGroupArn(ctx)}:*`];

/**
 * The resource policy EventBridge needs to write to the group: CloudWatch Logs targets take no role, so
 * EventBridge (and, for delivery, delivery.logs.amazonaws.com) must be admitted by the group's resource
 * policy. PutLogEvents is admitted only on behalf of this stack's history rule (`aws:SourceArn`), so no
 * other rule of the account can fill our history with events of its own. CreateLogStream carries no
 * such condition: EventBridge does not send the rule as the source of that call, and a condition on it
 * makes delivery fail (AWS's own serverless pattern splits the statement the same way).
 */
export function historyLogPolicy(ctx: Ctx): PolicyDocument {
  const Principal = { Service: ['delivery.logs.amazonaws.com', 'events.amazonaws.com'] };
  const Resource = historyPolicyResources(ctx);
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'HistoryStreams', Effect: 'Allow', Principal, Action: 'logs:CreateLogStream', Resource },
      {
        Sid: 'HistoryEvents', Effect: 'Allow', Principal, Action: 'logs:PutLogEvents', Resource,
        Condition: { ArnEquals: { 'aws:SourceArn': arn(ctx, 'events', `rule/${historyRuleName(ctx.stack)}`) } },
      },
    ],
  };
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

/**
 * Whether a policy document names only `resources` (and at least one of them): the proof that a
 * resource policy of our name is ours, since it carries no tag. A policy that also names another group
 * (someone edited it, or another tool chose our name) is not ours to overwrite or delete.
 */
export function namesOnly(doc: PolicyDocument | undefined, resources: string[]): boolean {
  if (!doc) return false;
  const stmts: PolicyStatement[] = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement as unknown as PolicyStatement];
  const named = stmts.flatMap((s) => list(s.Resource));
  const allowed = new Set(resources.flatMap((r) => [r, r.replace(/:\*$/, '')]));
  return named.length > 0 && named.every((r) => allowed.has(r)) && stmts.every((s) => !('NotResource' in s));
}

/**
 * The pattern of the history rule: every "ECS Task State Change" of this cluster that says STOPPED, for
 * the stack's families (matched on the task definition ARN, as the alert rule does: RunTask lets the
 * caller set any `group`, while the task definition ARN always names the family). Step Functions'
 * attempts are tasks of the same families, so each attempt of a retried run is logged.
 */
export function historyEventPattern(clusterArn: string, taskDefinitionPrefixes: string[]): Record<string, unknown> {
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
