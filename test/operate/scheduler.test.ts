/**
 * The EventBridge Scheduler engine end to end on the fake: what `up` builds with a time zone, a
 * converged second `up`, switching engines back and forth with exactly one trigger at every moment,
 * IAM propagation, `status` (next runs across daylight saving, dead-letter count), `plan` and `down`.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { scratch, settleWithFakeTimers, upOn, type Scratch, freshFakeAws } from '../helpers/stack.js';
import { runDown } from '../../src/stack/down.js';
import { runStatus } from '../../src/runs/status.js';
import { runPlan } from '../../src/stack/plan.js';
import { renderStatus } from '../../src/cli/commands/status.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import type { FakeAws } from '../fake-aws/index.js';
import { ENV_SCHEDULED_TIME } from '../../src/model/guard.js';

const fresh = freshFakeAws();

/** The default config with these lines added to its schedule section. */
function withSchedule(s: Scratch, lines: string[]): void {
  s.editConfig((t) => t.replace(/^schedule:\n/m, `schedule:\n${lines.map((l) => `  ${l}\n`).join('')}`));
}

const ACCOUNT = '123456789012';
const QUEUE = 'sample-batch-schedule-dlq';

const IAM_EVENTS = 'sample-batch-events';
const IAM_SCHEDULER = 'sample-batch-scheduler';

/** Every trigger that would start the job now: enabled rules with our ECS target, and enabled schedules. */
function triggers(f: FakeAws): { engine: 'rule' | 'scheduler'; inputFor(time: string): string }[] {
  const rules = [...f.eventBridge.rules.values()]
    .filter((r) => r.state === 'ENABLED' && r.scheduleExpression && r.targets.get('batch')?.EcsParameters)
    .map((r) => ({
      engine: 'rule' as const,
      inputFor: (time: string) => f.eventBridge.targetInput(r.name, 'batch', { time }),
    }));
  // The universal RunTask target's input is the whole request: the task gets its overrides.
  const schedules = f.scheduler.activeSchedules().map((x) => ({
    engine: 'scheduler' as const,
    inputFor: (time: string) => JSON.stringify(JSON.parse(f.scheduler.targetInput(x.group, x.name, time)).overrides),
  }));
  return [...rules, ...schedules];
}

/** The BATCH_SCHEDULED_TIME a trigger passes to the container for a run due at `time`. */
function scheduledTimeOf(input: string): string | undefined {
  const o = JSON.parse(input) as { containerOverrides: { environment?: { name: string; value: string }[] }[] };
  return o.containerOverrides[0]?.environment?.find((e) => e.name === ENV_SCHEDULED_TIME)?.value;
}

/**
 * Run `check` before every call the fake receives (an injection that never fires), so it sees the
 * state between every two mutations of an `up`.
 */
function beforeEveryCall(f: FakeAws, check: () => void): void {
  f.core.inject({
    kind: 'crash',
    times: Number.POSITIVE_INFINITY,
    match: () => {
      check();
      return false;
    },
  });
}

describe('scheduler engine: up', () => {
  it('a time zone builds a schedule in that zone with retries, a DLQ and the ECS target; no rule, target or events role', async () => {
    const f = fresh();
    const s = scratch();
    withSchedule(s, ['timezone: Asia/Tokyo']);
    const up = await upOn(s);
    expect(up.counts.failed).toBe(0);
    const sch = f.scheduler.schedules.get('sample-batch/sample-batch')!.def;
    expect(sch.ScheduleExpression).toBe('cron(30 * * * ? *)');
    expect(sch.ScheduleExpressionTimezone).toBe('Asia/Tokyo');
    expect(sch.State).toBe('ENABLED');
    expect(sch.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
    const t = sch.Target!;
    expect(t.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 1800, MaximumRetryAttempts: 10 });
    const queue = f.sqs.queues.get(QUEUE)!;
    expect(queue.attributes).toMatchObject({ MessageRetentionPeriod: '1209600', SqsManagedSseEnabled: 'true' });
    expect(queue.tags).toMatchObject({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': 'dead-letter-queue' });
    expect(t.DeadLetterConfig).toEqual({ Arn: queue.arn });
    // The universal target: Scheduler sends the whole RunTask request, where it replaces the context
    // attributes (the ECS templated target's Input becomes a TaskOverride at creation instead).
    expect(t.Arn).toBe('arn:aws:scheduler:::aws-sdk:ecs:runTask');
    expect(t.EcsParameters).toBeUndefined();
    expect(t.RoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${IAM_SCHEDULER}`);
    // The scheduled time reaches the job, as the rule's event time does.
    const request = JSON.parse(f.scheduler.targetInput('sample-batch', 'sample-batch', '2027-03-14T06:30:00Z'));
    expect(request).toMatchObject({
      cluster: `arn:aws:ecs:ap-northeast-1:${ACCOUNT}:cluster/sample-batch`,
      taskDefinition: `arn:aws:ecs:ap-northeast-1:${ACCOUNT}:task-definition/sample-batch`,
      count: 1,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      propagateTags: 'TASK_DEFINITION',
      enableECSManagedTags: true,
      startedBy: 'batchctl-schedule/sample-batch',
      networkConfiguration: { awsvpcConfiguration: { assignPublicIp: 'DISABLED' } },
    });
    expect(request.overrides.containerOverrides).toEqual([
      {
        name: 'batch',
        command: ['node', 'dist/main.js'],
        environment: [{ name: ENV_SCHEDULED_TIME, value: '2027-03-14T06:30:00Z' }],
      },
    ]);
    // Fired, the task gets that time, and status and history see a scheduled run.
    expect(f.scheduler.invokeScheduled('sample-batch', 'sample-batch', '2027-03-14T06:30:00Z').outcome).toBe('started');
    const task = [...f.ecs.tasks.values()].at(-1)!;
    expect(task.startedBy).toBe('batchctl-schedule/sample-batch');
    expect(JSON.stringify(task.overrides)).toContain('2027-03-14T06:30:00Z');
    // The group carries our tags; the role trusts Scheduler from this account only.
    expect(f.scheduler.groups.get('sample-batch')!.tags).toMatchObject({
      'batchctl:stack': 'sample-batch',
      'batchctl:logical': 'schedule-group',
    });
    const role = f.iam.inventory().find((e) => e.key === 'role/scheduler')!;
    expect(JSON.stringify(role.settings)).toContain('scheduler.amazonaws.com');
    expect(JSON.stringify(role.settings)).toContain(`"aws:SourceAccount":"${ACCOUNT}"`);
    const policy = JSON.stringify(
      f.iam.inventory().filter((e) => e.type.includes('polic') && JSON.stringify(e).includes(IAM_SCHEDULER)),
    );
    expect(policy).toContain('sqs:SendMessage');
    expect(policy).toContain('ecs:RunTask');
    // Nothing of the rule engine.
    expect([...f.eventBridge.rules.keys()]).toEqual(['sample-batch-history']);
    expect(f.iam.inventory().some((e) => JSON.stringify(e).includes(IAM_EVENTS))).toBe(false);
    expect(triggers(f)).toHaveLength(1);
  });

  it('a second up makes zero mutating calls, and plan after up is clean', async () => {
    const f = fresh();
    const s = scratch();
    withSchedule(s, ['engine: scheduler', 'timezone: America/New_York', 'flexibleWindowMinutes: 15']);
    await upOn(s);
    expect(f.scheduler.schedules.get('sample-batch/sample-batch')!.def.FlexibleTimeWindow).toEqual({
      Mode: 'FLEXIBLE',
      MaximumWindowInMinutes: 15,
    });
    f.core.resetCalls();
    const second = await upOn(s);
    expect(second.counts.unchanged).toBe(second.events.length);
    expect(f.core.mutatingCalls()).toEqual([]);
    const plan = await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
    expect(plan.pending).toBe(false);
  });

  it("a lost answer to CreateSchedule from an endpoint that ignores the ClientToken: the resend's ConflictException is our own schedule, adopted; the first up succeeds", async () => {
    const f = fresh();
    f.scheduler.honorClientToken = false;
    const s = scratch();
    withSchedule(s, ['engine: scheduler', 'timezone: Asia/Tokyo']);
    f.core.loseResponse('CreateSchedule');
    const report = await upOn(s);
    expect(report.counts.failed).toBe(0);
    expect(
      f.core.calls.filter((c) => c.op === 'CreateSchedule').map((c) => c.error ?? (c.lost ? 'lost' : 'ok')),
    ).toEqual(['lost', 'ConflictException']);
    expect(f.scheduler.schedules.size).toBe(1);
    expect(JSON.parse(readFileSync(s.statePath, 'utf8')).resources.schedule).toMatchObject({
      id: 'sample-batch/sample-batch',
      arn: expect.stringMatching(/^arn:aws:scheduler:/),
    });
    // Not ours to adopt: a schedule of that name with other settings, made between our attempts.
    const g = fresh();
    g.scheduler.honorClientToken = false;
    const t = scratch();
    withSchedule(t, ['engine: scheduler', 'timezone: Asia/Tokyo']);
    g.core.loseResponse('CreateSchedule');
    g.core.observers.push((c) => {
      if (c.op === 'CreateSchedule' && c.attempt === 2)
        g.scheduler.schedules.get('sample-batch/sample-batch')!.def.ScheduleExpression = 'rate(1 minute)';
    });
    const err = await upOn(t).catch((e) => e);
    expect(err.message).toMatch(/schedule: create failed: ConflictException/);
  });

  it('a changed expression and retry policy are converged in place with one UpdateSchedule carrying the full definition', async () => {
    const f = fresh();
    const s = scratch();
    withSchedule(s, ['timezone: Asia/Tokyo']);
    await upOn(s);
    s.editConfig((t) =>
      t
        .replace('cron(30 * * * ? *)', 'cron(0 9 * * ? *)')
        .replace('maximumRetryAttempts: 10', 'maximumRetryAttempts: 3'),
    );
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['UpdateSchedule']);
    const def = f.scheduler.schedules.get('sample-batch/sample-batch')!.def;
    expect(def.ScheduleExpression).toBe('cron(0 9 * * ? *)');
    expect(def.Target!.RetryPolicy!.MaximumRetryAttempts).toBe(3);
    expect(def.ScheduleExpressionTimezone).toBe('Asia/Tokyo');
    expect(def.Target!.DeadLetterConfig).toBeDefined();
  });

  it('waits for the new scheduler role to propagate (fake timers) and then creates the schedule', async () => {
    vi.useFakeTimers({
      now: Date.parse('2026-11-28T00:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'Date', 'setInterval', 'clearInterval'],
    });
    const f = fresh();
    const s = scratch();
    await settleWithFakeTimers(upOn(s));
    // Switching from a converged rule stack: the scheduler role is the only new role, and the schedule
    // is created right after it.
    f.iam.propagationMs = 12_000;
    withSchedule(s, ['timezone: Asia/Tokyo']);
    const report = await settleWithFakeTimers(upOn(s));
    expect(report.counts.failed).toBe(0);
    const refused = f.core.calls.filter((c) => c.op === 'CreateSchedule' && c.error === 'ValidationException');
    expect(refused.length).toBeGreaterThan(0);
    expect(
      report.reporter.progress.some((p) =>
        /waiting for IAM role .*sample-batch-scheduler.* to propagate/.test(p.message),
      ),
    ).toBe(true);
    expect(f.scheduler.schedules.size).toBe(1);
  });
});

describe('switching engines', () => {
  it('rule -> scheduler -> rule: at every moment one or two triggers, two only when both pass the same scheduled time; one at the end', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const ruleEcs = structuredClone(f.eventBridge.rules.get('sample-batch')!.targets.get('batch')!.EcsParameters!);
    expect(triggers(f).map((t) => t.engine)).toEqual(['rule']);

    // Why this is the right invariant: up creates the new trigger's nodes first and deletes the old
    // trigger's only after everything converged (engine prune). In between both exist; that is safe
    // because each passes the scheduled time to the job, whose duplicate guard claims it once. Zero
    // triggers would be a missed run, so the count must never drop to 0 (nor exceed 2).
    const seen = new Set<number>();
    const T = '2027-03-14T06:30:00Z';
    beforeEveryCall(f, () => {
      const now = triggers(f);
      seen.add(now.length);
      expect(now.length).toBeGreaterThanOrEqual(1);
      expect(now.length).toBeLessThanOrEqual(2);
      if (now.length === 2) for (const t of now) expect(scheduledTimeOf(t.inputFor(T))).toBe(T);
    });

    withSchedule(s, ['engine: scheduler']);
    const toScheduler = await upOn(s);
    expect(toScheduler.counts.failed).toBe(0);
    expect(
      toScheduler.events
        .filter((e) => e.action === 'deleted')
        .map((e) => e.key)
        .sort(),
    )
      // The queue stays (the schedule dead-letters to it too); its policy admitted only the rules.
      .toEqual(['dead-letter-queue/policy', 'role-policy/events', 'role/events', 'schedule-rule', 'schedule-target']);
    expect(triggers(f).map((t) => t.engine)).toEqual(['scheduler']);
    expect([...f.eventBridge.rules.keys()]).toEqual(['sample-batch-history']);
    // The schedule runs exactly what the rule ran.
    // The same RunTask settings as the rule's target (in the universal target's request).
    const req = JSON.parse(f.scheduler.targetInput('sample-batch', 'sample-batch', '2027-03-14T06:30:00Z'));
    expect({
      TaskDefinitionArn: req.taskDefinition,
      TaskCount: req.count,
      LaunchType: req.launchType,
      PlatformVersion: req.platformVersion,
      NetworkConfiguration: {
        awsvpcConfiguration: {
          Subnets: req.networkConfiguration.awsvpcConfiguration.subnets,
          SecurityGroups: req.networkConfiguration.awsvpcConfiguration.securityGroups,
          AssignPublicIp: req.networkConfiguration.awsvpcConfiguration.assignPublicIp,
        },
      },
      PropagateTags: req.propagateTags,
      EnableECSManagedTags: req.enableECSManagedTags,
    }).toEqual(ruleEcs);

    s.editConfig((t) => t.replace('  engine: scheduler\n', '  engine: rule\n'));
    const back = await upOn(s);
    expect(back.counts.failed).toBe(0);
    expect(
      back.events
        .filter((e) => e.action === 'deleted')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['role-policy/scheduler', 'role/scheduler', 'schedule', 'schedule-group']);
    expect(triggers(f).map((t) => t.engine)).toEqual(['rule']);
    expect(f.scheduler.schedules.size).toBe(0);
    // One queue throughout: the rule's target dead-letters to it as the schedule did.
    expect(f.sqs.queues.size).toBe(1);
    expect(f.eventBridge.rules.get('sample-batch')!.targets.get('batch')!.DeadLetterConfig).toEqual({
      Arn: [...f.sqs.queues.values()][0]!.arn,
    });
    // Both moments happened: the old trigger alone, and the overlap.
    expect([...seen].sort()).toEqual([1, 2]);
  });
});

describe('status, plan and down with the scheduler engine', () => {
  it('status shows next runs in the zone across the March 2027 DST change, and the dead-letter count', async () => {
    const f = fresh();
    const s = scratch();
    withSchedule(s, ['timezone: America/New_York']);
    s.editConfig((t) => t.replace('cron(30 * * * ? *)', 'cron(30 9 * * ? *)'));
    await upOn(s);
    const url = f.sqs.queues.get(QUEUE)!.url;
    const sqs = new SQSClient({ region: 'ap-northeast-1' });
    // One as Scheduler writes it (its schedule's ARN, the time due, the error), one of no known schedule.
    const str = (v: string) => ({ DataType: 'String', StringValue: v });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"a":1}',
        MessageAttributes: {
          SCHEDULE_ARN: str('arn:aws:scheduler:ap-northeast-1:123456789012:schedule/sample-batch/sample-batch'),
          SCHEDULED_TIME: str('2027-03-12T14:30:00Z'),
          ERROR_CODE: str('AccessDeniedException'),
          ERROR_MESSAGE: str('not authorized to perform: ecs:RunTask'),
        },
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"a":2}' }));
    // DST starts in New York on Sunday 14 March 2027 at 02:00 (UTC-5 -> UTC-4).
    const st = await runStatus({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      now: new Date('2027-03-13T00:00:00Z'),
    });
    expect(st.jobs[0]!.schedule.source).toBe('schedule');
    expect(st.jobs[0]!.schedule.timezone).toBe('America/New_York');
    expect(st.jobs[0]!.schedule.next).toEqual([
      { utc: '2027-03-13T14:30:00Z', local: '2027-03-13T09:30:00-05:00' },
      { utc: '2027-03-14T13:30:00Z', local: '2027-03-14T09:30:00-04:00' },
      { utc: '2027-03-15T13:30:00Z', local: '2027-03-15T09:30:00-04:00' },
    ]);
    expect(st.deadLetters).toEqual({ queue: QUEUE, count: 2, sampled: 2, unattributed: 1 });
    expect(st.jobs[0]!.deadLetters).toMatchObject({
      count: 1,
      newest: {
        scheduledTime: '2027-03-12T14:30:00Z',
        errorCode: 'AccessDeniedException',
        errorMessage: 'not authorized to perform: ecs:RunTask',
      },
    });
    // Read, not consumed: both are still there.
    expect(f.sqs.visibleCount(QUEUE)).toBe(2);
    const text = renderStatus(st).join('\n');
    expect(text).toContain(
      'Schedule: cron(30 9 * * ? *) in America/New_York, enabled (live EventBridge Scheduler schedule)',
    );
    expect(text).toContain(`2 scheduled invocations never reached ECS (dead-letter queue ${QUEUE}):`);
    expect(text).toContain(
      '    sample-batch: 1; newest: run due 2027-03-12 14:30:00, AccessDeniedException: not authorized to perform: ecs:RunTask',
    );
    expect(text).toContain('    1 of no job in the config');
  });

  it('down removes the schedule, its group, the queue and the scheduler role', async () => {
    const f = fresh();
    f.scheduler.groupDeletingMs = 0;
    const s = scratch();
    withSchedule(s, ['timezone: Asia/Tokyo']);
    await upOn(s);
    const report = await runDown({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      interactive: false,
      yes: true,
      force: true,
    });
    expect(report.failures).toEqual([]);
    expect(f.scheduler.schedules.size).toBe(0);
    expect(f.scheduler.inventory()).toEqual([]);
    expect(f.sqs.queues.size).toBe(0);
    expect(f.iam.inventory()).toEqual([]);
    expect(Object.keys(JSON.parse(readFileSync(s.statePath, 'utf8')).resources)).toEqual([]);
  });

  it('down refuses to drop failed invocations kept in the dead-letter queue without --force', async () => {
    const f = fresh();
    f.scheduler.groupDeletingMs = 0;
    const s = scratch();
    withSchedule(s, ['timezone: Asia/Tokyo']);
    await upOn(s);
    const url = f.sqs.queues.get(QUEUE)!.url;
    await new SQSClient({ region: 'ap-northeast-1' }).send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: '{"failed":true}' }),
    );
    f.core.resetCalls();
    const opts = {
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      interactive: false,
      yes: true,
    };
    const err = await runDown(opts).catch((e) => e);
    expect(err.message).toMatch(/holds 1 failed scheduled invocation: pass --force/);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect((await runDown({ ...opts, force: true })).failures).toEqual([]);
    expect(f.sqs.queues.size).toBe(0);
  });
});
