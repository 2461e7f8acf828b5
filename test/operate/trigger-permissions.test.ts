/**
 * What AWS's services check when they start a run for the stack, as the fake models it: a trigger's role
 * (the rule's, the schedule's, the state machine's) must be allowed ecs:TagResource when its RunTask tags
 * the task (propagated from the task definition, ECS managed tags): without it, no run starts. And the
 * scheduled time reaches the container on the scheduler engine only through the universal RunTask target:
 * the ECS templated target (what batchctl wrote before) hands it the literal context attribute.
 */
import { describe, expect, it, vi } from 'vitest';
import { freshFakeAws, scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import type { FakeAws } from '../fake-aws/index.js';
import type { Execution } from '../fake-aws/sfn.js';
import { runPlan } from '../../src/stack/plan.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { ENV_SCHEDULED_TIME } from '../../src/model/guard.js';

const fresh = freshFakeAws();
const T = '2027-03-01T06:30:00Z';

/** Take ecs:TagResource out of a role's inline policies (someone "tidied" it). */
function revokeTagging(f: FakeAws, roleName: string): void {
  const role = f.iam.roles.get(roleName)!;
  for (const [name, doc] of role.inline) {
    const d = JSON.parse(doc) as { Statement: { Action: string | string[] }[] };
    d.Statement = d.Statement.filter((st) => ![st.Action].flat().includes('ecs:TagResource'));
    role.inline.set(name, JSON.stringify(d));
  }
}

/** The environment the fake ECS gave the newest task's container. */
function newestEnv(f: FakeAws): Record<string, string> {
  const t = [...f.ecs.tasks.values()].at(-1)!;
  const o = t.overrides as { containerOverrides: { environment?: { name: string; value: string }[] }[] };
  return Object.fromEntries((o.containerOverrides[0]!.environment ?? []).map((e) => [e.name, e.value]));
}

const withScheduler = (s: Scratch) =>
  s.editConfig((t) => t.replace(/^schedule:\n/m, 'schedule:\n  engine: scheduler\n'));

describe('tag-on-create: the trigger roles need ecs:TagResource', () => {
  it('rule engine: the events role without it gets its run refused (dead-lettered, no task); with it the run starts', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    f.ecs.taskTimings = { provisioningMs: 0, pendingMs: 0, runningMs: 0 };
    expect(f.eventBridge.invokeScheduled('sample-batch', T)).toMatchObject([{ outcome: 'started' }]);
    const before = f.ecs.tasks.size;
    revokeTagging(f, 'sample-batch-events');
    expect(f.eventBridge.invokeScheduled('sample-batch', '2027-03-01T07:30:00Z')).toEqual([
      { targetId: 'batch', outcome: 'dead-lettered', errorCode: 'NO_PERMISSIONS' },
    ]);
    expect(f.ecs.tasks.size).toBe(before);
    const [m] = f.sqs.queues.get('sample-batch-schedule-dlq')!.messages;
    expect(m!.attributes.ERROR_MESSAGE!.StringValue).toMatch(
      /not authorized to perform: ecs:TagResource on resource: arn:aws:ecs:ap-northeast-1:123456789012:task\/sample-batch\/\*/,
    );
    // up puts the grant back (the role policy drifted), and runs start again.
    await upOn(s);
    expect(f.eventBridge.invokeScheduled('sample-batch', '2027-03-01T08:30:00Z')).toMatchObject([
      { outcome: 'started' },
    ]);
  });

  it('scheduler engine: the schedule role without it gets its run refused', async () => {
    const f = fresh();
    const s = scratch();
    withScheduler(s);
    await upOn(s);
    expect(f.scheduler.invokeScheduled('sample-batch', 'sample-batch', T).outcome).toBe('started');
    revokeTagging(f, 'sample-batch-scheduler');
    expect(f.scheduler.invokeScheduled('sample-batch', 'sample-batch', '2027-03-01T07:30:00Z')).toEqual({
      outcome: 'dead-lettered',
      errorCode: 'AccessDeniedException',
    });
    const [m] = f.sqs.queues.get('sample-batch-schedule-dlq')!.messages;
    expect(m!.attributes.ERROR_MESSAGE!.StringValue).toMatch(/not authorized to perform: ecs:TagResource/);
  });

  it('state machine: its role without it fails the attempt with ECS.AccessDeniedException; no task starts', async () => {
    vi.useFakeTimers({ now: Date.parse('2027-03-01T06:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const f = fresh();
      const s = scratch();
      s.editConfig((t) =>
        t.replace('  command: [node, dist/main.js]\n', '  command: [node, dist/main.js]\n  timeout: 10m\n'),
      );
      await settleWithFakeTimers(upOn(s));
      revokeTagging(f, 'sample-batch-states');
      const before = f.ecs.tasks.size;
      expect(f.eventBridge.invokeScheduled('sample-batch', T)).toMatchObject([{ outcome: 'started' }]);
      const x = [...f.sfn.executions.values()].at(-1) as Execution;
      for (let i = 0; i < 1000 && x.status === 'RUNNING'; i++) await vi.advanceTimersToNextTimerAsync();
      expect(x.status).toBe('FAILED');
      expect(x.events.find((e) => e.type === 'TaskFailed')).toMatchObject({
        taskFailedEventDetails: {
          error: 'ECS.AccessDeniedException',
          cause: expect.stringContaining('ecs:TagResource'),
        },
      });
      expect(f.ecs.tasks.size).toBe(before);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the scheduled time reaches the task on the scheduler engine', () => {
  it('the universal RunTask target passes it; a schedule with the ECS templated target (written before) passes the placeholder until up rewrites it', async () => {
    const f = fresh();
    const s = scratch();
    withScheduler(s);
    await upOn(s);
    f.scheduler.invokeScheduled('sample-batch', 'sample-batch', T);
    expect(newestEnv(f)[ENV_SCHEDULED_TIME]).toBe(T);

    // The schedule as batchctl wrote it before: the templated target, the time as a context attribute in
    // its Input. AWS documents no substitution there: the task gets the text, and the job refuses it.
    const def = f.scheduler.schedules.get('sample-batch/sample-batch')!.def;
    const request = JSON.parse(def.Target!.Input!) as Record<string, any>;
    const vpc = request.networkConfiguration.awsvpcConfiguration;
    def.Target = {
      ...def.Target!,
      Arn: request.cluster,
      Input: JSON.stringify(request.overrides),
      EcsParameters: {
        TaskDefinitionArn: request.taskDefinition,
        TaskCount: 1,
        LaunchType: 'FARGATE',
        PlatformVersion: 'LATEST',
        NetworkConfiguration: {
          awsvpcConfiguration: {
            Subnets: vpc.subnets,
            SecurityGroups: vpc.securityGroups,
            AssignPublicIp: vpc.assignPublicIp,
          },
        },
        PropagateTags: 'TASK_DEFINITION',
        EnableECSManagedTags: true,
      },
    };
    f.scheduler.invokeScheduled('sample-batch', 'sample-batch', '2027-03-01T07:30:00Z');
    expect(newestEnv(f)[ENV_SCHEDULED_TIME]).toBe('<aws.scheduler.scheduled-time>');

    const plan = await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
    const entry = plan.entries.find((e) => e.key === 'schedule')!;
    expect(entry).toMatchObject({
      action: 'update',
      changes: [{ field: 'target.arn', from: request.cluster, to: 'arn:aws:scheduler:::aws-sdk:ecs:runTask' }],
    });
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['UpdateSchedule']);
    f.scheduler.invokeScheduled('sample-batch', 'sample-batch', '2027-03-01T08:30:00Z');
    expect(newestEnv(f)[ENV_SCHEDULED_TIME]).toBe('2027-03-01T08:30:00Z');
  });

  it("a job on the state machine gets it through the execution input (the Step Functions target's payload)", async () => {
    vi.useFakeTimers({ now: Date.parse('2027-03-01T06:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const f = fresh();
      const s = scratch();
      withScheduler(s);
      s.editConfig((t) =>
        t.replace('  command: [node, dist/main.js]\n', '  command: [node, dist/main.js]\n  retries: 1\n'),
      );
      await settleWithFakeTimers(upOn(s));
      expect(f.scheduler.schedules.get('sample-batch/sample-batch')!.def.Target!.Arn).toMatch(
        /:states:.*:stateMachine:sample-batch$/,
      );
      expect(f.scheduler.invokeScheduled('sample-batch', 'sample-batch', T).outcome).toBe('started');
      for (let i = 0; i < 50 && !f.ecs.tasks.size; i++) await vi.advanceTimersToNextTimerAsync();
      expect(newestEnv(f)[ENV_SCHEDULED_TIME]).toBe(T);
    } finally {
      vi.useRealTimers();
    }
  });
});
