/**
 * The EventBridge rule (default bus) that records every run: ECS task state changes of this cluster and
 * the stack's families that say STOPPED. Its target (events-history-target) writes them to the history
 * log group, which keeps them for `logs.retentionDays` while ECS forgets a stopped task after an hour.
 */
import { K } from '../model/keys.js';
import { historyEventPattern, historyRuleName } from '../model/history.js';
import { patternRuleKind, type PatternRuleDesired } from './lib/pattern-rule.js';
import { HISTORY_TARGET_ID } from './events-history-target.js';

/** The run history rule's settings. */
export type HistoryRuleDesired = PatternRuleDesired;

/** The run history rule: every stack has one. */
export const eventsHistoryRule = patternRuleKind({
  kind: 'events.history-rule',
  label: 'EventBridge history rule',
  key: K.historyRule,
  when: () => true,
  name: (ctx) => historyRuleName(ctx.stack),
  pattern: historyEventPattern,
  targetId: HISTORY_TARGET_ID,
  description: (ctx) => `Stopped tasks of batchctl stack ${ctx.stack} to its run history log group`,
});
