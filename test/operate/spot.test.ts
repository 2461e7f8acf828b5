/**
 * Fargate Spot (`task.capacity: spot`) end to end on the fake: the cluster gets the FARGATE and
 * FARGATE_SPOT capacity providers, the schedule starts the job's state machine, whose first attempt runs
 * with a FARGATE_SPOT capacity provider strategy; a run never fails only because of Spot: no Spot capacity
 * and a reclaimed task (exiting 143, or 0 on the SIGTERM) both continue on on-demand Fargate, with the same
 * scheduled time and run id. Other failures follow the job's retries. `run-now` follows the same path;
 * `run-now --direct` falls back itself. History and alerts show the interruption.
 */
import { describe, expect, it, vi } from 'vitest';
import { freshFakeAws, scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { fire, liveTriggers } from '../helpers/triggers.js';
import { runNow } from '../../src/runs/run-now.js';
import { runHistory } from '../../src/runs/history.js';
import { renderHistory } from '../../src/cli/commands/history.js';
import { RecordingReporter, silentReporter } from '../../src/engine/reporter.js';
import { ENV_RUN_ID, ENV_SCHEDULED_TIME } from '../../src/model/guard.js';
import { matchPattern } from '../fake-aws/event-pattern.js';
import type { FakeAws } from '../fake-aws/index.js';
import type { Execution } from '../fake-aws/sfn.js';

const fresh = freshFakeAws();
const cli = captureCli();

const SM_ARN = 'arn:aws:states:ap-northeast-1:123456789012:stateMachine:sample-batch';
const T = '2027-03-14T06:30:00Z';

function withTask(s: Scratch, lines: string[]): void {
  s.editConfig((t) =>
    t.replace(
      '  command: [node, dist/main.js]\n',
      `  command: [node, dist/main.js]\n${lines.map((l) => `  ${l}\n`).join('')}`,
    ),
  );
}

function spotStack(lines: string[] = []): Scratch {
  const s = scratch();
  withTask(s, ['capacity: spot', ...lines]);
  return s;
}

function fakeTime(f: FakeAws): void {
  f.ecs.taskTimings = { provisioningMs: 3000, pendingMs: 4000, runningMs: 20_000 };
  vi.useFakeTimers({ now: Date.parse(T), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
}

async function finished(x: Execution): Promise<Execution> {
  for (let i = 0; i < 10_000 && x.status === 'RUNNING'; i++) await vi.advanceTimersToNextTimerAsync();
  return x;
}

function taskArns(x: Execution): string[] {
  return x.events
    .filter((e) => e.type === 'TaskSubmitted')
    .map((e) => JSON.parse((e.taskSubmittedEventDetails as { output: string }).output).Tasks[0].TaskArn as string);
}

function envOf(f: FakeAws, taskArn: string): Record<string, string> {
  const o = f.ecs.tasks.get(taskArn)!.overrides as {
    containerOverrides: { environment?: { name: string; value: string }[] }[];
  };
  return Object.fromEntries((o.containerOverrides[0]!.environment ?? []).map((e) => [e.name, e.value]));
}

const definition = (f: FakeAws) =>
  JSON.parse(f.sfn.machines.get(SM_ARN)!.definition) as { States: Record<string, any> };

describe('a Spot job: what up builds', () => {
  it('the cluster with both Fargate providers, the schedule starting the state machine, Spot for the first attempt only; a second up writes nothing', async () => {
    const f = fresh();
    const s = spotStack();
    await upOn(s);
    const cluster = f.ecs.clusters.get('sample-batch')!;
    expect([...cluster.capacityProviders].sort()).toEqual(['FARGATE', 'FARGATE_SPOT']);
    expect(cluster.defaultCapacityProviderStrategy).toEqual([]);
    const [trigger, ...others] = liveTriggers(f);
    expect(others).toEqual([]);
    expect(trigger).toMatchObject({ kind: 'state-machine', arn: SM_ARN });

    const d = definition(f);
    expect(Object.keys(d.States).sort()).toEqual([
      'Attempt failed',
      'Exit code',
      'Failed',
      'Run task',
      'Run task on-demand',
      'Spot failure?',
      'Succeeded',
    ]);
    expect(d.States['Run task'].Arguments.CapacityProviderStrategy).toEqual([
      { CapacityProvider: 'FARGATE_SPOT', Weight: 1 },
    ]);
    expect(d.States['Run task'].Arguments.LaunchType).toBeUndefined();
    expect(d.States['Run task'].Catch).toEqual([
      { ErrorEquals: ['States.TaskFailed', 'AmazonECS.Unknown'], Next: 'Spot failure?' },
    ]);
    expect(d.States['Run task on-demand'].Arguments.LaunchType).toBe('FARGATE');
    expect(d.States['Run task on-demand'].Arguments.CapacityProviderStrategy).toBeUndefined();
    expect(d.States['Run task on-demand'].Retry).toBeUndefined();

    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
  });

  it('an existing cluster gets the providers in place (its association awaited), a lost answer resent; a cluster not ours is never changed', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    withTask(s, ['capacity: spot']);
    f.ecs.attachProvidersMs = 6000;
    f.core.inject({ match: (c) => c.op === 'PutClusterCapacityProviders', kind: 'lost', times: 1 });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const r = await settleWithFakeTimers(upOn(s));
    expect(r.counts.failed).toBe(0);
    expect(r.events.find((e) => e.key === 'cluster')?.action).toBe('updated');
    expect([...f.ecs.clusters.get('sample-batch')!.capacityProviders].sort()).toEqual(['FARGATE', 'FARGATE_SPOT']);
    // The state machine is created once the providers are usable.
    expect(f.core.calls.findIndex((c) => c.op === 'CreateStateMachine')).toBeGreaterThan(
      f.core.calls.findIndex((c) => c.op === 'PutClusterCapacityProviders'),
    );
    vi.useRealTimers();

    const g = fresh();
    // Someone else's cluster of the same name: no tag of ours.
    await g.core.invoke('ecs', 'CreateCluster', {
      clusterName: 'sample-batch',
      tags: [{ key: 'team', value: 'other' }],
    });
    const t = spotStack();
    await upOn(t).catch(() => undefined);
    expect(g.core.calls.filter((c) => c.op === 'PutClusterCapacityProviders')).toEqual([]);
    expect(g.ecs.clusters.get('sample-batch')!.capacityProviders).toEqual([]);
  });

  it('ARM64 is refused with Spot, before any AWS call (Fargate Spot runs X86_64 tasks only)', async () => {
    const f = fresh();
    const s = spotStack(['cpuArchitecture: ARM64']);
    expect(await cli.run('-c', s.configPath, '--state', s.statePath, 'plan')).toBe(2);
    expect(cli.err.join('')).toMatch(/task\.capacity +Fargate Spot runs Linux X86_64 tasks only/);
    expect(f.core.calls).toEqual([]);
  });
});

describe('a Spot job: a run never fails only because of Spot', () => {
  it('no Spot capacity: RunTask on Spot starts nothing, the run continues on on-demand at once and succeeds', async () => {
    const f = fresh();
    const s = spotStack();
    await upOn(s);
    f.ecr.addImage('sample-batch', 'latest');
    fakeTime(f);
    f.ecs.spotCapacity = false;
    const x = await finished(fire(f, liveTriggers(f)[0]!, T).execution!);
    expect(x.status).toBe('SUCCEEDED');
    const scheduled = x.events
      .filter((e) => e.type === 'TaskScheduled')
      .map((e) => JSON.parse((e.taskScheduledEventDetails as { parameters: string }).parameters));
    expect(scheduled.map((p) => p.CapacityProviderStrategy ?? p.LaunchType)).toEqual([
      [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
      'FARGATE',
    ]);
    expect(x.events.find((e) => e.type === 'TaskFailed')!.taskFailedEventDetails).toMatchObject({
      error: 'AmazonECS.Unknown',
      cause: expect.stringMatching(/Capacity is unavailable/),
    });
    const [task] = taskArns(x);
    expect(f.ecs.tasks.get(task!)!.capacityProviderName).toBeUndefined();
    expect(envOf(f, task!)).toMatchObject({ [ENV_SCHEDULED_TIME]: T, [ENV_RUN_ID]: x.arn });
    // No wait before the fallback: the on-demand task starts the moment Spot said no.
    expect(f.ecs.tasks.get(task!)!.createdAt).toBe(Date.parse(T));
  });

  for (const exit of [143, 0]) {
    it(`Spot reclaims the running task (it exits ${exit}): the run starts again on on-demand with the same time and run id`, async () => {
      const f = fresh();
      const s = spotStack();
      await upOn(s);
      fakeTime(f);
      f.ecs.spotInterruptAfterMs = 5000;
      f.ecs.spotInterruptExitCode = exit;
      const x = await finished(fire(f, liveTriggers(f)[0]!, T).execution!);
      expect(x.status).toBe('SUCCEEDED');
      const [spot, onDemand] = taskArns(x).map((a) => f.ecs.describeTask(a)!);
      expect(spot).toMatchObject({
        capacityProviderName: 'FARGATE_SPOT',
        stopCode: 'SpotInterruption',
        stoppedReason: 'Your Spot Task was interrupted.',
        containers: [{ exitCode: exit }],
      });
      expect(onDemand).toMatchObject({
        launchType: 'FARGATE',
        stopCode: 'EssentialContainerExited',
        containers: [{ exitCode: 0 }],
      });
      expect(onDemand!.capacityProviderName).toBeUndefined();
      expect(envOf(f, spot!.taskArn)).toEqual(envOf(f, onDemand!.taskArn));
      expect(envOf(f, onDemand!.taskArn)).toMatchObject({ [ENV_SCHEDULED_TIME]: T, [ENV_RUN_ID]: x.arn });
    });
  }

  it('any other failure of the Spot attempt: without retries the run fails as it would on-demand (no second attempt)', async () => {
    const f = fresh();
    const s = spotStack();
    await upOn(s);
    fakeTime(f);
    f.ecs.taskExitCode = 3;
    const x = await finished(fire(f, liveTriggers(f)[0]!, T).execution!);
    expect(x).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed' });
    expect(taskArns(x)).toHaveLength(1);
  });

  it("with retries: the Spot attempt's failure waits 30 s and retries on on-demand, the later retries 1 min, 2 min after", async () => {
    const f = fresh();
    const s = spotStack(['retries: 3']);
    await upOn(s);
    const d = definition(f);
    expect(d.States['Spot failure?'].Default).toBe('Wait before retry');
    expect(d.States['Wait before retry']).toEqual({ Type: 'Wait', Seconds: 30, Next: 'Run task on-demand' });
    expect(d.States['Run task on-demand'].Retry).toEqual([
      {
        ErrorEquals: ['States.TaskFailed', 'AmazonECS.Unknown'],
        IntervalSeconds: 60,
        MaxAttempts: 2,
        BackoffRate: 2,
        MaxDelaySeconds: 600,
      },
    ]);
    fakeTime(f);
    f.ecs.taskExitCode = 1;
    const x = await finished(fire(f, liveTriggers(f)[0]!, T).execution!);
    expect(x.status).toBe('FAILED');
    const tasks = taskArns(x).map((a) => f.ecs.tasks.get(a)!);
    expect(tasks.map((t) => t.capacityProviderName ?? t.launchType)).toEqual([
      'FARGATE_SPOT',
      'FARGATE',
      'FARGATE',
      'FARGATE',
    ]);
    // Each attempt takes 27 s; the waits between them are 30 s, 60 s, 120 s.
    const starts = tasks.map((t) => (t.createdAt - Date.parse(T)) / 1000);
    expect(starts).toEqual([0, 27 + 30, 57 + 27 + 60, 144 + 27 + 120]);
  });

  it('a timed-out Spot attempt is not retried, on Spot or on-demand', async () => {
    const f = fresh();
    const s = spotStack(['timeout: 10s']);
    await upOn(s);
    fakeTime(f);
    const x = await finished(fire(f, liveTriggers(f)[0]!, T).execution!);
    expect(x).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(taskArns(x)).toHaveLength(1);
  });
});

describe('a Spot job: run-now, history and alerts', () => {
  it('run-now runs the execution: its attempts say where they ran, and the run ends on on-demand after a reclaim', async () => {
    const f = fresh();
    const s = spotStack();
    await upOn(s);
    f.ecr.addImage('sample-batch', 'latest');
    fakeTime(f);
    f.ecs.spotInterruptAfterMs = 5000;
    const seen: string[] = [];
    const r = await settleWithFakeTimers(
      runNow({
        configPath: s.configPath,
        statePath: s.statePath,
        reporter: silentReporter,
        onAttempt: (a, x) => seen.push(`attempt ${a.attempt} of ${x.maxAttempts}`),
        onAttemptEnd: (a) => seen.push(`end ${a.attempt} ${a.stopCode} ${a.capacityProviderName ?? a.exitCode}`),
      }),
    );
    expect(r).toMatchObject({ exitCode: 0, execution: { status: 'SUCCEEDED', spot: true, maxAttempts: 2 } });
    expect(seen).toEqual([
      'attempt 1 of 2',
      'end 1 SpotInterruption FARGATE_SPOT',
      'attempt 2 of 2',
      'end 2 EssentialContainerExited 0',
    ]);
  });

  it('run-now --direct: Spot first; no capacity, or a reclaim, and it runs again on on-demand, saying so', async () => {
    const f = fresh();
    const s = spotStack();
    await upOn(s);
    f.ecr.addImage('sample-batch', 'latest');
    fakeTime(f);
    f.ecs.spotCapacity = false;
    const told: string[] = [];
    const a = await settleWithFakeTimers(
      runNow({
        configPath: s.configPath,
        statePath: s.statePath,
        reporter: silentReporter,
        direct: true,
        onFallback: (w) => told.push(w),
      }),
    );
    expect(a).toMatchObject({
      exitCode: 0,
      spotFallback: {
        reason: expect.stringMatching(/^Fargate Spot started no task \(Capacity is unavailable at this time/),
      },
    });
    const runs = f.core.calls.filter((c) => c.op === 'RunTask').map((c) => c.input);
    expect(runs.map((i) => i.capacityProviderStrategy ?? i.launchType)).toEqual([
      [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
      'FARGATE',
    ]);
    expect(runs[1]!.clientToken).toBe(`${runs[0]!.clientToken}-on-demand`);

    f.ecs.spotCapacity = true;
    f.ecs.spotInterruptAfterMs = 5000;
    f.core.resetCalls();
    const b = await settleWithFakeTimers(
      runNow({
        configPath: s.configPath,
        statePath: s.statePath,
        reporter: silentReporter,
        direct: true,
        onFallback: (w) => told.push(w),
      }),
    );
    expect(b).toMatchObject({ exitCode: 0, spotFallback: { stopCode: 'SpotInterruption', exitCode: 143 } });
    expect(told[1]).toMatch(
      /^Fargate Spot reclaimed task \w+ \(SpotInterruption: Your Spot Task was interrupted\.\): running it again on on-demand Fargate$/,
    );
    expect(f.core.calls.filter((c) => c.op === 'RunTask')).toHaveLength(2);
  });

  it('history lists the run once, saying which attempt Spot reclaimed; the alert rule catches the interruption and its message explains it', async () => {
    const f = fresh();
    const s = spotStack();
    s.editConfig((t) => `${t}\nnotify: { emails: [ops@example.com] }\n`);
    await upOn(s);
    fakeTime(f);
    f.ecs.spotInterruptAfterMs = 5000;
    f.ecs.spotInterruptExitCode = 0;
    const x = await finished(fire(f, liveTriggers(f)[0]!, T).execution!);
    expect(x.status).toBe('SUCCEEDED');
    await vi.advanceTimersByTimeAsync(60_000);
    const h = await settleWithFakeTimers(
      runHistory({
        configPath: s.configPath,
        statePath: s.statePath,
        reporter: new RecordingReporter(),
        since: new Date(Date.parse(T) - 3_600_000),
      }),
    );
    const run = h.entries.find((e) => e.trigger === 'schedule' && e.result !== 'missed')!;
    expect(run).toMatchObject({ result: 'succeeded', exitCode: 0 });
    expect(run.attempts!.map((a) => [a.capacityProviderName ?? 'on-demand', a.stopCode])).toEqual([
      ['FARGATE_SPOT', 'SpotInterruption'],
      ['on-demand', 'EssentialContainerExited'],
    ]);
    expect(renderHistory(h).join('\n')).toMatch(
      /EssentialContainerExited \(2 attempts; attempt 1 reclaimed by Fargate Spot: SpotInterruption\)/,
    );

    // The interrupted task exited 0: only the SpotInterruption branch of the rule matches it.
    const rule = [...f.eventBridge.rules.values()].find((r) => r.name === 'sample-batch-failed-runs')!;
    const [spot, onDemand] = taskArns(x);
    expect(matchPattern(JSON.parse(rule.eventPattern!), f.ecs.taskStateChangeEvent(spot!))).toBe(true);
    expect(matchPattern(JSON.parse(rule.eventPattern!), f.ecs.taskStateChangeEvent(onDemand!))).toBe(false);
    const target = rule.targets.get('notify')!;
    expect(target.InputTransformer!.InputTemplate).toMatch(
      /Stop code SpotInterruption: Fargate Spot reclaimed the task, and the run continues on on-demand Fargate/,
    );
  });
});
