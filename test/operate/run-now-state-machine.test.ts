/**
 * `batchctl run-now` for a job with a timeout or retries: through its state machine (the timeout and
 * the retries apply), every attempt's log in turn, the final attempt's exit code, 124 on a timeout;
 * `--direct` bypasses the state machine; the execution's name makes a resent StartExecution the same run.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import { setEngine } from '../helpers/drift.js';
import { runNow } from '../../src/runs/run-now.js';
import { silentReporter } from '../../src/engine/reporter.js';
import { buildProgram } from '../../src/cli/main.js';
import { ENV_RUN_ID, ENV_SCHEDULED_TIME } from '../../src/model/guard.js';

let fake: FakeAws | undefined;
let out: string[] = [];
let err: string[] = [];

/** A stack whose job has these task settings, built by `up`; tasks take 3 + 4 s to start, 20 s to run. */
async function stack(lines: string[], engine: 'rule' | 'scheduler' = 'rule'): Promise<{ f: FakeAws; s: Scratch }> {
  fake = createFakeAws();
  const s = scratch();
  if (engine === 'scheduler') setEngine(s, 'scheduler');
  s.editConfig((t) =>
    t.replace(
      '  command: [node, dist/main.js]\n',
      `  command: [node, dist/main.js]\n${lines.map((l) => `  ${l}\n`).join('')}`,
    ),
  );
  await upOn(s);
  // Pushed, as `batchctl push` would: run-now refuses a run whose image is missing.
  fake.ecr.addImage('sample-batch', 'latest');
  fake.ecs.taskTimings = { provisioningMs: 3000, pendingMs: 4000, runningMs: 20_000 };
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  return { f: fake, s };
}

function capture(): void {
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((x) => {
    out.push(String(x));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((x) => {
    err.push(String(x));
    return true;
  });
}

async function cli(s: Scratch, ...args: string[]): Promise<number> {
  process.exitCode = undefined;
  await settleWithFakeTimers(
    buildProgram().parseAsync(['node', 'batchctl', '-c', s.configPath, '--state', s.statePath, ...args]),
  );
  return Number(process.exitCode ?? 0);
}

afterEach(() => {
  fake?.uninstall();
  fake = undefined;
  vi.useRealTimers();
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const ids = (f: FakeAws) => [...f.ecs.tasks.keys()].map((a) => a.split('/').at(-1)!);

describe('run-now through the state machine', () => {
  it("every attempt in turn, each with its own log; a failed run exits with the last attempt's code", async () => {
    const { f, s } = await stack(['timeout: 5m', 'retries: 2']);
    f.ecs.taskExitCode = 1;
    let n = 0;
    // Each attempt's task writes its own line: the log shown is that attempt's stream.
    f.ecs.taskLogLines = [{ afterMs: 1000, message: 'working' }];
    const realRunTask = f.ecs.runTask;
    (f.ecs as { runTask: typeof realRunTask }).runTask = (i) => {
      n += 1;
      f.ecs.taskLogLines = [{ afterMs: 1000, message: `attempt ${n} says hello` }];
      return realRunTask(i);
    };
    capture();
    expect(await cli(s, 'run-now')).toBe(1);
    const [t1, t2, t3] = ids(f);
    expect(out.join('')).toBe('attempt 1 says hello\nattempt 2 says hello\nattempt 3 says hello\n');
    const e = err.join('');
    expect(e).toMatch(
      /^started execution run-now-[0-9a-f-]{36} of state machine sample-batch \(timeout 5m per attempt, 2 retries\)\n/,
    );
    expect(e).toContain(`attempt 1 of 3: task ${t1} (log stream ecs/batch/${t1})\n`);
    expect(e).toContain(
      `attempt 1 (task ${t1}) exited with code 1 (EssentialContainerExited: Essential container in task exited); Step Functions retries (attempt 2 of 3)\n`,
    );
    expect(e).toContain(`attempt 2 of 3: task ${t2} (log stream ecs/batch/${t2})\n`);
    expect(e).toContain(`attempt 3 of 3: task ${t3} (log stream ecs/batch/${t3})\n`);
    expect(e).toMatch(
      new RegExp(`task ${t3} exited with code 1 after \\S+ \\(3 attempts of 3, execution FAILED\\)\\n$`),
    );
    // A manual run: no scheduled time, but the run id the guard needs for retries.
    const x = [...f.sfn.executions.values()][0]!;
    const env = (
      f.ecs.tasks.get([...f.ecs.tasks.keys()][2]!)!.overrides as {
        containerOverrides: { environment: { name: string; value: string }[] }[];
      }
    ).containerOverrides[0]!.environment;
    expect(env).toEqual([{ name: ENV_RUN_ID, value: x.arn }]);
    expect(env.some((v) => v.name === ENV_SCHEDULED_TIME)).toBe(false);
    expect(f.core.count({ op: 'RunTask' })).toBe(0);
  });

  it('a retry that succeeds: exit 0, two attempts reported', async () => {
    const { f, s } = await stack(['retries: 3']);
    f.ecs.taskExitCode = 1;
    const r = await settleWithFakeTimers(
      runNow({
        configPath: s.configPath,
        statePath: s.statePath,
        reporter: silentReporter,
        // The first attempt failed: whatever runs next succeeds.
        onAttemptEnd: () => {
          f.ecs.taskExitCode = 0;
        },
      }),
    );
    expect(r.execution!.attempts.map((a) => [a.attempt, a.exitCode, a.error])).toEqual([
      [1, 1, 'States.TaskFailed'],
      [2, 0, undefined],
    ]);
    expect(r.execution!.status).toBe('SUCCEEDED');
    expect(r.exitCode).toBe(0);
  });

  it('a timeout: exit 124, naming the timeout and the task Step Functions stopped', async () => {
    const { f, s } = await stack(['timeout: 2m', 'retries: 2']);
    f.ecs.taskTimings = { provisioningMs: 3000, pendingMs: 4000, runningMs: 3_600_000 };
    capture();
    expect(await cli(s, 'run-now')).toBe(124);
    const [id] = ids(f);
    expect(err.join('')).toMatch(
      new RegExp(
        `error: run timed out after \\S+: attempt 1 of 3 ran past 2m \\(task\\.timeout\\), so Step Functions stopped task ${id} \\(its container exited with code 143\\); a timed-out run is not retried\\n$`,
      ),
    );
    expect(f.ecs.describeTask([...f.ecs.tasks.keys()][0]!)!.stopCode).toBe('UserInitiated');
    // Not retried: one task only.
    expect(f.ecs.tasks.size).toBe(1);
  });

  it("--json: the execution, every attempt, timedOut and the command's exit code", async () => {
    const { f, s } = await stack(['timeout: 2m']);
    f.ecs.taskTimings = { provisioningMs: 3000, pendingMs: 4000, runningMs: 3_600_000 };
    capture();
    expect(await cli(s, '--json', 'run-now')).toBe(124);
    const doc = JSON.parse(out.join(''));
    expect(doc).toMatchObject({
      ok: false,
      commandExitCode: 124,
      timedOut: true,
      exitCode: 143,
      stopCode: 'UserInitiated',
      execution: {
        status: 'FAILED',
        error: 'States.Timeout',
        maxAttempts: 1,
        timeoutSeconds: 120,
        attempts: [{ attempt: 1, timedOut: true, exitCode: 143, error: 'States.Timeout' }],
      },
    });
    expect(f.sfn.executions.size).toBe(1);
  });

  it("--command and --env go through the execution input; the scheduler engine's input the same way", async () => {
    const { f, s } = await stack(['retries: 1'], 'scheduler');
    capture();
    expect(await cli(s, 'run-now', '--command', 'node dist/main.js --dry-run', '--env', 'DRY_RUN=1')).toBe(0);
    const x = [...f.sfn.executions.values()][0]!;
    expect(JSON.parse(x.input)).toEqual({
      Command: ['node', 'dist/main.js', '--dry-run'],
      Environment: [{ Name: 'DRY_RUN', Value: '1' }],
    });
    const task = [...f.ecs.tasks.values()][0]!;
    expect(task.overrides).toEqual({
      containerOverrides: [
        {
          name: 'batch',
          command: ['node', 'dist/main.js', '--dry-run'],
          environment: [
            { name: 'DRY_RUN', value: '1' },
            { name: ENV_RUN_ID, value: x.arn },
          ],
        },
      ],
    });
  });

  it("--direct: RunTask with the state machine's settings, no execution, no timeout", async () => {
    const { f, s } = await stack(['timeout: 2m', 'retries: 2']);
    f.ecs.taskExitCode = 4;
    capture();
    expect(await cli(s, 'run-now', '--direct', '--env', 'A=1')).toBe(4);
    expect(f.sfn.executions.size).toBe(0);
    const run = f.core.calls.find((c) => c.op === 'RunTask')!.input;
    expect(run).toMatchObject({
      cluster: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/sample-batch',
      taskDefinition: 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition/sample-batch',
      launchType: 'FARGATE',
      propagateTags: 'TASK_DEFINITION',
      startedBy: 'batchctl-run-now',
      overrides: {
        containerOverrides: [
          { name: 'batch', command: ['node', 'dist/main.js'], environment: [{ name: 'A', value: '1' }] },
        ],
      },
    });
    expect(err.join('')).toMatch(/task [0-9a-f]+ exited with code 4 after/);
  });

  it('--no-wait prints the execution ARN; a second run-now while it runs is refused, also between attempts', async () => {
    const { f, s } = await stack(['retries: 1']);
    f.ecs.taskExitCode = 1;
    capture();
    expect(await cli(s, 'run-now', '--no-wait')).toBe(0);
    const x = [...f.sfn.executions.values()][0]!;
    expect(out.join('')).toBe(`${x.arn}\n`);
    // The first attempt failed at 27 s; the retry waits 30 s: no task runs, the run is still in progress.
    await vi.advanceTimersByTimeAsync(32_000);
    expect([...f.ecs.tasks.values()].every((t) => f.ecs.describeTask(t.arn)!.lastStatus === 'STOPPED')).toBe(true);
    const again = await runNow({ configPath: s.configPath, statePath: s.statePath, reporter: silentReporter }).catch(
      (e: Error) => e,
    );
    expect((again as Error).message).toMatch(
      /^a run of sample-batch is in progress: execution run-now-[0-9a-f-]+ of its state machine/,
    );
    expect(f.sfn.executions.size).toBe(1);
  });

  it('a StartExecution whose answer is lost: the SDK resends the same name and input, and gets the same run', async () => {
    const { f, s } = await stack(['retries: 1']);
    f.core.loseResponse('StartExecution');
    const r = await settleWithFakeTimers(
      runNow({
        configPath: s.configPath,
        statePath: s.statePath,
        reporter: silentReporter,
        wait: false,
        clientToken: '11111111-2222-3333-4444-555555555555',
      }),
    );
    expect(f.core.calls.filter((c) => c.op === 'StartExecution').map((c) => c.input.name)).toEqual([
      'run-now-11111111-2222-3333-4444-555555555555',
      'run-now-11111111-2222-3333-4444-555555555555',
    ]);
    expect(f.sfn.executions.size).toBe(1);
    expect(r.execution!.arn).toBe([...f.sfn.executions.keys()][0]);
  });

  it('Ctrl-C detaches: the execution keeps running, and the line says how to stop it', async () => {
    const { f, s } = await stack(['retries: 1']);
    capture();
    const done = cli(s, 'run-now');
    const signal = async () => {
      while (!f.ecs.tasks.size) await new Promise((r) => setImmediate(r));
      process.emit('SIGINT');
    };
    await Promise.all([done, signal()]);
    const x = [...f.sfn.executions.values()][0]!;
    expect(process.exitCode).toBe(130);
    expect(err.join('')).toContain(`detached: execution ${x.name} keeps running`);
    expect(err.join('')).toContain(
      `stop it:        batchctl stop sample-batch --run ${x.name} (the execution, then its task: no retry starts)`,
    );
    expect(x.status).toBe('RUNNING');
    // The line works: the execution is stopped first, then its task.
    // (Straight away: no fake time passes, the run must not move on meanwhile.)
    process.exitCode = undefined;
    err = [];
    await buildProgram().parseAsync([
      'node',
      'batchctl',
      '-c',
      s.configPath,
      '--state',
      s.statePath,
      'stop',
      'sample-batch',
      '--run',
      x.name,
      '--yes',
    ]);
    expect(process.exitCode ?? 0, err.join('')).toBe(0);
    expect(x.status).toBe('ABORTED');
    expect([...f.ecs.tasks.values()].every((t) => t.stopRequestedAt !== undefined)).toBe(true);
  });
});
