/**
 * The history rule's CloudWatch Logs target: the history log group. No role and no input transformer:
 * EventBridge writes under the group's resource policy (logs-resource-policy), and the whole event is the
 * log message, its time the log event's timestamp. Targets are not taggable and have no ARN; one belongs
 * to us when its rule does.
 */
import { PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import type { FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { historyGroupArn, historyRuleName } from '../model/history.js';
import {
  checkFailedEntries,
  findTarget,
  prefetchTargets,
  removeTarget,
  ruleOwnership,
  targetOwnership,
} from './lib/events.js';
import { foundWith } from './lib/tags.js';

export const HISTORY_TARGET_ID = 'history';

export interface HistoryTargetDesired {
  rule: string;
  /** The log group ARN, without `:*`. */
  arn: string;
}

const put = (d: HistoryTargetDesired) =>
  new PutTargetsCommand({ Rule: d.rule, Targets: [{ Id: HISTORY_TARGET_ID, Arn: d.arn }] });

/** The history rule's log group target. */
export const eventsHistoryTarget: ResourceKind<HistoryTargetDesired> = {
  kind: 'events.history-target',
  label: 'EventBridge history target',
  dependsOn: ['events.history-rule', 'logs.log-group', 'logs.resource-policy'],
  costly: false,

  // After the policy: until it exists, EventBridge's deliveries to the group would be refused.
  nodes: () => [
    {
      key: K.historyTarget,
      deps: [K.historyRule, K.historyLogGroup, K.historyLogPolicy],
      partOf: [K.historyRule],
      params: {},
    },
  ],

  prefetch: (ctx) => prefetchTargets(ctx, [ctx.maybeRecord(K.historyRule)?.id]),

  desired: (ctx) => {
    const group = ctx.record(K.historyLogGroup);
    return { rule: ctx.record(K.historyRule).id, arn: group.arn?.replace(/:\*$/, '') ?? historyGroupArn(ctx) };
  },

  async find(ctx, _node, recorded) {
    const rule = recorded?.attrs?.rule ?? ctx.maybeRecord(K.historyRule)?.id ?? historyRuleName(ctx.stack);
    const t = await findTarget(ctx, rule, HISTORY_TARGET_ID);
    if (!t) return undefined;
    return foundWith(await targetOwnership(ctx, K.historyRule, rule), {
      record: { kind: 'events.history-target', id: `${rule}:${HISTORY_TARGET_ID}`, attrs: { rule } },
      observed: { rule, arn: t.Arn ?? '' },
    });
  },

  async create(ctx, _node, d) {
    checkFailedEntries(await ctx.aws.eventBridge.send(put(d)));
    return { kind: 'events.history-target', id: `${d.rule}:${HISTORY_TARGET_ID}`, attrs: { rule: d.rule } };
  },

  diff(d, o) {
    const changes: FieldChange[] = [];
    if (d.rule !== o.rule) changes.push({ field: 'rule', from: o.rule, to: d.rule, replace: true });
    if (d.arn !== o.arn) changes.push({ field: 'arn', from: o.arn, to: d.arn });
    return changes;
  },

  async update(ctx, _node, _found, d) {
    // PutTargets with the same Id replaces the whole target.
    checkFailedEntries(await ctx.aws.eventBridge.send(put(d)));
  },

  async delete(ctx, record) {
    await removeTarget(ctx, record, HISTORY_TARGET_ID);
  },

  ownerOf: (ctx, record) => ruleOwnership(ctx, record.attrs?.rule ?? record.id.slice(0, record.id.lastIndexOf(':'))),
};
