/**
 * The EventBridge rule (default bus) that catches failed runs: ECS task state changes of this cluster and
 * task family that stopped with a non-zero exit code or never started. Its target (events-alert-target)
 * sends them to SNS. ECS emits these events to the default bus by itself: no setting on the cluster.
 */
import { K } from '../model/keys.js';
import { alertEventPattern, alertRuleName, alertsOn } from '../model/notify.js';
import { patternRuleKind, type PatternRuleDesired } from './lib/pattern-rule.js';
import { ALERT_TARGET_ID } from './events-alert-target.js';

/** The failed-run rule's settings. */
export type AlertRuleDesired = PatternRuleDesired;

/** The failed-run rule: only with `notify:`. */
export const eventsAlertRule = patternRuleKind({
  kind: 'events.alert-rule',
  label: 'EventBridge alert rule',
  key: K.alertRule,
  when: alertsOn,
  name: alertRuleName,
  pattern: alertEventPattern,
  targetId: ALERT_TARGET_ID,
  description: (ctx) =>
    ctx.config.jobs.length === 1
      ? `Failed runs of ${ctx.config.jobs[0]!.task.family} (batchctl stack ${ctx.stack}) to SNS`
      : `Failed runs of the jobs of batchctl stack ${ctx.stack} to SNS`,
});
