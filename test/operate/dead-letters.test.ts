/**
 * Runs that never start raise the alert (issue 13, item 1), end to end on the stateful fake: the rule's
 * target dead-letters an invocation EventBridge could not deliver (RunTask refused after an IAM edit,
 * throttled past the retries) to the stack's queue, whose policy admits this stack's rules only; the
 * CloudWatch alarm on the queue goes to ALARM and publishes on the alert topic; `status` counts the dead
 * letters per job with the newest error; `down` removes alarm, policy and queue.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { freshFakeAws, scratch, upOn } from '../helpers/stack.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { runDown } from '../../src/stack/down.js';
import { runStatus } from '../../src/runs/status.js';
import { renderStatus } from '../../src/cli/commands/status.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { readDeadLetters } from '../../src/runs/dead-letters.js';
import { loadConfig } from '../../src/config/load.js';
import { createAwsClients } from '../../src/aws/clients.js';

const ACCOUNT = '123456789012';
const REGION = 'ap-northeast-1';
const QUEUE = 'sample-batch-schedule-dlq';
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:${QUEUE}`;
const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:sample-batch-alerts`;
const ALARM = 'sample-batch-dead-letters';
const BASE = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');
const WITH_EMAILS = `${BASE}\nnotify:\n  emails: [ops@example.com]\n`;
const T = '2027-03-01T06:30:00Z';

const fresh = freshFakeAws();
const reporter = () => new RecordingReporter();

/** The events role loses ecs:RunTask (an IAM edit behind batchctl's back): EventBridge's RunTask is refused. */
function revokeRunTask(f: ReturnType<typeof fresh>, roleName = 'sample-batch-events') {
  const role = f.iam.roles.get(roleName)!;
  for (const [name, doc] of role.inline) {
    const d = JSON.parse(doc) as { Statement: { Action?: string | string[] }[] };
    d.Statement = d.Statement.filter((st) => ![st.Action].flat().includes('ecs:RunTask'));
    role.inline.set(name, JSON.stringify(d));
  }
}

describe('runs that never start', () => {
  it('a RunTask refused after an IAM edit lands in the dead-letter queue, the alarm notifies the topic, status names the job and the error', async () => {
    const f = fresh();
    const s = scratch(WITH_EMAILS);
    await upOn(s);
    f.sns.confirm(TOPIC_ARN, 'ops@example.com');
    // Converged: the target dead-letters to the queue, the alarm watches it and is OK on an empty queue.
    expect(f.eventBridge.rules.get('sample-batch')!.targets.get('batch')!.DeadLetterConfig).toEqual({ Arn: QUEUE_ARN });
    expect(f.cloudwatch.alarms.get(ALARM)!.input).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: QUEUE }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [TOPIC_ARN],
    });
    expect(f.cloudwatch.alarms.get(ALARM)!.tags).toMatchObject({
      'batchctl:stack': 'sample-batch',
      'batchctl:logical': 'dead-letter-alarm',
    });
    expect(f.cloudwatch.evaluate()).toEqual([{ alarm: ALARM, from: 'INSUFFICIENT_DATA', to: 'OK' }]);

    // A run that works first: a task (which ends at once), no dead letter.
    f.ecs.taskTimings = { provisioningMs: 0, pendingMs: 0, runningMs: 0 };
    expect(f.eventBridge.invokeScheduled('sample-batch', '2027-03-01T05:30:00Z')).toMatchObject([
      { outcome: 'started' },
    ]);
    expect(f.sqs.visibleCount(QUEUE)).toBe(0);

    revokeRunTask(f);
    const tasksBefore = f.ecs.tasks.size;
    expect(f.eventBridge.invokeScheduled('sample-batch', T)).toEqual([
      { targetId: 'batch', outcome: 'dead-lettered', errorCode: 'NO_PERMISSIONS' },
    ]);
    expect(f.ecs.tasks.size).toBe(tasksBefore);
    expect(f.eventBridge.metrics.get('sample-batch')).toMatchObject({
      failedInvocations: 1,
      sentToDlq: 1,
      failedToBeSentToDlq: 0,
    });
    const [m] = f.sqs.queues.get(QUEUE)!.messages;
    expect(JSON.parse(m!.body)).toMatchObject({
      'detail-type': 'Scheduled Event',
      time: T,
      resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/sample-batch`],
    });
    expect(Object.fromEntries(Object.entries(m!.attributes).map(([k, v]) => [k, v.StringValue]))).toEqual({
      RULE_ARN: `arn:aws:events:${REGION}:${ACCOUNT}:rule/sample-batch`,
      TARGET_ARN: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/sample-batch`,
      ERROR_CODE: 'NO_PERMISSIONS',
      ERROR_MESSAGE: expect.stringMatching(/not authorized to perform: ecs:RunTask/),
      RETRY_ATTEMPTS: '0',
    });

    // The alarm: one message visible, over the threshold: ALARM, and SNS accepted the notification.
    expect(f.cloudwatch.evaluate()).toEqual([{ alarm: ALARM, from: 'OK', to: 'ALARM' }]);
    const note = f.sns.published.filter((p) => p.via === 'cloudwatch');
    expect(note).toHaveLength(1);
    expect(note[0]).toMatchObject({
      topicArn: TOPIC_ARN,
      deliveredTo: ['ops@example.com'],
      subject: `ALARM: "${ALARM}" in ${REGION}`,
    });
    expect(JSON.parse(note[0]!.message)).toMatchObject({
      AlarmName: ALARM,
      NewStateValue: 'ALARM',
      Trigger: { Dimensions: [{ name: 'QueueName', value: QUEUE }] },
    });
    // Still in alarm at the next evaluation: no second e-mail.
    expect(f.cloudwatch.evaluate()).toEqual([]);

    const st = await runStatus({ configPath: s.configPath, statePath: s.statePath, reporter: reporter() });
    expect(st.deadLetters).toEqual({ queue: QUEUE, count: 1, sampled: 1 });
    expect(st.jobs[0]!.deadLetters).toEqual({
      count: 1,
      newest: {
        sentAt: expect.any(String),
        scheduledTime: T,
        errorCode: 'NO_PERMISSIONS',
        errorMessage: expect.stringMatching(/ecs:RunTask/),
      },
    });
    const text = renderStatus(st).join('\n');
    expect(text).toContain(`  1 scheduled invocation never reached ECS (dead-letter queue ${QUEUE}):`);
    expect(text).toMatch(
      / {4}sample-batch: 1; newest: run due 2027-03-01 06:30:00, NO_PERMISSIONS: User: .* is not authorized to perform: ecs:RunTask/,
    );
    // status read the message without consuming it: the alarm still sees it.
    expect(f.sqs.visibleCount(QUEUE)).toBe(1);

    // down keeps what the queue holds unless forced, then removes alarm, policy and queue.
    const refused = await runDown({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: reporter(),
      interactive: false,
      yes: true,
    }).catch((e: Error) => e);
    expect(String((refused as Error).message ?? refused)).toMatch(/failed scheduled invocation|--force/);
    expect(f.sqs.queues.size).toBe(1);
    const down = await runDown({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: reporter(),
      interactive: false,
      yes: true,
      force: true,
    });
    expect(down.failures).toEqual([]);
    expect(f.cloudwatch.alarms.size).toBe(0);
    expect(f.sqs.queues.size).toBe(0);
  });

  it("scheduler engine: Scheduler dead-letters with the schedule's role, the same alarm fires, status maps SCHEDULE_ARN to the job", async () => {
    const f = fresh();
    const s = scratch(WITH_EMAILS.replace(/^schedule:\n/m, 'schedule:\n  engine: scheduler\n'));
    await upOn(s);
    f.sns.confirm(TOPIC_ARN, 'ops@example.com');
    // No queue policy: Scheduler sends with the schedule's role, not as a service principal.
    expect(f.sqs.queues.get(QUEUE)!.attributes.Policy).toBeUndefined();
    f.cloudwatch.evaluate();
    revokeRunTask(f, 'sample-batch-scheduler');
    expect(f.scheduler.invokeScheduled('sample-batch', 'sample-batch', T)).toEqual({
      outcome: 'dead-lettered',
      errorCode: 'AccessDeniedException',
    });
    const m = f.sqs.queues.get(QUEUE)!.messages[0]!;
    expect(m.attributes.SCHEDULE_ARN!.StringValue).toBe(
      `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/sample-batch/sample-batch`,
    );
    expect(f.cloudwatch.evaluate()).toEqual([{ alarm: ALARM, from: 'OK', to: 'ALARM' }]);
    expect(f.sns.published.filter((p) => p.via === 'cloudwatch').map((p) => p.deliveredTo)).toEqual([
      ['ops@example.com'],
    ]);
    const st = await runStatus({ configPath: s.configPath, statePath: s.statePath, reporter: reporter() });
    expect(st.jobs[0]!.deadLetters).toMatchObject({
      count: 1,
      newest: {
        scheduledTime: T,
        errorCode: 'AccessDeniedException',
        errorMessage: expect.stringMatching(/ecs:RunTask/),
      },
    });
  });

  it('throttled past the retries: dead-lettered with the exhausted condition; RunTask failures[] are no failed invocation', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    expect(f.eventBridge.invokeScheduled('sample-batch', T, { throttled: true })).toEqual([
      { targetId: 'batch', outcome: 'dead-lettered', errorCode: 'THROTTLING' },
    ]);
    const attrs = f.sqs.queues.get(QUEUE)!.messages[0]!.attributes;
    expect(attrs.EXHAUSTED_RETRY_CONDITION!.StringValue).toBe('MaximumRetryAttempts');
    expect(attrs.RETRY_ATTEMPTS!.StringValue).toBe('10');
    // No Fargate capacity: RunTask answers 200 with failures[]; EventBridge counts a success.
    f.ecs.runTaskFailure = {
      reason: 'Capacity is unavailable at this time. Please try again later or in a different availability zone',
    };
    expect(f.eventBridge.invokeScheduled('sample-batch', '2027-03-01T07:30:00Z')).toMatchObject([
      { outcome: 'failures' },
    ]);
    expect(f.sqs.visibleCount(QUEUE)).toBe(1);
    expect(f.eventBridge.metrics.get('sample-batch')).toMatchObject({ invocations: 2, failedInvocations: 1 });
    // Without notify there is no alarm.
    expect(f.cloudwatch.alarms.size).toBe(0);
  });

  it("a job run through its state machine: the rule's target (the state machine) dead-letters too", async () => {
    const f = fresh();
    const s = scratch();
    s.editConfig((t) =>
      t.replace('  command: [node, dist/main.js]\n', '  command: [node, dist/main.js]\n  timeout: 30m\n'),
    );
    await upOn(s);
    const t = f.eventBridge.rules.get('sample-batch')!.targets.get('batch')!;
    expect(t.Arn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:sample-batch`);
    expect(t.DeadLetterConfig).toEqual({ Arn: QUEUE_ARN });
    // The events role may no longer start the state machine.
    const role = f.iam.roles.get('sample-batch-events')!;
    for (const name of role.inline.keys())
      role.inline.set(name, JSON.stringify({ Version: '2012-10-17', Statement: [] }));
    expect(f.eventBridge.invokeScheduled('sample-batch', T)).toEqual([
      { targetId: 'batch', outcome: 'dead-lettered', errorCode: 'NO_PERMISSIONS' },
    ]);
    const m = f.sqs.queues.get(QUEUE)!.messages[0]!;
    expect(m.attributes.TARGET_ARN!.StringValue).toBe(t.Arn);
    expect(m.attributes.ERROR_MESSAGE!.StringValue).toMatch(/states:StartExecution/);
    const st = await runStatus({ configPath: s.configPath, statePath: s.statePath, reporter: reporter() });
    expect(st.jobs[0]!.deadLetters).toMatchObject({
      count: 1,
      newest: { scheduledTime: T, errorCode: 'NO_PERMISSIONS' },
    });
  });

  it("the queue policy admits exactly this stack's rules: another stack's rule, even one whose name starts with this stack's, cannot send", async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const policy = JSON.parse(f.sqs.queues.get(QUEUE)!.attributes.Policy!);
    expect(policy.Statement).toEqual([
      {
        Sid: 'ScheduleRulesDeadLetters',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: QUEUE_ARN,
        Condition: { ArnEquals: { 'aws:SourceArn': `arn:aws:events:${REGION}:${ACCOUNT}:rule/sample-batch` } },
      },
    ]);
    // Someone points a failing rule of theirs at our queue.
    const eb = new EventBridgeClient({ region: REGION });
    await eb.send(new PutRuleCommand({ Name: 'sample-batch-eu', ScheduleExpression: 'rate(1 hour)' }));
    await eb.send(
      new PutTargetsCommand({
        Rule: 'sample-batch-eu',
        Targets: [
          {
            Id: 'x',
            Arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/nope`,
            RoleArn: `arn:aws:iam::${ACCOUNT}:role/sample-batch-events`,
            EcsParameters: { TaskDefinitionArn: 'nope' },
            DeadLetterConfig: { Arn: QUEUE_ARN },
          },
        ],
      }),
    );
    expect(f.eventBridge.invokeScheduled('sample-batch-eu', T)).toMatchObject([{ outcome: 'dropped' }]);
    expect(f.eventBridge.metrics.get('sample-batch-eu')).toMatchObject({
      failedInvocations: 1,
      failedToBeSentToDlq: 1,
    });
    expect(f.sqs.visibleCount(QUEUE)).toBe(0);

    // A second job: the policy converges to both rules; removing it converges back.
    s.editConfig(
      (t) => `${t}\njobs:\n  lister: { original: true }\n  report: { schedule: { expression: 'cron(0 1 * * ? *)' } }\n`,
    );
    const r = await upOn(s);
    expect(r.events.filter((e) => e.key === 'dead-letter-queue/policy').map((e) => e.action)).toEqual(['updated']);
    const two = JSON.parse(f.sqs.queues.get(QUEUE)!.attributes.Policy!).Statement[0].Condition.ArnEquals[
      'aws:SourceArn'
    ];
    expect(two).toEqual([
      `arn:aws:events:${REGION}:${ACCOUNT}:rule/sample-batch`,
      `arn:aws:events:${REGION}:${ACCOUNT}:rule/sample-batch-report`,
    ]);
    expect(f.eventBridge.rules.get('sample-batch-report')!.targets.get('batch')!.DeadLetterConfig).toEqual({
      Arn: QUEUE_ARN,
    });
  });

  it('an alarm of that name without our tag is never touched: up refuses, down leaves it', async () => {
    const f = fresh();
    const cw = new CloudWatchClient({ region: REGION });
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: ALARM,
        Namespace: 'AWS/EC2',
        MetricName: 'CPUUtilization',
        Statistic: 'Average',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 90,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    const theirs = structuredClone(f.cloudwatch.alarms.get(ALARM)!);
    const s = scratch(WITH_EMAILS);
    const err = await upOn(s).catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(
      /CloudWatch alarm sample-batch-dead-letters .*has no batchctl:stack tag/,
    );
    expect(
      f.core
        .mutatingCalls()
        .filter((c) => c.service === 'cloudwatch')
        .map((c) => c.op),
    ).toEqual(['PutMetricAlarm']);
    expect(f.cloudwatch.alarms.get(ALARM)).toEqual(theirs);
    const down = await runDown({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: reporter(),
      interactive: false,
      yes: true,
      force: true,
    });
    expect(down.failures).toEqual([]);
    expect(f.cloudwatch.alarms.get(ALARM)).toEqual(theirs);
  });

  it('a lost PutMetricAlarm response converges to one alarm, tagged', async () => {
    const f = fresh();
    const s = scratch(WITH_EMAILS);
    f.core.loseResponse('PutMetricAlarm');
    const r = await upOn(s);
    expect(r.counts.failed).toBe(0);
    expect(f.core.calls.filter((c) => c.op === 'PutMetricAlarm').length).toBeGreaterThanOrEqual(2);
    expect([...f.cloudwatch.alarms.keys()]).toEqual([ALARM]);
    expect(f.cloudwatch.alarms.get(ALARM)!.tags['batchctl:stack']).toBe('sample-batch');
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
  });

  it('readDeadLetters samples with bounded calls and consumes nothing', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    revokeRunTask(f);
    for (let i = 0; i < 30; i++)
      f.eventBridge.invokeScheduled('sample-batch', `2027-03-01T${String(i % 24).padStart(2, '0')}:00:00Z`);
    const config = await loadConfig(s.configPath);
    const aws = await createAwsClients({ region: REGION }, ['sqs']);
    f.core.resetCalls();
    const d = await readDeadLetters(aws.sqs, f.sqs.queues.get(QUEUE)!.url, config);
    expect(d.count).toBe(30);
    expect(d.sampled).toHaveLength(30);
    expect(d.perJob.get('sample-batch')!.count).toBe(30);
    expect(f.core.count({ op: 'ReceiveMessage' })).toBeLessThanOrEqual(4);
    expect(f.sqs.visibleCount(QUEUE)).toBe(30);
  });
});
