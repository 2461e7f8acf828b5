/**
 * Timeouts and retries (issue 16) end to end on the fake: a job with `task.timeout` and `task.retries`
 * gets a state machine whose definition has them and whose role is scoped, its schedule (either engine)
 * starts it with the scheduled time, and the fake Step Functions really runs the definition against the
 * fake ECS: a timed-out attempt's task is stopped and the run fails, a non-zero exit is retried with
 * backoff and exit 0 is not, the duplicate guard's time and the run id reach the container. Switching a
 * job between its direct target and its state machine keeps exactly one trigger that can start a run
 * at every AWS call; a job with neither setting keeps its direct target.
 */
import { describe, expect, it, vi } from 'vitest';
import { freshFakeAws, scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import { cannotStart, fire, liveTriggers } from '../helpers/triggers.js';
import { setEngine } from '../helpers/drift.js';
import { runPlan } from '../../src/stack/plan.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { ENV_RUN_ID, ENV_SCHEDULED_TIME } from '../../src/model/guard.js';
import { stateMachineCost, transitionsPerRun } from '../../src/info/cost.js';
import type { FakeAws } from '../fake-aws/index.js';
import type { Execution } from '../fake-aws/sfn.js';

const fresh = freshFakeAws();

const ACCOUNT = '123456789012';
const REGION = 'ap-northeast-1';
const SM_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:sample-batch`;
const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/sample-batch`;
const T = '2027-03-14T06:30:00Z';

/** The default config with these lines in its task section. */
function withTask(s: Scratch, lines: string[]): void {
  s.editConfig((t) =>
    t.replace(
      '  command: [node, dist/main.js]\n',
      `  command: [node, dist/main.js]\n${lines.map((l) => `  ${l}\n`).join('')}`,
    ),
  );
}

const withoutTask = (s: Scratch, lines: string[]) =>
  s.editConfig((t) => lines.reduce((x, l) => x.replace(`  ${l}\n`, ''), t));

/** A role's inline policies, parsed, by policy name. */
function inlinePolicies(
  f: FakeAws,
  roleName: string,
): Record<
  string,
  { Statement: { Sid?: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown }[] }
> {
  const role = [...f.iam.roles.values()].find((r) => r.name === roleName);
  if (!role) throw new Error(`no role ${roleName}`);
  return Object.fromEntries([...role.inline].map(([k, v]) => [k, JSON.parse(v)]));
}

/** Fake time, and a stack whose tasks take 3 + 4 s to start and 20 s to run. */
function fakeTime(f: FakeAws): void {
  f.ecs.taskTimings = { provisioningMs: 3000, pendingMs: 4000, runningMs: 20_000 };
  vi.useFakeTimers({ now: Date.parse('2027-03-14T06:30:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
}

/** Let fake time run until the execution ends. */
async function finished(x: Execution): Promise<Execution> {
  for (let i = 0; i < 10_000 && x.status === 'RUNNING'; i++) await vi.advanceTimersToNextTimerAsync();
  return x;
}

const attempts = (x: Execution) => x.events.filter((e) => e.type === 'TaskScheduled');
const seconds = (a: Date, b: Date) => (b.getTime() - a.getTime()) / 1000;

/** The container overrides of a task the fake ECS ran, as `NAME=value` lines. */
function envOf(f: FakeAws, taskArn: string): Record<string, string> {
  const o = f.ecs.tasks.get(taskArn)!.overrides as {
    containerOverrides: { environment?: { name: string; value: string }[] }[];
  };
  return Object.fromEntries((o.containerOverrides[0]!.environment ?? []).map((e) => [e.name, e.value]));
}

/** The task ARN each attempt of an execution ran, in order. */
function taskArns(x: Execution): string[] {
  return x.events
    .filter((e) => e.type === 'TaskSubmitted')
    .map((e) => JSON.parse((e.taskSubmittedEventDetails as { output: string }).output).Tasks[0].TaskArn as string);
}

describe('a job with timeout and retries: what up builds', () => {
  it('a state machine with the timeout and the retries, a role scoped to the job, the rule targeting it; a second up writes nothing', async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['timeout: 45m', 'retries: 3']);
    const up = await upOn(s);
    expect(up.counts.failed).toBe(0);

    const m = f.sfn.machines.get(SM_ARN)!;
    expect(m.tags).toMatchObject({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': 'state-machine' });
    const def = JSON.parse(m.definition);
    const run = def.States['Run task'];
    expect(run.Resource).toBe('arn:aws:states:::ecs:runTask.sync');
    expect(run.TimeoutSeconds).toBe(2700);
    expect(run.Retry).toEqual([
      {
        ErrorEquals: ['States.TaskFailed', 'AmazonECS.Unknown'],
        IntervalSeconds: 30,
        MaxAttempts: 3,
        BackoffRate: 2,
        MaxDelaySeconds: 600,
      },
    ]);
    // The same network, cluster and family as the direct target would have.
    expect(run.Arguments).toMatchObject({
      Cluster: CLUSTER_ARN,
      TaskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-batch`,
      LaunchType: 'FARGATE',
      PropagateTags: 'TASK_DEFINITION',
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' } },
    });
    // Not a parameter the Step Functions guide shows for RunTask (docs/how-it-works.md).
    expect(run.Arguments).not.toHaveProperty('EnableECSManagedTags');
    expect(def.States['Exit code'].Type).toBe('Choice');

    // The state machine's role: this family in this cluster, these two roles, this job's tasks, the .sync rule.
    const smRole = f.iam.roles.get('sample-batch-states')!;
    expect(JSON.parse(smRole.trust).Statement[0].Principal).toEqual({ Service: 'states.amazonaws.com' });
    expect(m.roleArn).toBe(smRole.arn);
    const doc = inlinePolicies(f, 'sample-batch-states')['sample-batch-states']!;
    const bySid = Object.fromEntries(doc.Statement.map((x) => [x.Sid, x]));
    expect(bySid.RunTask).toMatchObject({
      Action: 'ecs:RunTask',
      Resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-batch:*`,
      Condition: { ArnEquals: { 'ecs:cluster': CLUSTER_ARN } },
    });
    expect(bySid.PassRoles!.Resource).toEqual([
      f.iam.roles.get('sample-batch-execution')!.arn,
      f.iam.roles.get('sample-batch-task')!.arn,
    ]);
    expect(bySid.StopTasks).toMatchObject({
      Action: 'ecs:StopTask',
      Condition: {
        ArnEquals: { 'ecs:cluster': CLUSTER_ARN },
        StringEquals: {
          'aws:ResourceTag/batchctl:stack': 'sample-batch',
          'aws:ResourceTag/batchctl:logical': 'task-definition',
        },
      },
    });
    expect(bySid.SyncRule).toMatchObject({
      Resource: `arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForECSTaskRule`,
    });
    expect(doc.Statement.flatMap((x) => [x.Action].flat()).sort()).toEqual([
      'ecs:DescribeTasks',
      'ecs:RunTask',
      'ecs:StopTask',
      'ecs:TagResource',
      'events:DescribeRule',
      'events:PutRule',
      'events:PutTargets',
      'iam:PassRole',
    ]);

    // The rule's one target starts the state machine; its role may only do that.
    const [trigger, ...others] = liveTriggers(f);
    expect(others).toEqual([]);
    expect(trigger).toMatchObject({ engine: 'rule', kind: 'state-machine', arn: SM_ARN });
    expect(inlinePolicies(f, 'sample-batch-events')).toEqual({
      'sample-batch-events-start-execution': {
        Version: '2012-10-17',
        Statement: [{ Sid: 'StartExecution', Effect: 'Allow', Action: 'states:StartExecution', Resource: SM_ARN }],
      },
    });
    expect(f.eventBridge.rules.get('sample-batch')!.targets.get('batch')!.RetryPolicy).toEqual({
      MaximumEventAgeInSeconds: 1800,
      MaximumRetryAttempts: 10,
    });

    f.core.resetCalls();
    const second = await upOn(s);
    expect(second.counts.unchanged).toBe(second.events.length);
    expect(f.core.mutatingCalls()).toEqual([]);
    expect(
      (await runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() })).pending,
    ).toBe(false);
  });

  it("the schedule passes the scheduled time through the execution into the container, with the run id; the command is the job's", async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['timeout: 30m', 'retries: 1']);
    await upOn(s);
    fakeTime(f);
    const { execution } = fire(f, liveTriggers(f)[0]!, T);
    expect(JSON.parse(execution!.input)).toEqual({
      Command: ['node', 'dist/main.js'],
      Environment: [{ Name: ENV_SCHEDULED_TIME, Value: T }],
    });
    await finished(execution!);
    expect(execution!.status).toBe('SUCCEEDED');
    const [task] = taskArns(execution!);
    expect(envOf(f, task!)).toEqual({ [ENV_SCHEDULED_TIME]: T, [ENV_RUN_ID]: execution!.arn });
    expect(f.ecs.tasks.get(task!)!.overrides).toMatchObject({
      containerOverrides: [{ name: 'batch', command: ['node', 'dist/main.js'] }],
    });
    // The task carries the family's tags (the state machine role's StopTask is scoped by them) and Step Functions'
    // startedBy.
    expect(f.ecs.tasks.get(task!)!.tags).toMatchObject({
      'batchctl:stack': 'sample-batch',
      'batchctl:logical': 'task-definition',
    });
    expect(f.ecs.tasks.get(task!)!.startedBy).toBe('AWS Step Functions');
  });

  it('the scheduler engine: the schedule starts the state machine with the scheduled-time attribute; its role may start it and send to the DLQ', async () => {
    const f = fresh();
    const s = scratch();
    setEngine(s, 'scheduler');
    withTask(s, ['timeout: 30m']);
    await upOn(s);
    const [t, ...others] = liveTriggers(f);
    expect(others).toEqual([]);
    expect(t).toMatchObject({ engine: 'scheduler', kind: 'state-machine', arn: SM_ARN });
    const target = f.scheduler.schedules.get('sample-batch/sample-batch')!.def.Target!;
    expect(target.EcsParameters).toBeUndefined();
    expect(target.Input).toContain('<aws.scheduler.scheduled-time>');
    expect(JSON.parse(t!.inputFor(T)).Environment).toEqual([{ Name: ENV_SCHEDULED_TIME, Value: T }]);
    const policies = inlinePolicies(f, 'sample-batch-scheduler');
    expect(Object.keys(policies)).toEqual(['sample-batch-scheduler-start-execution']);
    expect(policies['sample-batch-scheduler-start-execution']!.Statement.map((x) => x.Action)).toEqual([
      'states:StartExecution',
      'sqs:SendMessage',
    ]);
    // A timeout alone: no Retry in the definition.
    expect(JSON.parse(f.sfn.machines.get(SM_ARN)!.definition).States['Run task'].Retry).toBeUndefined();
  });

  it('a job without either keeps its direct target: no state machine, no Step Functions call', async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['retries: 0']);
    await upOn(s);
    expect(f.sfn.machines.size).toBe(0);
    expect(f.core.calls.filter((c) => c.service === 'sfn')).toEqual([]);
    expect(liveTriggers(f)).toEqual([expect.objectContaining({ kind: 'ecs', arn: CLUSTER_ARN })]);
    expect(Object.keys(inlinePolicies(f, 'sample-batch-events'))).toEqual(['sample-batch-events']);
  });
});

describe('the state machine runs the task (the fake executes the definition)', () => {
  it('exit code 1 is retried with backoff (30 s, then 60 s) until the retries run out; the run fails with the last attempt', async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['timeout: 30m', 'retries: 2']);
    await upOn(s);
    fakeTime(f);
    f.ecs.taskExitCode = 1;
    const x = await finished(fire(f, liveTriggers(f)[0]!, T).execution!);
    expect(x.status).toBe('FAILED');
    expect(x.error).toBe('States.TaskFailed');
    const tries = attempts(x);
    expect(tries).toHaveLength(3);
    const failures = x.events.filter((e) => e.type === 'TaskFailed');
    // Each retry starts its wait when the previous attempt failed: 30 s, then 30 x 2.
    expect(seconds(failures[0]!.timestamp, tries[1]!.timestamp)).toBe(30);
    expect(seconds(failures[1]!.timestamp, tries[2]!.timestamp)).toBe(60);
    // Every attempt is a task of its own, all of the same run: the same scheduled time and run id.
    const tasks = taskArns(x);
    expect(new Set(tasks).size).toBe(3);
    for (const t of tasks) expect(envOf(f, t)).toEqual({ [ENV_SCHEDULED_TIME]: T, [ENV_RUN_ID]: x.arn });
    // Billed transitions: the task state, and one per retry.
    expect(x.transitions).toBe(3);
  });

  it('exit code 0 is not retried: one attempt, the exit-code check, success; the transitions are what cost counts', async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['retries: 5']);
    await upOn(s);
    fakeTime(f);
    const x = await finished(fire(f, liveTriggers(f)[0]!, T).execution!);
    expect(x.status).toBe('SUCCEEDED');
    expect(attempts(x)).toHaveLength(1);
    expect(x.events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(x.transitions).toBe(transitionsPerRun(5).first);
    expect(stateMachineCost({ retries: 5 }, 0.025, 720)).toMatchObject({
      transitionsPerRun: 3,
      maxTransitionsPerRun: 8,
      transitionsPerMonth: 2160,
      monthly: 0.054,
    });
  });

  it('a failed attempt then a good one: the run succeeds at attempt 2 (one retry counted as a transition)', async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['retries: 2']);
    await upOn(s);
    fakeTime(f);
    f.ecs.taskExitCode = 1;
    const x = fire(f, liveTriggers(f)[0]!, T).execution!;
    // Once the first task exists, the next ones exit 0.
    await vi.advanceTimersByTimeAsync(1000);
    f.ecs.taskExitCode = 0;
    await finished(x);
    expect(x.status).toBe('SUCCEEDED');
    expect(attempts(x)).toHaveLength(2);
    expect(x.transitions).toBe(transitionsPerRun(2).first + 1);
  });

  it('a timeout stops the task and fails the run, without a retry; the alert rule matches the stopped task', async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['timeout: 2m', 'retries: 3']);
    s.editConfig((t) => `${t}\nnotify:\n  emails: [ops@example.com]\n`);
    await upOn(s);
    fakeTime(f);
    // A hung job: it would run for an hour.
    f.ecs.taskTimings = { provisioningMs: 3000, pendingMs: 4000, runningMs: 3_600_000 };
    const x = fire(f, liveTriggers(f)[0]!, T).execution!;
    const started = Date.now();
    await finished(x);
    expect(x.status).toBe('FAILED');
    expect(x.error).toBe('States.Timeout');
    expect(attempts(x)).toHaveLength(1);
    expect(x.events.map((e) => e.type)).toContain('TaskTimedOut');
    const [task] = taskArns(x);
    const t = f.ecs.describeTask(task!)!;
    // Stopped by Step Functions at the timeout: SIGTERM, the job exits 143.
    expect(t.lastStatus).toBe('STOPPED');
    expect(t.stopCode).toBe('UserInitiated');
    expect(t.stoppedAt!.getTime() - started).toBe(120_000);
    expect(t.containers[0]!.exitCode).toBe(143);
    // The failure alert (ECS task stopped with a non-zero exit) sees it.
    expect(f.eventBridge.matchEvent('sample-batch-failed-runs', f.ecs.taskStateChangeEvent(task!))).toBe(true);
  });

  it('a task that does not start (no capacity) is retried: AmazonECS.Unknown', async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['retries: 1']);
    await upOn(s);
    fakeTime(f);
    f.ecs.runTaskFailure = { reason: 'RESOURCE:ENI' };
    const x = fire(f, liveTriggers(f)[0]!, T).execution!;
    await vi.advanceTimersByTimeAsync(1000);
    f.ecs.runTaskFailure = undefined;
    await finished(x);
    expect(
      x.events.filter((e) => e.type === 'TaskFailed').map((e) => (e.taskFailedEventDetails as { error: string }).error),
    ).toEqual(['AmazonECS.Unknown']);
    expect(x.status).toBe('SUCCEEDED');
    expect(attempts(x)).toHaveLength(2);
  });

  it('were .sync to succeed whatever the exit code, the exit-code check still fails the run', async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['retries: 1']);
    await upOn(s);
    fakeTime(f);
    f.sfn.syncIgnoresExitCode = true;
    f.ecs.taskExitCode = 2;
    const x = await finished(fire(f, liveTriggers(f)[0]!, T).execution!);
    expect(x.status).toBe('FAILED');
    expect(x.error).toBe('Batch.ExitCode');
  });
});

describe('switching a job between its direct target and its state machine', () => {
  /**
   * Run `check` before every call the fake receives, so it sees the state between every two mutations
   * of an `up`.
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

  for (const engine of ['rule', 'scheduler'] as const) {
    it(`${engine}: direct -> state machine -> direct: at every AWS call exactly one trigger, and it can start a run with the scheduled time`, async () => {
      const f = fresh();
      const s = scratch();
      setEngine(s, engine);
      await upOn(s);
      const kinds = new Set<string>();
      // Why this invariant: the target is replaced in one call (PutTargets with the same Id, or
      // UpdateSchedule), so there are never two triggers nor none; what could break is the permission:
      // the trigger role's policy for the new path exists before the target changes, the old one goes
      // only after. A trigger that cannot start its target would be a missed run.
      beforeEveryCall(f, () => {
        const now = liveTriggers(f);
        expect(now).toHaveLength(1);
        const t = now[0]!;
        expect(cannotStart(f, t)).toBeUndefined();
        const env =
          t.kind === 'ecs'
            ? (
                JSON.parse(t.inputFor(T)) as {
                  containerOverrides: { environment: { name: string; value: string }[] }[];
                }
              ).containerOverrides[0]!.environment.map((e) => [e.name, e.value])
            : (JSON.parse(t.inputFor(T)) as { Environment: { Name: string; Value: string }[] }).Environment.map((e) => [
                e.Name,
                e.Value,
              ]);
        expect(env).toEqual([[ENV_SCHEDULED_TIME, T]]);
        kinds.add(t.kind);
      });

      withTask(s, ['timeout: 30m', 'retries: 2']);
      const to = await upOn(s);
      expect(to.counts.failed).toBe(0);
      expect(to.events.filter((e) => e.action === 'deleted').map((e) => e.key)).toEqual([
        `role-policy/${engine === 'rule' ? 'events' : 'scheduler'}`,
      ]);
      expect(liveTriggers(f)[0]!.kind).toBe('state-machine');

      withoutTask(s, ['timeout: 30m', 'retries: 2']);
      const back = await upOn(s);
      expect(back.counts.failed).toBe(0);
      expect(
        back.events
          .filter((e) => e.action === 'deleted')
          .map((e) => e.key)
          .sort(),
      ).toEqual([
        `role-policy/${engine === 'rule' ? 'events' : 'scheduler'}/start-execution`,
        'role-policy/states',
        'role/states',
        'state-machine',
      ]);
      expect(liveTriggers(f)[0]!.kind).toBe('ecs');
      expect(f.sfn.machines.size).toBe(0);
      expect([...kinds].sort()).toEqual(['ecs', 'state-machine']);
    });
  }

  it('a run in progress when the job goes back to its direct target finishes its attempt; the state machine goes once it has', async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['retries: 2']);
    await upOn(s);
    fakeTime(f);
    const x = fire(f, liveTriggers(f)[0]!, T).execution!;
    await vi.advanceTimersByTimeAsync(5000);
    withoutTask(s, ['retries: 2']);
    await settleWithFakeTimers(upOn(s));
    expect(f.sfn.machines.get(SM_ARN)?.status ?? 'gone').not.toBe('ACTIVE');
    await finished(x);
    // The task it waited for ran to its end; the execution stopped at its next transition.
    expect(f.ecs.describeTask(taskArns(x)[0]!)!.stopCode).toBe('EssentialContainerExited');
    expect(f.sfn.machines.size).toBe(0);
  });
});

describe('status and cost of a job with timeout and retries', () => {
  it("status: the job's timeout and retries; each run once, with its attempts, its trigger and a timeout", async () => {
    const f = fresh();
    const s = scratch();
    withTask(s, ['timeout: 10m', 'retries: 2']);
    await upOn(s);
    fakeTime(f);
    // A scheduled run that succeeds at its second attempt.
    f.ecs.taskExitCode = 1;
    const first = fire(f, liveTriggers(f)[0]!, T).execution!;
    await vi.advanceTimersByTimeAsync(1000);
    f.ecs.taskExitCode = 0;
    await finished(first);
    // A run that hangs and times out.
    f.ecs.taskTimings = { provisioningMs: 3000, pendingMs: 4000, runningMs: 3_600_000 };
    const hung = await finished(fire(f, liveTriggers(f)[0]!, '2027-03-14T07:30:00Z').execution!);
    expect(hung.error).toBe('States.Timeout');
    const { runStatus } = await import('../../src/runs/status.js');
    const { renderStatus } = await import('../../src/cli/commands/status.js');
    const st = await runStatus({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      now: new Date(Date.now()),
      displayTimeZone: 'UTC',
    });
    expect(st.jobs[0]!.runPolicy).toEqual({ timeoutSeconds: 600, retries: 2, stateMachine: 'sample-batch' });
    // Three tasks ran, in two runs.
    expect(f.ecs.tasks.size).toBe(3);
    expect(
      st.runs.map((r) => [r.trigger, r.attempts, r.lastStatus, r.exitCode, r.timedOut, r.execution?.status]),
    ).toEqual([
      ['schedule', 1, 'STOPPED', 143, true, 'FAILED'],
      ['schedule', 2, 'STOPPED', 0, false, 'SUCCEEDED'],
    ]);
    expect(st.jobs[0]!.lastRun).toMatchObject({ attempts: 1, timedOut: true });
    const text = renderStatus(st).join('\n');
    expect(text).toContain(
      'Timeouts and retries:\n  sample-batch  timeout 10m per attempt, 2 retries  (state machine sample-batch)',
    );
    expect(text).toMatch(/TASK +TRIGGER +STARTED \(UTC\) +STOPPED \(UTC\) +DURATION +STATUS +EXIT +ATTEMPTS +STOP/);
    expect(text).toMatch(
      /schedule .* 10m00s +STOPPED +143 +1 +timed out \(task\.timeout\): UserInitiated: The task ran longer than 600 seconds/,
    );
    expect(text).toMatch(/schedule .* STOPPED +0 +2 +EssentialContainerExited/);
    // A second status reads one listing of the executions and the histories of the runs shown.
    f.core.resetCalls();
    await runStatus({ configPath: s.configPath, statePath: s.statePath, reporter: new RecordingReporter() });
    expect(f.core.count({ service: 'sfn', op: 'ListExecutions' })).toBe(1);
    expect(f.core.count({ service: 'sfn', op: 'GetExecutionHistory' })).toBe(2);
  });

  it("cost: Step Functions' transitions per run and per month, in the job's total", async () => {
    fresh();
    const s = scratch();
    withTask(s, ['timeout: 10m', 'retries: 2']);
    const { runCost } = await import('../../src/info/cost.js');
    const { renderCost } = await import('../../src/cli/commands/cost.js');
    const c = await runCost({
      configPath: s.configPath,
      reporter: new RecordingReporter(),
      duration: '5m',
      now: new Date('2027-03-01T00:00:00Z'),
    });
    const j = c.jobs[0]!;
    expect(j.stateMachine).toMatchObject({
      retries: 2,
      timeoutSeconds: 600,
      transitionsPerRun: 3,
      maxTransitionsPerRun: 5,
      pricePer1kTransitions: 0.025,
      transitionsPerMonth: 2160,
      monthly: 0.054,
      perRun: 0.000075,
    });
    expect(j.monthlyTotal).toBeCloseTo(j.fixedShareMonthly + j.schedule.monthly + 0.054, 9);
    // The network modes' comparison counts it too: the mode in force costs the total.
    expect(c.network.modes.find((m) => m.switching === 'current')!.monthly).toBeCloseTo(c.monthlyTotal, 9);
    const text = renderCost(c).join('\n');
    expect(text).toMatch(
      /Step Functions +3 state transitions a run x \$0\.025\/1,000, up to 5 \(\$0\.000125\) with 2 retries +\$0\.000075/,
    );
    expect(text).toMatch(/per month +2,160 state transitions +\$0\.05/);
    expect(text).toContain('the first 4,000 a month in the account are free, not subtracted here');
  });
});
