/**
 * Failure alerts end to end on the stateful fake AWS: `up` with notify.emails and with notify.topicArn,
 * idempotency, a failed-task event delivered through the alert rule to SNS, `status`, removing notify
 * from the config (the engine prunes the alert resources) and `down`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CreateTopicCommand, SetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, upOn, type Scratch } from '../helpers/stack.js';
import { runDown } from '../../src/stack/down.js';
import { runStatus } from '../../src/runs/status.js';
import { runPlan } from '../../src/stack/plan.js';
import { renderStatus } from '../../src/cli/commands/status.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { K } from '../../src/model/keys.js';

/** The failure alerts among a delivery's invocations (the run history's log target gets every stopped task too). */
const alertsOf = <T extends { rule: string }>(out: T[]): T[] => out.filter((d) => d.rule !== 'sample-batch-history');

const ACCOUNT = '123456789012';
const REGION = 'ap-northeast-1';
const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:sample-batch-alerts`;
const RULE = 'sample-batch-failed-runs';
const RULE_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:rule/${RULE}`;
const USER_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:ops-alerts`;
const TASK_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/sample-batch/0f8b2c6a1d2e4f5a9b8c7d6e5f4a3b2c`;
const EMAILS = ['ops@example.com', 'oncall@example.com'];
const BASE = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');
const WITH_EMAILS = `${BASE}\nnotify:\n  emails: [${EMAILS.join(', ')}]\n`;
const WITH_TOPIC = `${BASE}\nnotify:\n  topicArn: ${USER_TOPIC}\n`;

let fake: FakeAws | undefined;
afterEach(() => {
  fake?.uninstall();
  fake = undefined;
});

function fresh(): FakeAws {
  fake?.uninstall();
  fake = createFakeAws();
  return fake;
}

const stateKeys = (s: Scratch) =>
  Object.keys(JSON.parse(readFileSync(s.statePath, 'utf8')).resources as Record<string, unknown>);
const status = (s: Scratch) =>
  runStatus({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter: new RecordingReporter(),
    displayTimeZone: 'UTC',
  });
const downOn = (s: Scratch) =>
  runDown({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter: new RecordingReporter(),
    interactive: false,
    yes: true,
  });

/** An ECS Task State Change event for a task of the stack's cluster and family. */
function stopped(exitCode: number | undefined, detail: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: 'e1',
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: ACCOUNT,
    time: '2026-11-28T00:31:10Z',
    region: REGION,
    resources: [TASK_ARN],
    detail: {
      clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/sample-batch`,
      taskArn: TASK_ARN,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-batch:1`,
      group: 'family:sample-batch',
      containers: [{ name: 'batch', lastStatus: 'STOPPED', ...(exitCode === undefined ? {} : { exitCode }) }],
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      startedBy: 'events-rule/sample-batch',
      stoppedAt: '2026-11-28T00:31:09.512Z',
      ...detail,
    },
  };
}

describe('notify.emails', () => {
  it('up creates the topic (tagged, policy scoped to the alert rule), pending subscriptions, the alert rule and its target; a second up changes nothing', async () => {
    const f = fresh();
    const s = scratch(WITH_EMAILS);
    const first = await upOn(s);
    expect(first.counts.failed).toBe(0);

    const topic = f.sns.topics.get(TOPIC_ARN)!;
    expect(topic.tags).toMatchObject({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': K.alertTopic });
    const publish = JSON.parse(topic.attributes.Policy!).Statement.filter(
      (x: any) => x.Principal?.Service === 'events.amazonaws.com',
    );
    expect(publish).toEqual([expect.objectContaining({ Condition: { ArnEquals: { 'aws:SourceArn': RULE_ARN } } })]);
    expect([...f.sns.subs.values()].map((x) => [x.endpoint, x.confirmed]).sort()).toEqual([
      ['oncall@example.com', false],
      ['ops@example.com', false],
    ]);
    const rule = f.eventBridge.rules.get(RULE)!;
    expect(rule.tags['batchctl:logical']).toBe(K.alertRule);
    expect([...rule.targets.values()].map((t) => [t.Id, t.Arn])).toEqual([['notify', TOPIC_ARN]]);
    expect(stateKeys(s)).toEqual(
      expect.arrayContaining([
        K.alertTopic,
        K.alertSubscription(EMAILS[0]!),
        K.alertSubscription(EMAILS[1]!),
        K.alertRule,
        K.alertTarget,
      ]),
    );

    f.core.resetCalls();
    const second = await upOn(s);
    expect(second.counts.failed).toBe(0);
    expect(f.core.mutatingCalls().map((c) => `${c.service}:${c.op}`)).toEqual([]);
  });

  it('a failed run reaches the confirmed recipients with the task, exit code, reason and the logs command; a clean exit sends nothing', async () => {
    const f = fresh();
    const s = scratch(WITH_EMAILS);
    await upOn(s);
    f.sns.confirm(TOPIC_ARN, EMAILS[0]!);

    expect(alertsOf(f.eventBridge.deliver(stopped(0)))).toEqual([]);
    expect(f.sns.published).toEqual([]);

    const out = alertsOf(f.eventBridge.deliver(stopped(3, { stoppedReason: 'Essential container in task exited' })));
    expect(out).toEqual([expect.objectContaining({ rule: RULE, targetId: 'notify', delivered: true })]);
    expect(f.sns.published).toHaveLength(1);
    const m = f.sns.published[0]!;
    expect(m).toMatchObject({ topicArn: TOPIC_ARN, via: 'events', deliveredTo: [EMAILS[0]] });
    expect(m.message).toContain(TASK_ARN);
    expect(m.message).toMatch(/Exit code: 3\b/);
    expect(m.message).toContain('Essential container in task exited');
    expect(m.message).toContain('EssentialContainerExited');
    expect(m.message).toContain(`batchctl logs --task "${TASK_ARN}"`);
    expect(m.message).toContain('a run of sample-batch failed');

    // Never started: no exit code, TaskFailedToStart.
    alertsOf(
      f.eventBridge.deliver(
        stopped(undefined, {
          stopCode: 'TaskFailedToStart',
          stoppedReason: 'CannotPullContainerError: image not found',
        }),
      ),
    );
    expect(f.sns.published).toHaveLength(2);
    expect(f.sns.published[1]!.message).toContain('CannotPullContainerError: image not found');
  });

  it('status shows where alerts go and who still has to confirm', async () => {
    const f = fresh();
    const s = scratch(WITH_EMAILS);
    await upOn(s);
    f.sns.confirm(TOPIC_ARN, EMAILS[1]!);
    const r = await status(s);
    expect(r.alerts).toEqual({
      mode: 'emails',
      topicArn: TOPIC_ARN,
      active: true,
      subscriptions: [
        { endpoint: EMAILS[0], state: 'pending' },
        { endpoint: EMAILS[1], state: 'confirmed' },
      ],
    });
    const text = renderStatus(r).join('\n');
    expect(text).toContain(`Alerts: failed runs go to SNS topic ${TOPIC_ARN}`);
    expect(text).toMatch(/ops@example\.com\s+pending confirmation: check your inbox/);
    expect(text).toMatch(/oncall@example\.com\s+confirmed/);
  });

  it('removing notify from the config: plan shows the deletions, the next up removes rule, target, subscriptions and topic', async () => {
    const f = fresh();
    const s = scratch(WITH_EMAILS);
    await upOn(s);
    f.sns.confirm(TOPIC_ARN, EMAILS[0]!);
    s.editConfig(() => BASE);

    const plan = await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
    const deletes = plan.entries
      .filter((e) => e.action === 'delete')
      .map((e) => e.key)
      .sort();
    // The dead-letter alarm goes with the alerts (the queue stays: it keeps what never reached ECS).
    expect(deletes).toEqual(
      [
        K.alertRule,
        K.alertSubscription(EMAILS[1]!),
        K.alertSubscription(EMAILS[0]!),
        K.alertTarget,
        K.alertTopic,
        K.deadLetterAlarm,
      ].sort(),
    );

    const up = await upOn(s);
    expect(up.counts.failed).toBe(0);
    expect(
      up.events
        .filter((e) => e.action === 'deleted')
        .map((e) => e.key)
        .sort(),
    ).toEqual(deletes);
    expect(f.sns.topics.size).toBe(0);
    expect(f.sns.subs.size).toBe(0);
    expect(f.eventBridge.rules.has(RULE)).toBe(false);
    expect(f.cloudwatch.alarms.size).toBe(0);
    expect(f.core.count({ op: 'Unsubscribe' })).toBe(1);
    expect(stateKeys(s).filter((k) => k.startsWith('alert-'))).toEqual([]);
    expect((await status(s)).alerts.mode).toBe('off');
  });

  it('down removes the topic, its subscriptions, the alert rule and its target', async () => {
    const f = fresh();
    const s = scratch(WITH_EMAILS);
    await upOn(s);
    const report = await downOn(s);
    expect(report.failures).toEqual([]);
    expect(f.sns.topics.size).toBe(0);
    expect(f.sns.subs.size).toBe(0);
    expect(f.eventBridge.rules.size).toBe(0);
    expect(f.sns.inventory()).toEqual([]);
  });
});

describe('notify.topicArn', () => {
  it("creates no topic or subscription, points the rule at the user's topic, warns when its policy ignores EventBridge", async () => {
    const f = fresh();
    await new SNSClient({ region: REGION }).send(new CreateTopicCommand({ Name: 'ops-alerts' }));
    const s = scratch(WITH_TOPIC);
    const up = await upOn(s);
    expect(up.counts.failed).toBe(0);
    expect([...f.sns.topics.keys()]).toEqual([USER_TOPIC]);
    expect(f.sns.subs.size).toBe(0);
    expect([...f.eventBridge.rules.get(RULE)!.targets.values()].map((t) => t.Arn)).toEqual([USER_TOPIC]);
    expect(up.reporter.warnings.join('\n')).toMatch(/ops-alerts does not mention events\.amazonaws\.com/);
    // With the default policy EventBridge cannot publish: the delivery fails, as it would on AWS.
    expect(alertsOf(f.eventBridge.deliver(stopped(1)))[0]!.delivered).toBe(false);

    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: USER_TOPIC,
          Condition: { ArnEquals: { 'aws:SourceArn': RULE_ARN } },
        },
      ],
    };
    await new SNSClient({ region: REGION }).send(
      new SetTopicAttributesCommand({
        TopicArn: USER_TOPIC,
        AttributeName: 'Policy',
        AttributeValue: JSON.stringify(policy),
      }),
    );
    f.core.resetCalls();
    const again = await upOn(s);
    expect(again.reporter.warnings.join('\n')).not.toMatch(/events\.amazonaws\.com/);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(alertsOf(f.eventBridge.deliver(stopped(1)))[0]!.delivered).toBe(true);

    expect((await status(s)).alerts).toEqual({ mode: 'topic', topicArn: USER_TOPIC, active: true, subscriptions: [] });

    // down leaves the user's topic alone.
    expect((await downOn(s)).failures).toEqual([]);
    expect([...f.sns.topics.keys()]).toEqual([USER_TOPIC]);
    expect(f.eventBridge.rules.has(RULE)).toBe(false);
  });
});
