/**
 * `batchctl run-now` on the fake: the schedule target's settings, waiting with the task's own log,
 * exit codes, failures[], tasks that never started, the overlap guard, detaching, and the clientToken.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ECSClient, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import { runNow, runTaskInput, targetOverrides } from '../../src/runs/run-now.js';
import type { RunNowOptions } from '../../src/runs/task-run.js';
import { silentReporter } from '../../src/engine/reporter.js';
import { UserError } from '../../src/base/errors.js';
import { buildProgram } from '../../src/cli/main.js';
import { parseCommand, parseEnv } from '../../src/cli/commands/run-now.js';

let fake: FakeAws | undefined;

/** A stack built by `up` on a fresh fake, then fake timers for the run. */
async function stack(): Promise<{ fake: FakeAws; s: Scratch }> {
  fake = createFakeAws();
  const s = scratch();
  await upOn(s);
  // Pushed, as `batchctl push` would: run-now refuses a run whose image is missing.
  fake.ecr.addImage('sample-batch', 'latest');
  fake.ecs.taskTimings = { provisioningMs: 3000, pendingMs: 4000, runningMs: 20_000 };
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  return { fake, s };
}

afterEach(() => {
  fake?.uninstall();
  fake = undefined;
  vi.useRealTimers();
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const opts = (s: Scratch, extra: Partial<RunNowOptions> = {}): RunNowOptions => ({
  configPath: s.configPath,
  statePath: s.statePath,
  reporter: silentReporter,
  ...extra,
});

describe('run-now (core)', () => {
  it("runs the target's exact settings, waits through every status, prints the task's log from its first line, returns exit 0", async () => {
    const { fake: f, s } = await stack();
    f.ecs.taskLogLines = [
      { afterMs: 0, message: 'listing bucket' },
      { afterMs: 5000, message: 'key a.txt' },
      { afterMs: 19_000, message: 'done' },
    ];
    const statuses: string[] = [];
    const lines: string[] = [];
    const r = await settleWithFakeTimers(
      runNow(
        opts(s, {
          onStatus: (x) => statuses.push(x),
          onLog: (e) => lines.push(e.message),
          // Written before the wait began: must still be printed.
          onStarted: (t) =>
            f.logs.addEvents('/ecs/SampleBatch', t.logStream, [
              { timestamp: Date.now(), message: 'container booting' },
            ]),
        }),
      ),
    );
    expect(statuses).toEqual(['PROVISIONING', 'PENDING', 'RUNNING', 'STOPPED']);
    expect(lines).toEqual(['container booting', 'listing bucket', 'key a.txt', 'done']);
    expect(r).toMatchObject({
      exitCode: 0,
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      detached: false,
    });
    expect(r.logStream).toBe(`ecs/batch/${r.taskId}`);

    const run = f.core.calls.find((c) => c.op === 'RunTask')!.input;
    const subnets = [...f.ec2.inventory()].filter(
      (e) => e.type === 'ec2.subnet' && e.key.startsWith('subnet/batch/'),
    ).length;
    expect(run).toMatchObject({
      cluster: expect.stringMatching(/:cluster\/sample-batch$/),
      taskDefinition: expect.stringMatching(/:task-definition\/sample-batch$/), // the family: latest revision
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      count: 1,
      propagateTags: 'TASK_DEFINITION',
      networkConfiguration: {
        awsvpcConfiguration: { assignPublicIp: 'DISABLED', securityGroups: [expect.stringMatching(/^sg-/)] },
      },
      overrides: { containerOverrides: [{ name: 'batch', command: ['node', 'dist/main.js'] }] },
      startedBy: 'batchctl-run-now',
      clientToken: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(run.networkConfiguration.awsvpcConfiguration.subnets).toHaveLength(subnets);
    // The schedule passes the event time; a manual run has none, so the job knows it is not scheduled.
    expect(JSON.stringify(run.overrides)).not.toContain('BATCH_SCHEDULED_TIME');
    // Two read calls a status poll at most: no busy loop on DescribeTasks.
    expect(f.core.count({ op: 'DescribeTasks' })).toBeLessThanOrEqual(Math.ceil(27_000 / 2000) + 1);
  });

  it('--command and --env override the container for this run only', async () => {
    const { fake: f, s } = await stack();
    await settleWithFakeTimers(
      runNow(
        opts(s, { wait: false, command: ['node', 'dist/main.js', '--dry-run'], env: { DRY_RUN: '1', LEVEL: 'debug' } }),
      ),
    );
    const task = [...f.ecs.tasks.values()][0]!;
    expect(task.overrides).toEqual({
      containerOverrides: [
        {
          name: 'batch',
          command: ['node', 'dist/main.js', '--dry-run'],
          environment: [
            { name: 'DRY_RUN', value: '1' },
            { name: 'LEVEL', value: 'debug' },
          ],
        },
      ],
    });
    expect(f.core.count({ op: 'DescribeTasks' })).toBe(0);
  });

  it('refuses to start while a task of the family runs (UserError) unless allowOverlap', async () => {
    const { fake: f, s } = await stack();
    const first = await settleWithFakeTimers(runNow(opts(s, { wait: false })));
    const err = await settleWithFakeTimers(runNow(opts(s, { wait: false }))).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(`a task of family sample-batch is already running (${first.taskId})`);
    expect(err.hint).toMatch(/--allow-overlap/);
    expect(f.ecs.tasks.size).toBe(1);
    await settleWithFakeTimers(runNow(opts(s, { wait: false, allowOverlap: true })));
    expect(f.ecs.tasks.size).toBe(2);
    // Once the first has stopped, a new run is allowed again.
    vi.setSystemTime(Date.now() + 60_000);
    await settleWithFakeTimers(runNow(opts(s, { wait: false })));
    expect(f.ecs.tasks.size).toBe(3);
  });

  it('aborting while waiting detaches: the task keeps running', async () => {
    const { fake: f, s } = await stack();
    const ac = new AbortController();
    const statuses: string[] = [];
    const p = runNow(
      opts(s, {
        signal: ac.signal,
        onStatus: (x) => {
          statuses.push(x);
          if (x === 'PENDING') ac.abort();
        },
      }),
    );
    const r = await settleWithFakeTimers(p);
    expect(r).toMatchObject({ detached: true, lastStatus: 'PENDING' });
    expect(r.exitCode).toBeUndefined();
    expect(f.core.count({ op: 'StopTask' })).toBe(0);
  });

  it('without the stack: run batchctl up first', async () => {
    fake = createFakeAws();
    const s = scratch();
    const err = await runNow(opts(s)).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.hint).toMatch(/batchctl up/);
  });
});

describe('the clientToken', () => {
  it('is sent unchanged on every attempt the SDK retries', async () => {
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        bodies.push(body);
        if (bodies.length < 3) {
          res.writeHead(503, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'ServerException' });
          res.end(JSON.stringify({ __type: 'ServerException', message: 'try again' }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify({
            tasks: [{ taskArn: 'arn:aws:ecs:ap-northeast-1:123456789012:task/sample-batch/abc' }],
            failures: [],
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const ecs = new ECSClient({
        region: 'ap-northeast-1',
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        maxAttempts: 5,
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      });
      const input = runTaskInput(
        {
          Id: 'batch',
          Arn: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/sample-batch',
          Input: '{"containerOverrides":[{"name":"batch","command":["x"]}]}',
          EcsParameters: {
            TaskDefinitionArn: 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition/sample-batch',
            LaunchType: 'FARGATE',
          },
        },
        'batch',
        { clientToken: 'tok-1' },
      );
      const out = await ecs.send(new RunTaskCommand(input));
      expect(out.tasks?.[0]?.taskArn).toMatch(/task\/sample-batch\/abc$/);
      expect(bodies).toHaveLength(3);
      expect(bodies.map((b) => JSON.parse(b).clientToken)).toEqual(['tok-1', 'tok-1', 'tok-1']);
    } finally {
      server.close();
    }
  });

  it('the fake answers a repeated token with the same task instead of starting another', async () => {
    const { fake: f, s } = await stack();
    const a = await settleWithFakeTimers(runNow(opts(s, { wait: false, clientToken: 'same' })));
    const b = await settleWithFakeTimers(runNow(opts(s, { wait: false, clientToken: 'same', allowOverlap: true })));
    expect(b.taskArn).toBe(a.taskArn);
    expect(f.ecs.tasks.size).toBe(1);
  });
});

describe('batchctl run-now (CLI)', () => {
  let out: string[];
  let err: string[];
  const capture = () => {
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
  };
  const cli = async (s: Scratch, ...args: string[]) => {
    process.exitCode = undefined;
    await settleWithFakeTimers(
      buildProgram().parseAsync(['node', 'batchctl', '-c', s.configPath, '--state', s.statePath, ...args]),
    );
    return Number(process.exitCode ?? 0);
  };

  it("exits with the container's exit code (3) after printing its log", async () => {
    const { fake: f, s } = await stack();
    f.ecs.taskExitCode = 3;
    f.ecs.taskLogLines = [{ afterMs: 1000, message: 'bucket not found' }];
    capture();
    expect(await cli(s, 'run-now')).toBe(3);
    expect(out.join('')).toBe('bucket not found\n');
    const e = err.join('');
    expect(e).toMatch(/status: PROVISIONING\nstatus: PENDING\nstatus: RUNNING\nstatus: STOPPED\n/);
    expect(e).toMatch(
      /task [0-9a-f]+ exited with code 3 after \d+\.\ds \(EssentialContainerExited: Essential container in task exited\)\n$/,
    );
  });

  it("an OOM kill: the exit code with the container's own reason", async () => {
    const { fake: f, s } = await stack();
    f.ecs.taskExitCode = 137;
    f.ecs.taskContainerReason = 'OutOfMemoryError: Container killed due to memory usage';
    capture();
    expect(await cli(s, 'run-now')).toBe(137);
    expect(err.join('')).toMatch(
      /task [0-9a-f]+ exited with code 137 after \d+\.\ds \(EssentialContainerExited: Essential container in task exited: OutOfMemoryError: Container killed due to memory usage\)\n$/,
    );
  });

  /** StopTask on the run's task once its container has run for a second. */
  const stopWhenRunning = async (f: FakeAws, reason: string) => {
    const running = () =>
      [...f.ecs.tasks.values()].find(
        (t) => Date.now() >= t.createdAt + t.timings.provisioningMs + t.timings.pendingMs + 1000,
      );
    while (!running()) await new Promise((r) => setImmediate(r));
    await new ECSClient({ region: 'ap-northeast-1' }).send(
      new StopTaskCommand({ cluster: 'sample-batch', task: running()!.arn, reason }),
    );
  };

  it('a task stopped by StopTask with a reason says so, even when its container exits 0 on SIGTERM', async () => {
    const { fake: f, s } = await stack();
    f.ecs.taskStopExitCode = 0;
    capture();
    const [code] = await Promise.all([cli(s, 'run-now'), stopWhenRunning(f, 'superseded by a newer deploy')]);
    expect(code).toBe(0);
    const e = err.join('');
    expect(e).not.toMatch(/task [0-9a-f]+ exited with code 0/);
    expect(e).toMatch(
      /task [0-9a-f]+ was stopped after \d+\.\ds \(UserInitiated: superseded by a newer deploy\); its container exited with code 0\n$/,
    );
  });

  it("--json: the stop code and reason of a stopped task; a running task's exit code is null, never 0", async () => {
    const { fake: f, s } = await stack();
    capture();
    const [code] = await Promise.all([cli(s, '--json', 'run-now'), stopWhenRunning(f, 'stopped from the console')]);
    expect(code).toBe(143);
    expect(JSON.parse(out.join(''))).toMatchObject({
      ok: false,
      lastStatus: 'STOPPED',
      exitCode: 143,
      stopCode: 'UserInitiated',
      stoppedReason: 'stopped from the console',
      detached: false,
      commandExitCode: 143,
    });
    out.length = 0;
    expect(await cli(s, '--json', 'run-now', '--no-wait')).toBe(0);
    const doc = JSON.parse(out.join(''));
    expect(doc).toMatchObject({
      ok: true,
      lastStatus: 'PROVISIONING',
      exitCode: null,
      stopCode: null,
      stoppedReason: null,
      detached: false,
      commandExitCode: 0,
    });
    expect(doc.taskArn).toMatch(/^arn:aws:ecs:ap-northeast-1:123456789012:task\/sample-batch\//);
  });

  it('failures[] from RunTask: a clear reason, exit 1', async () => {
    const { fake: f, s } = await stack();
    f.ecs.runTaskFailure = { reason: 'RESOURCE:ENI' };
    capture();
    expect(await cli(s, 'run-now')).toBe(1);
    expect(err.join('')).toMatch(
      /^error: RunTask started no task: no network interface could be created \(ENI quota or free IP addresses in the batch subnets\) \(RESOURCE:ENI\)\n/,
    );
    f.ecs.runTaskFailure = {
      reason: 'Capacity is unavailable at this time. Please try again later or in a different availability zone',
    };
    err.length = 0;
    expect(await cli(s, 'run-now')).toBe(1);
    expect(err.join('')).toMatch(/Fargate has no capacity/);
  });

  it('a task that stopped without an exit code: stop code and reason, exit 1', async () => {
    const { fake: f, s } = await stack();
    f.ecs.taskExitCode = null;
    f.ecs.taskStopCode = 'TaskFailedToStart';
    f.ecs.taskStoppedReason =
      'CannotPullContainerError: pull image manifest has been retried 5 time(s): sample-batch:latest: not found';
    capture();
    expect(await cli(s, 'run-now')).toBe(1);
    expect(err.join('')).toMatch(
      /error: task [0-9a-f]+ stopped without an exit code: TaskFailedToStart: CannotPullContainerError: pull image manifest has been retried 5 time\(s\): sample-batch:latest: not found\n/,
    );
    expect(err.join('')).toMatch(/status: PENDING\nstatus: STOPPED\n/);
  });

  it('--no-wait prints the task ARN and exits 0; the overlap guard then exits 2', async () => {
    const { fake: f, s } = await stack();
    capture();
    expect(await cli(s, 'run-now', '--no-wait', '--env', 'A=1')).toBe(0);
    const arn = [...f.ecs.tasks.keys()][0]!;
    expect(out.join('')).toBe(`${arn}\n`);
    expect(await cli(s, 'run-now')).toBe(2);
    expect(err.join('')).toMatch(
      /error: a task of family sample-batch is already running \([0-9a-f]+\)\nhint: .*--allow-overlap/,
    );
    expect(await cli(s, 'run-now', '--env', 'oops')).toBe(2);
    expect(f.ecs.tasks.size).toBe(1);
  });

  it('Ctrl-C while waiting detaches and says how to follow and stop the task', async () => {
    const { fake: f, s } = await stack();
    capture();
    const done = cli(s, 'run-now');
    // Once the task exists, a SIGINT arrives.
    const fire = async () => {
      while (!f.ecs.tasks.size) await new Promise((r) => setImmediate(r));
      process.emit('SIGINT');
    };
    await Promise.all([done, fire()]);
    const arn = [...f.ecs.tasks.keys()][0]!;
    const id = arn.split('/').at(-1);
    expect(process.exitCode).toBe(130);
    expect(err.join('')).toContain(`detached: task ${id} keeps running`);
    expect(err.join('')).toContain(`batchctl logs --task ${id} --tail`);
    expect(err.join('')).toContain(`aws ecs stop-task --cluster sample-batch --task ${arn}`);
    expect(f.core.count({ op: 'StopTask' })).toBe(0);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});

describe('the target input', () => {
  it("takes the input transformer's template without the event placeholders; a static Input as is", () => {
    const InputTemplate =
      '{"containerOverrides":[{"name":"batch","command":["node","a\\u003cb"],"environment":[{"name":"BATCH_SCHEDULED_TIME","value":"<time>"},{"name":"BATCH_DUPLICATE_GUARD","value":"off"}]}]}';
    expect(
      targetOverrides({
        Id: 'batch',
        Arn: 'c',
        InputTransformer: { InputPathsMap: { time: '$.time' }, InputTemplate },
      }),
    ).toEqual({
      containerOverrides: [
        { name: 'batch', command: ['node', 'a<b'], environment: [{ name: 'BATCH_DUPLICATE_GUARD', value: 'off' }] },
      ],
    });
    expect(
      targetOverrides({ Id: 'batch', Arn: 'c', Input: '{"containerOverrides":[{"name":"batch","command":["x"]}]}' }),
    ).toEqual({ containerOverrides: [{ name: 'batch', command: ['x'] }] });
    expect(() =>
      targetOverrides({ Id: 'batch', Arn: 'c', InputTransformer: { InputTemplate: '{"taskRoleArn":"<time>"}' } }),
    ).toThrow(UserError);
  });
});

describe('flag parsing', () => {
  it('--command splits like a shell or takes a JSON array; --env takes KEY=VALUE', () => {
    expect(parseCommand('node dist/main.js --prefix "a b" \'c d\'')).toEqual([
      'node',
      'dist/main.js',
      '--prefix',
      'a b',
      'c d',
    ]);
    expect(parseCommand('["sh","-c","echo $X"]')).toEqual(['sh', '-c', 'echo $X']);
    expect(() => parseCommand('echo "open')).toThrow(UserError);
    expect(() => parseCommand('[1]')).toThrow(UserError);
    expect(parseEnv(['A=1', 'B=x=y', 'C='])).toEqual({ A: '1', B: 'x=y', C: '' });
    expect(() => parseEnv(['1A=x'])).toThrow(UserError);
  });
});
