/**
 * `batchctl stop` of a job with a timeout or retries: its scheduled run is an execution of its state
 * machine, whose Retry would start a new attempt after a task stopped on its own. `stop` stops the
 * execution first (with a cause naming who), then the task: no execution is left RUNNING and no new
 * attempt ever starts; `history` shows the run as stopped, by whom.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import { buildProgram } from '../../src/cli/main.js';

let fake: FakeAws | undefined;
let out: string[] = [];
let err: string[] = [];
const CALLER = 'arn:aws:iam::123456789012:user/tester';

async function cli(s: Scratch, ...args: string[]): Promise<number> {
  out = [];
  err = [];
  process.exitCode = undefined;
  // No fake time passes meanwhile: stop and history wait for nothing, and the runs must not move on.
  await buildProgram().parseAsync(['node', 'batchctl', '-c', s.configPath, '--state', s.statePath, ...args]);
  return Number(process.exitCode ?? 0);
}

/** A stack whose job retries twice (after 30 s, then 60 s), built by `up`; its tasks run an hour. */
async function stack(): Promise<{ f: FakeAws; s: Scratch }> {
  vi.useFakeTimers({ now: Date.parse('2027-03-01T06:29:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  fake = createFakeAws();
  const s = scratch();
  s.editConfig((t) =>
    t.replace('  command: [node, dist/main.js]\n', '  command: [node, dist/main.js]\n  retries: 2\n'),
  );
  await settleWithFakeTimers(upOn(s));
  fake.ecs.taskTimings = { provisioningMs: 1000, pendingMs: 1000, runningMs: 3_600_000 };
  vi.spyOn(process.stdout, 'write').mockImplementation((x) => {
    out.push(String(x));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((x) => {
    err.push(String(x));
    return true;
  });
  return { f: fake, s };
}

/** Fire the schedule for `time` and let the execution start its first attempt's task. */
async function scheduledRun(f: FakeAws, time: string) {
  expect(f.eventBridge.invokeScheduled('sample-batch', time)).toMatchObject([{ outcome: 'started' }]);
  const x = [...f.sfn.executions.values()].at(-1)!;
  for (let i = 0; i < 50 && !x.runningTask; i++) await vi.advanceTimersByTimeAsync(500);
  expect(x.runningTask).toBeDefined();
  return x;
}

afterEach(() => {
  fake?.uninstall();
  fake = undefined;
  vi.useRealTimers();
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('stop of a job that runs through its state machine', () => {
  it('stops the execution (cause: who), then its task; nothing is RUNNING and no retry starts; history says stopped by whom', async () => {
    const { f, s } = await stack();
    const x = await scheduledRun(f, '2027-03-01T06:30:00Z');
    const task = x.runningTask!;
    f.core.resetCalls();
    expect(await cli(s, 'stop', '--yes')).toBe(0);
    // The execution first: its retry cannot start once it is stopped.
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual(['StopExecution', 'StopTask']);
    expect(f.core.calls.find((c) => c.op === 'StopExecution')!.input).toEqual({
      executionArn: x.arn,
      error: 'batchctl.Stopped',
      cause: `Stopped by batchctl stop (${CALLER})`,
    });
    expect(out.join('')).toBe(
      [
        `Stopping sample-batch execution ${x.name} (first: its retries never start)`,
        `Stopping sample-batch task ${task.split('/').at(-1)} (PROVISIONING, schedule)`,
        `Cause given to Step Functions: "Stopped by batchctl stop (${CALLER})"`,
        `Reason given to ECS: "Stopped by batchctl stop (${CALLER})" (the container gets SIGTERM, then SIGKILL after its stop timeout, 30 s by default)`,
        '',
      ].join('\n'),
    );
    expect(x.status).toBe('ABORTED');

    // Well past both retry waits: no execution RUNNING, no new attempt, no task but the stopped one.
    const tasks = f.ecs.tasks.size;
    await vi.advanceTimersByTimeAsync(600_000);
    expect([...f.sfn.executions.values()].filter((e) => e.status === 'RUNNING')).toEqual([]);
    expect(x.events.filter((e) => e.type === 'TaskScheduled')).toHaveLength(1);
    expect(f.ecs.tasks.size).toBe(tasks);
    expect(f.ecs.describeTask(task)?.lastStatus).toBe('STOPPED');

    // history: the run is stopped, by the caller (the execution's cause).
    expect(await cli(s, 'history', '--since', '1d', '--json')).toBe(0);
    const [run] = JSON.parse(out.join('')).entries as { result: string; stoppedBy?: string; runId?: string }[];
    expect(run).toMatchObject({ result: 'stopped', stoppedBy: CALLER, runId: x.arn });
    expect(await cli(s, 'history', '--since', '1d')).toBe(0);
    expect(out.join('')).toMatch(/: 1 run, 0 failed, 0 missed, 1 stopped\n/);
    expect(out.join('')).toMatch(new RegExp(`stopped +schedule .* stopped by ${CALLER.replaceAll('/', '\\/')}\\n`));

    // Nothing left to stop.
    expect(await cli(s, 'stop', '--yes')).toBe(0);
    expect(out.join('')).toBe('Nothing of stack sample-batch is running.\n');
  });

  it('an execution waiting to retry (no task running) is stopped too; `--run` stops one run of two and leaves the other', async () => {
    const { f, s } = await stack();
    f.ecs.taskTimings = { provisioningMs: 1000, pendingMs: 1000, runningMs: 5000 };
    f.ecs.taskExitCode = 1;
    const a = await scheduledRun(f, '2027-03-01T06:30:00Z');
    // The first attempt fails: the execution waits 30 s before its retry, with no task.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(a.status).toBe('RUNNING');
    expect(a.runningTask).toBeUndefined();
    f.ecs.taskTimings = { provisioningMs: 1000, pendingMs: 1000, runningMs: 3_600_000 };
    f.ecs.taskExitCode = 0;
    const b = await scheduledRun(f, '2027-03-01T07:30:00Z');

    expect(await cli(s, 'stop', '--run', a.name, '--yes')).toBe(0);
    expect(out.join('')).toMatch(new RegExp(`^Stopping sample-batch execution ${a.name} `));
    expect(a.status).toBe('ABORTED');
    expect(b.status).toBe('RUNNING');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(a.events.filter((e) => e.type === 'TaskScheduled')).toHaveLength(1);
    expect(b.runningTask && f.ecs.describeTask(b.runningTask)?.lastStatus).toBe('RUNNING');

    // --run that matches nothing is a user error; the other run is still untouched.
    expect(await cli(s, 'stop', '--run', 'nope-nope', '--yes')).toBe(2);
    expect(err.join('')).toMatch(/^error: no running execution or task of stack sample-batch matches --run nope-nope/);
    expect(b.status).toBe('RUNNING');
  });
});
