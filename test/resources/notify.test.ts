/**
 * The failure-alert kinds on the stateful fake: sns.topic, sns.subscription, events.alert-rule and
 * events.alert-target. Assertions read the fake's state, not only the calls.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CreateTopicCommand, SetTopicAttributesCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { defaultConfig, testCtx } from '../helpers/ctx.js';
import type { Ctx, ResourceRecord } from '../../src/engine/types.js';
import type { StackConfig } from '../../src/config/schema.js';
import { K } from '../../src/model/keys.js';
import { snsTopic } from '../../src/resources/sns-topic.js';
import { snsSubscription } from '../../src/resources/sns-subscription.js';
import { eventsAlertRule } from '../../src/resources/events-alert-rule.js';
import { ALERT_TARGET_ID, eventsAlertTarget } from '../../src/resources/events-alert-target.js';
import { ecsCluster } from '../../src/resources/ecs-cluster.js';
import { UserError } from '../../src/base/errors.js';
import { computeCost, resolvePrices } from '../../src/info/cost.js';
import { renderCost } from '../../src/cli/commands/cost.js';
import { kindSteps } from '../helpers/kinds.js';

const ACCOUNT = '123456789012';
const REGION = 'ap-northeast-1';
const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:sample-batch-alerts`;
const RULE_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:rule/sample-batch-failed-runs`;
const USER_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:ops-alerts`;
const EMAILS = ['ops@example.com', 'oncall@example.com'];

let fake: FakeAws;
let records: Map<string, ResourceRecord>;
let ctx: Ctx & { reporter: { warnings: string[] } };
const sns = () => new SNSClient({ region: REGION });
const eb = () => new EventBridgeClient({ region: REGION });

function config(notify: StackConfig['notify'] = { emails: [...EMAILS] }): StackConfig {
  const cfg = defaultConfig(ACCOUNT);
  cfg.notify = notify;
  return cfg;
}

async function setup(cfg = config()) {
  records = new Map();
  ctx = await testCtx(fake, { config: cfg, records });
}

const { node, converge, findAndDiff } = kindSteps(() => ({ ctx, records }));

beforeEach(async () => {
  fake = createFakeAws();
  await setup();
});
afterEach(() => fake.uninstall());

describe('nodes', () => {
  it('none without notify; topic, one subscription per address, rule and target with emails; rule and target only with topicArn', () => {
    const keys = (cfg: StackConfig) =>
      [snsTopic, snsSubscription, eventsAlertRule, eventsAlertTarget].flatMap((k) => k.nodes(cfg).map((n) => n.key));
    expect(keys(defaultConfig(ACCOUNT))).toEqual([]);
    expect(keys(config())).toEqual([
      K.alertTopic,
      K.alertSubscription(EMAILS[0]!),
      K.alertSubscription(EMAILS[1]!),
      K.alertRule,
      K.alertTarget,
    ]);
    expect(keys(config({ emails: [], topicArn: USER_TOPIC }))).toEqual([K.alertRule, K.alertTarget]);
    expect(eventsAlertTarget.nodes(config())[0]!.deps).toEqual([K.alertRule, K.alertTopic]);
    expect(eventsAlertTarget.nodes(config({ emails: [], topicArn: USER_TOPIC }))[0]!.deps).toEqual([K.alertRule]);
  });
});

describe('sns.topic', () => {
  it('find on an empty account: undefined', async () => {
    expect((await findAndDiff(snsTopic, K.alertTopic)).found).toBeUndefined();
  });

  it('create: tags, display name and a policy that lets only the alert rule publish; find: owned, no diff', async () => {
    const rec = await converge(snsTopic, K.alertTopic);
    expect(rec).toEqual({ kind: 'sns.topic', id: TOPIC_ARN, arn: TOPIC_ARN, attrs: { name: 'sample-batch-alerts' } });
    const t = fake.sns.topics.get(TOPIC_ARN)!;
    expect(t.tags).toMatchObject({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': K.alertTopic });
    expect(t.attributes.DisplayName).toBe('batchctl sample-batch');
    const policy = JSON.parse(t.attributes.Policy!);
    const publish = policy.Statement.find((s: any) => s.Principal.Service === 'events.amazonaws.com');
    expect(publish).toMatchObject({
      Effect: 'Allow',
      Action: 'sns:Publish',
      Resource: TOPIC_ARN,
      Condition: { ArnEquals: { 'aws:SourceArn': RULE_ARN } },
    });
    expect(policy.Statement.find((s: any) => s.Principal.AWS)).toMatchObject({
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
    });

    fake.core.resetCalls();
    const { found, changes } = await findAndDiff(snsTopic, K.alertTopic);
    expect(found!.owned).toBe(true);
    expect(changes).toEqual([]);
    // The describe carries no tags: one more read for ownership and the tag diff; and the subscriptions (one
    // batchctl did not make was added behind its back), a listing a walk shares with the subscription nodes.
    expect(fake.core.count()).toBe(3);
  });

  it('state lost: found by its name, owned through its tags; an untagged same-named topic is not ours', async () => {
    await converge(snsTopic, K.alertTopic);
    const { found } = await findAndDiff(snsTopic, K.alertTopic, null);
    expect(found).toMatchObject({ owned: true, record: { id: TOPIC_ARN } });

    fake.sns.topics.clear();
    await sns().send(new CreateTopicCommand({ Name: 'sample-batch-alerts' }));
    expect((await findAndDiff(snsTopic, K.alertTopic, null)).found!.owned).toBe(false);
  });

  it('a policy or display name changed outside batchctl: diff shows it, update converges it', async () => {
    await converge(snsTopic, K.alertTopic);
    await sns().send(
      new SetTopicAttributesCommand({
        TopicArn: TOPIC_ARN,
        AttributeName: 'Policy',
        AttributeValue: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    await sns().send(
      new SetTopicAttributesCommand({ TopicArn: TOPIC_ARN, AttributeName: 'DisplayName', AttributeValue: 'x' }),
    );
    const { changes } = await findAndDiff(snsTopic, K.alertTopic);
    expect(changes!.map((c) => c.field).sort()).toEqual(['displayName', 'policy']);
    expect(changes!.some((c) => c.replace)).toBe(false);
    await converge(snsTopic, K.alertTopic);
    expect(fake.sns.topics.get(TOPIC_ARN)!.attributes.DisplayName).toBe('batchctl sample-batch');
    // The account, the failed-run rule, and the dead-letter alarm (the default config has a dead-letter queue).
    expect(
      JSON.parse(fake.sns.topics.get(TOPIC_ARN)!.attributes.Policy!).Statement.map((x: { Sid: string }) => x.Sid),
    ).toEqual(['AccountOwner', 'AlertRulePublish', 'DeadLetterAlarmPublish']);
    expect((await findAndDiff(snsTopic, K.alertTopic)).changes).toEqual([]);
  });

  it('another name is a replacement', () => {
    const d = { name: 'a', displayName: 'x', policy: undefined, tags: {} };
    expect(snsTopic.diff(d, { ...d, name: 'b' })).toEqual([{ field: 'name', from: 'b', to: 'a', replace: true }]);
  });

  it('delete removes the topic with its subscriptions; a second delete succeeds', async () => {
    const rec = await converge(snsTopic, K.alertTopic);
    await converge(snsSubscription, K.alertSubscription(EMAILS[0]!));
    await snsTopic.delete(ctx, rec);
    expect(fake.sns.topics.size).toBe(0);
    expect(fake.sns.subs.size).toBe(0);
    await snsTopic.delete(ctx, rec);
  });
});

describe('sns.subscription', () => {
  const key = K.alertSubscription(EMAILS[0]!);

  beforeEach(async () => {
    await converge(snsTopic, K.alertTopic);
  });

  it('find with no subscription: undefined; a missing topic: undefined', async () => {
    expect((await findAndDiff(snsSubscription, key)).found).toBeUndefined();
    fake.sns.topics.clear();
    expect((await findAndDiff(snsSubscription, key)).found).toBeUndefined();
  });

  it('create subscribes the address, pending until confirmed; find reports confirmed false then true', async () => {
    const rec = await converge(snsSubscription, key);
    expect(rec.id).toMatch(/^arn:aws:sns:.*:sample-batch-alerts:/);
    expect(rec.attrs).toEqual({ topicArn: TOPIC_ARN, endpoint: EMAILS[0] });
    expect([...fake.sns.subs.values()]).toEqual([
      expect.objectContaining({ topicArn: TOPIC_ARN, protocol: 'email', endpoint: EMAILS[0], confirmed: false }),
    ]);
    let r = await findAndDiff(snsSubscription, key);
    expect(r.found).toMatchObject({ owned: true, observed: { confirmed: false } });
    expect(r.changes).toEqual([]);

    const arn = fake.sns.confirm(TOPIC_ARN, EMAILS[0]!);
    r = await findAndDiff(snsSubscription, key, null);
    expect(r.found).toMatchObject({ observed: { confirmed: true }, record: { id: arn } });
    expect(r.changes).toEqual([]);
  });

  it('finds its address across ListSubscriptionsByTopic pages, case-insensitively', async () => {
    fake.sns.pageSize = 2;
    for (const e of ['a@example.com', 'b@example.com', 'c@example.com']) {
      await sns().send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'email', Endpoint: e }));
    }
    await sns().send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'email', Endpoint: 'OPS@example.com' }));
    fake.core.resetCalls();
    const { found } = await findAndDiff(snsSubscription, key);
    expect(found).toBeDefined();
    expect(fake.core.count({ op: 'ListSubscriptionsByTopic' })).toBe(2);
  });

  it('another endpoint or topic is a replacement', () => {
    const d = { topicArn: TOPIC_ARN, protocol: 'email' as const, endpoint: 'a@example.com' };
    expect(snsSubscription.diff(d, { ...d, endpoint: 'A@EXAMPLE.com' })).toEqual([]);
    expect(snsSubscription.diff(d, { ...d, endpoint: 'b@example.com' })[0]).toMatchObject({
      field: 'endpoint',
      replace: true,
    });
    expect(snsSubscription.diff(d, { ...d, topicArn: 'x' })[0]).toMatchObject({ field: 'topicArn', replace: true });
  });

  it('delete: a confirmed subscription is unsubscribed; a pending one is left with a warning; gone is success', async () => {
    const rec = await converge(snsSubscription, key);
    await snsSubscription.delete(ctx, rec);
    expect(fake.sns.subs.size).toBe(1);
    expect(ctx.reporter.warnings.join('\n')).toMatch(/pending confirmation.*3 days/);
    expect(fake.core.count({ op: 'Unsubscribe' })).toBe(0);

    fake.sns.confirm(TOPIC_ARN, EMAILS[0]!);
    await snsSubscription.delete(ctx, rec);
    expect(fake.sns.subs.size).toBe(0);
    await snsSubscription.delete(ctx, rec);
    fake.sns.topics.clear();
    await snsSubscription.delete(ctx, rec);
  });
});

describe('events.alert-rule and events.alert-target', () => {
  beforeEach(async () => {
    await converge(ecsCluster, K.cluster);
    await converge(snsTopic, K.alertTopic);
  });

  it('find on empty: undefined; create: the pattern, enabled, tagged; find: owned, no diff, one call', async () => {
    expect((await findAndDiff(eventsAlertRule, K.alertRule)).found).toBeUndefined();
    const rec = await converge(eventsAlertRule, K.alertRule);
    expect(rec).toEqual({ kind: 'events.alert-rule', id: 'sample-batch-failed-runs', arn: RULE_ARN });
    const r = fake.eventBridge.rules.get('sample-batch-failed-runs')!;
    expect(r.state).toBe('ENABLED');
    expect(r.scheduleExpression).toBeUndefined();
    expect(r.tags).toMatchObject({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': K.alertRule });
    expect(JSON.parse(r.eventPattern!)).toMatchObject({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: {
        clusterArn: [records.get(K.cluster)!.arn],
        lastStatus: ['STOPPED'],
        taskDefinitionArn: [{ prefix: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-batch:` }],
      },
    });
    fake.core.resetCalls();
    const { found, changes } = await findAndDiff(eventsAlertRule, K.alertRule);
    expect(found!.owned).toBe(true);
    expect(changes).toEqual([]);
    // The describe carries no tags: one more read for ownership and the tag diff; and the rule's targets.
    expect(fake.core.count()).toBe(3);
  });

  it('rule: found by name when the state is lost; an untagged same-named rule is not ours', async () => {
    await converge(eventsAlertRule, K.alertRule);
    expect((await findAndDiff(eventsAlertRule, K.alertRule, null)).found!.owned).toBe(true);
    fake.eventBridge.rules.clear();
    await eb().send(new PutRuleCommand({ Name: 'sample-batch-failed-runs', EventPattern: '{"source":["aws.ecs"]}' }));
    expect((await findAndDiff(eventsAlertRule, K.alertRule, null)).found!.owned).toBe(false);
  });

  it('rule: a pattern edited outside batchctl is a diff (key order is not), and update restores it', async () => {
    await converge(eventsAlertRule, K.alertRule);
    const r = fake.eventBridge.rules.get('sample-batch-failed-runs')!;
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(r.eventPattern!)).reverse()));
    await eb().send(new PutRuleCommand({ Name: r.name, EventPattern: reordered, Description: r.description }));
    expect((await findAndDiff(eventsAlertRule, K.alertRule)).changes).toEqual([]);
    await eb().send(
      new PutRuleCommand({
        Name: r.name,
        EventPattern: '{"source":["aws.ecs"]}',
        Description: r.description,
        State: 'DISABLED',
      }),
    );
    const { changes } = await findAndDiff(eventsAlertRule, K.alertRule);
    expect(changes!.map((c) => c.field)).toEqual(['eventPattern', 'state']);
    await converge(eventsAlertRule, K.alertRule);
    expect(fake.eventBridge.matchEvent('sample-batch-failed-runs', { source: 'aws.ecs' })).toBe(false);
    expect(fake.eventBridge.rules.get(r.name)!.state).toBe('ENABLED');
    expect(
      eventsAlertRule.diff(
        { name: 'a', eventPattern: '{}', state: 'ENABLED', description: '', tags: {} },
        { name: 'b', eventPattern: '{}', state: 'ENABLED', description: '', tags: {} },
      )[0],
    ).toMatchObject({ replace: true });
  });

  it('target: create points the rule at the topic with the message transformer; find: no diff; drift is converged', async () => {
    await converge(eventsAlertRule, K.alertRule);
    expect((await findAndDiff(eventsAlertTarget, K.alertTarget)).found).toBeUndefined();
    const rec = await converge(eventsAlertTarget, K.alertTarget);
    expect(rec).toEqual({
      kind: 'events.alert-target',
      id: `sample-batch-failed-runs:${ALERT_TARGET_ID}`,
      attrs: { rule: 'sample-batch-failed-runs' },
    });
    const t = fake.eventBridge.rules.get('sample-batch-failed-runs')!.targets.get(ALERT_TARGET_ID)!;
    expect(t.Arn).toBe(TOPIC_ARN);
    expect(t.RoleArn).toBeUndefined();
    expect(t.InputTransformer!.InputPathsMap).toMatchObject({
      taskArn: '$.detail.taskArn',
      exitCode: '$.detail.containers[0].exitCode',
    });
    expect((await findAndDiff(eventsAlertTarget, K.alertTarget)).changes).toEqual([]);

    await eb().send(
      new PutTargetsCommand({ Rule: 'sample-batch-failed-runs', Targets: [{ Id: ALERT_TARGET_ID, Arn: USER_TOPIC }] }),
    );
    const { changes } = await findAndDiff(eventsAlertTarget, K.alertTarget);
    expect(changes!.map((c) => c.field)).toEqual(['arn', 'inputTransformer']);
    await converge(eventsAlertTarget, K.alertTarget);
    expect(fake.eventBridge.rules.get('sample-batch-failed-runs')!.targets.get(ALERT_TARGET_ID)!.Arn).toBe(TOPIC_ARN);
    expect((await findAndDiff(eventsAlertTarget, K.alertTarget)).changes).toEqual([]);
  });

  it('delete: target then rule; the rule removes a leftover target itself; both succeed when gone', async () => {
    const rule = await converge(eventsAlertRule, K.alertRule);
    const target = await converge(eventsAlertTarget, K.alertTarget);
    await eventsAlertRule.delete(ctx, rule);
    expect(fake.eventBridge.rules.has('sample-batch-failed-runs')).toBe(false);
    await eventsAlertTarget.delete(ctx, target);
    await eventsAlertRule.delete(ctx, rule);
  });
});

describe("notify.topicArn: a topic of the user's", () => {
  beforeEach(async () => {
    await setup(config({ emails: [], topicArn: USER_TOPIC }));
    await converge(ecsCluster, K.cluster);
    await converge(eventsAlertRule, K.alertRule);
  });

  it('a missing topic is a user error', async () => {
    await expect(eventsAlertTarget.desired(ctx, node(eventsAlertTarget, K.alertTarget))).rejects.toBeInstanceOf(
      UserError,
    );
  });

  it('warns when the topic policy does not mention EventBridge, not when it does; the target points at the topic', async () => {
    await sns().send(new CreateTopicCommand({ Name: 'ops-alerts' }));
    await converge(eventsAlertTarget, K.alertTarget);
    expect(ctx.reporter.warnings.join('\n')).toMatch(/does not mention events\.amazonaws\.com/);
    expect(fake.eventBridge.rules.get('sample-batch-failed-runs')!.targets.get(ALERT_TARGET_ID)!.Arn).toBe(USER_TOPIC);

    ctx.reporter.warnings.length = 0;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: USER_TOPIC,
        },
      ],
    };
    await sns().send(
      new SetTopicAttributesCommand({
        TopicArn: USER_TOPIC,
        AttributeName: 'Policy',
        AttributeValue: JSON.stringify(policy),
      }),
    );
    expect((await findAndDiff(eventsAlertTarget, K.alertTarget)).changes).toEqual([]);
    expect(ctx.reporter.warnings).toEqual([]);
    expect(fake.sns.topics.size).toBe(1);
  });
});

describe('cost', () => {
  it('notes that alerts add only the dead-letter alarm, only when notify is set', () => {
    const now = new Date('2026-11-28T00:00:00Z');
    const off = defaultConfig(ACCOUNT);
    expect(computeCost(off, resolvePrices(off), { durationSeconds: 300, now }).alertsNote).toBeUndefined();
    const on = config();
    const c = computeCost(on, resolvePrices(on), { durationSeconds: 300, now });
    expect(c.alertsNote).toMatch(/2 addresses.*free.*dead-letter alarm, \$0\.10 a month/);
    expect(c.monthlyTotal).toBeCloseTo(
      computeCost(off, resolvePrices(off), { durationSeconds: 300, now }).monthlyTotal + 0.1,
      8,
    );
    expect(renderCost(c).join('\n')).toContain('  alerts: failed runs e-mailed to 2 addresses');
  });
});
