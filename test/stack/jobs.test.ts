/**
 * Many jobs in one stack, end to end on the fake AWS: what is shared and what each job has, adding and
 * removing a job (only its resources are written), run-now, logs, status and outputs per job.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { freshFakeAws, scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { runPlan } from '../../src/stack/plan.js';
import { runNow } from '../../src/runs/run-now.js';
import { logStreams, runLogs, type LogEvent } from '../../src/runs/logs.js';
import { parseConfigText } from '../../src/config/load.js';
import { runStatus } from '../../src/runs/status.js';
import { runOutputs } from '../../src/info/outputs.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import type { FakeAws } from '../fake-aws/index.js';
import { vi } from 'vitest';

/** The failure alerts among a delivery's invocations (the run history's log target gets every stopped task too). */
const alertsOf = <T extends { rule: string }>(out: T[]): T[] => out.filter((d) => d.rule !== 'sample-batch-history');

const fresh = freshFakeAws();

/** The repository's config as a new stack with jobs would have it: no names kept for an original job. */
const base = readFileSync(DEFAULT_CONFIG_PATH, 'utf8')
  .replace('  family: sample-batch\n', '')
  .replace(/^schedule:\n  name: sample-batch\n/m, 'schedule:\n');

const JOBS = {
  lister: '  lister: {}\n',
  report:
    '  report:\n    schedule: { expression: cron(0 1 * * ? *), timezone: Asia/Tokyo }\n    task: { cpu: 512, memory: 1024, command: [node, dist/report.js] }\n    iam: { bucketAccess: read-write }\n',
  cleanup: '  cleanup:\n    schedule: { expression: rate(6 hours) }\n',
};
const withJobs = (...names: (keyof typeof JOBS)[]) => `${base}\njobs:\n${names.map((n) => JOBS[n]).join('')}`;

const reporter = () => new RecordingReporter();
const plan = (s: Scratch) => runPlan({ configPath: s.configPath, statePath: s.statePath, reporter: reporter() });

/** Which job's names a call's input mentions (role, rule, schedule, family, policy names). */
function jobsTouched(f: FakeAws, jobs: string[]): string[] {
  // The dead-letter queue's policy lists every rule job's rule: that shared write is checked on its own.
  const calls = f.core
    .mutatingCalls()
    .filter((c) => !(c.op === 'SetQueueAttributes' && 'Policy' in (c.input.Attributes ?? {})));
  return [
    ...new Set(calls.flatMap((c) => jobs.filter((j) => JSON.stringify(c.input).includes(`sample-batch-${j}`)))),
  ].sort();
}

describe('three jobs in one stack', () => {
  it('builds one VPC, one set of endpoints, one cluster, and per job a family, a schedule and a task role with its own bucket access', async () => {
    const f = fresh();
    const s = scratch(withJobs('lister', 'report', 'cleanup'));
    const r = await upOn(s);
    expect(r.counts.failed).toBe(0);
    const inv = f.inventory();
    const of = (type: string) => inv.filter((e) => e.type === type);
    expect(of('ec2.vpc')).toHaveLength(1);
    expect(of('ec2.vpc-endpoint')).toHaveLength(5);
    expect(of('ecs.cluster')).toHaveLength(1);
    expect(
      of('ecs.task-definition')
        .map((e) => e.settings.family)
        .sort(),
    ).toEqual(['sample-batch-cleanup', 'sample-batch-lister', 'sample-batch-report']);
    // One history rule for the stack, whatever its jobs.
    expect(
      of('events.rule')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['history/rule', 'job/cleanup/schedule-rule', 'job/lister/schedule-rule']);
    expect([...f.scheduler.schedules.values()].map((x) => x.def.Name)).toEqual(['sample-batch-report']);
    const taskRoles = [...f.iam.roles.values()]
      .filter((x) => x.name.endsWith('-task'))
      .map((x) => x.name)
      .sort();
    expect(taskRoles).toEqual(['sample-batch-cleanup-task', 'sample-batch-lister-task', 'sample-batch-report-task']);
    // One execution role, one log group, one repository, one secret, one bucket for all.
    expect([...f.iam.roles.keys()].filter((n) => n.endsWith('-execution'))).toEqual(['sample-batch-execution']);
    expect(
      of('logs.log-group')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['history/log-group', 'log-group']);

    // Each task role may do in the bucket what its job says, and claim only under its own lock prefix.
    const doc = (role: string) =>
      JSON.parse([...f.iam.roles.get(role)!.inline.values()][0]!) as {
        Statement: { Sid?: string; Action: string | string[]; Resource: string }[];
      };
    const objects = (role: string) => [doc(role).Statement.find((x) => x.Sid === 'Objects')!.Action].flat().sort();
    expect(objects('sample-batch-lister-task')).toEqual(['s3:GetObject']);
    expect(objects('sample-batch-report-task')).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    expect(doc('sample-batch-report-task').Statement.find((x) => x.Sid === 'RunClaims')!.Resource).toMatch(
      /\/\.batchctl\/runs\/report\/\*$/,
    );
    // Each trigger role starts its own job's family and passes its own task role only.
    const events = doc('sample-batch-cleanup-events').Statement;
    expect(events.find((x) => x.Sid === 'RunTask')!.Resource).toMatch(/task-definition\/sample-batch-cleanup:\*$/);
    expect(JSON.stringify(events.find((x) => x.Sid === 'PassRoles')!.Resource)).not.toContain('lister');

    // Each job's task definition: its own stream prefix in the shared group, and its name for the guard.
    const td = (family: string) =>
      of('ecs.task-definition').find((e) => e.settings.family === family)!.settings as Record<string, any>;
    const c = td('sample-batch-report').containerDefinitions[0];
    expect(c.logConfiguration.options).toMatchObject({
      'awslogs-group': '/ecs/SampleBatch',
      'awslogs-stream-prefix': 'report',
    });
    expect(c.environment).toContainEqual({ name: 'BATCH_JOB_NAME', value: 'report' });
    expect(td('sample-batch-report')).toMatchObject({ cpu: '512', memory: '1024' });
    expect(c.command).toEqual(['node', 'dist/report.js']);

    // Converged: nothing to do.
    f.core.resetCalls();
    expect((await plan(s)).pending).toBe(false);
    await upOn(s);
    expect(f.core.mutatingCalls()).toEqual([]);
  });

  it('adding a job creates only its resources; removing one deletes exactly its resources, after the rest converged', async () => {
    const f = fresh();
    const s = scratch(withJobs('lister', 'report'));
    await upOn(s);
    const before = new Map(f.inventory().map((e) => [`${e.type} ${e.key}`, e]));

    s.editConfig(() => withJobs('lister', 'report', 'cleanup'));
    f.core.resetCalls();
    const added = await upOn(s);
    expect(
      added.events
        .filter((e) => e.action !== 'unchanged')
        .map((e) => `${e.action} ${e.key}`)
        .sort(),
    ).toEqual(
      [
        'created job/cleanup/role-policy/events',
        'created job/cleanup/role-policy/task',
        'created job/cleanup/role/events',
        'created job/cleanup/role/task',
        'created job/cleanup/schedule-rule',
        'created job/cleanup/schedule-target',
        'created job/cleanup/task-definition',
        // The dead-letter queue's policy admits the new job's rule too.
        'updated dead-letter-queue/policy',
      ].sort(),
    );
    // The other jobs' resources (and the shared ones, but for that policy) saw no write at all.
    expect(jobsTouched(f, ['lister', 'report', 'cleanup'])).toEqual(['cleanup']);
    const policyOf = (e: { settings: Record<string, unknown> } | undefined) =>
      JSON.parse((e!.settings.attributes as Record<string, string>).Policy!);
    for (const [k, e] of before) {
      const now = f.inventory().find((x) => `${x.type} ${x.key}` === k);
      if (e.type !== 'sqs.queue') expect(now, k).toEqual(e);
      else
        expect(policyOf(now).Statement[0].Condition.ArnEquals['aws:SourceArn']).toContain(
          'arn:aws:events:ap-northeast-1:123456789012:rule/sample-batch-cleanup',
        );
    }

    s.editConfig(() => withJobs('lister', 'cleanup'));
    const p = await plan(s);
    // The schedule group served the one Scheduler job: it goes with it. The dead-letter queue stays: the
    // rules' targets send to it too.
    expect(
      p.entries
        .filter((e) => e.action === 'delete')
        .map((e) => e.key)
        .sort(),
    ).toEqual([
      'job/report/role-policy/scheduler',
      'job/report/role-policy/task',
      'job/report/role/scheduler',
      'job/report/role/task',
      'job/report/schedule',
      'job/report/task-definition',
      'schedule-group',
    ]);
    f.core.resetCalls();
    const removed = await upOn(s);
    expect(
      removed.events
        .filter((e) => e.action !== 'unchanged')
        .map((e) => `${e.action} ${e.key}`)
        .sort(),
    ).toEqual([
      'deleted job/report/role-policy/scheduler',
      'deleted job/report/role-policy/task',
      'deleted job/report/role/scheduler',
      'deleted job/report/role/task',
      'deleted job/report/schedule',
      'deleted job/report/task-definition',
      'deleted schedule-group',
    ]);
    expect(jobsTouched(f, ['lister', 'report', 'cleanup'])).toEqual(['report']);
    // Deleted after everything else converged: no deletion before the last convergence step.
    const firstDelete = removed.events.findIndex((e) => e.action === 'deleted');
    expect(removed.events.slice(firstDelete).every((e) => e.action === 'deleted')).toBe(true);
    expect(f.scheduler.schedules.size).toBe(0);
    expect(f.ecs.taskDefs.filter((t) => t.family === 'sample-batch-report' && t.status === 'ACTIVE')).toEqual([]);
    expect([...f.iam.roles.keys()].filter((n) => n.includes('report'))).toEqual([]);
    f.core.resetCalls();
    expect((await plan(s)).pending).toBe(false);
  });

  it("run-now <job> runs that job's family; with several jobs the job must be named", async () => {
    const f = fresh();
    const s = scratch(withJobs('lister', 'report', 'cleanup'));
    await upOn(s);
    f.ecr.addImage('sample-batch', 'latest');
    const opts = { configPath: s.configPath, statePath: s.statePath, reporter: reporter(), wait: false };
    const r = await runNow({ ...opts, job: 'report' });
    expect(r.job).toBe('report');
    const run = f.core.calls.find((c) => c.op === 'RunTask')!;
    expect(run.input.taskDefinition).toMatch(/task-definition\/sample-batch-report$/);
    expect(r.logStream).toMatch(/^report\/batch\/[0-9a-f]{32}$/);
    await expect(runNow(opts)).rejects.toThrow(/has 3 jobs: name the one to act on/);
    await expect(runNow({ ...opts, job: 'nope' })).rejects.toThrow(/no job named "nope"/);
  });
});

describe('failure alerts with several jobs', () => {
  /** An ECS task stopping with `exitCode`, of `family` in `cluster`. */
  const stopped = (family: string, exitCode: number, cluster = 'sample-batch') => ({
    version: '0',
    id: 'e1',
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: '123456789012',
    time: '2026-11-28T00:31:10Z',
    region: 'ap-northeast-1',
    resources: [],
    detail: {
      clusterArn: `arn:aws:ecs:ap-northeast-1:123456789012:cluster/${cluster}`,
      taskArn: `arn:aws:ecs:ap-northeast-1:123456789012:task/${cluster}/0f8b2c6a1d2e4f5a9b8c7d6e5f4a3b2c`,
      lastStatus: 'STOPPED',
      taskDefinitionArn: `arn:aws:ecs:ap-northeast-1:123456789012:task-definition/${family}:3`,
      containers: [{ name: 'batch', lastStatus: 'STOPPED', exitCode }],
      stopCode: 'EssentialContainerExited',
    },
  });

  it("every job's failed run is alerted, naming its task definition; adding a job leaves the rule as it is", async () => {
    const f = fresh();
    const s = scratch(`${withJobs('lister', 'report')}notify:\n  emails: [ops@example.com]\n`);
    await upOn(s);
    for (const family of ['sample-batch-lister', 'sample-batch-report'])
      expect(alertsOf(f.eventBridge.deliver(stopped(family, 1))), family).toHaveLength(1);
    // Another stack's family in another cluster, and a success, are not alerted.
    expect(alertsOf(f.eventBridge.deliver(stopped('sample-batch-eu-lister', 1, 'sample-batch-eu')))).toEqual([]);
    expect(alertsOf(f.eventBridge.deliver(stopped('sample-batch-report', 0)))).toEqual([]);
    expect(f.sns.published.map((m) => m.message.split('\n').find((l) => l.startsWith('Task definition:')))).toEqual([
      'Task definition: "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/sample-batch-lister:3"',
      'Task definition: "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/sample-batch-report:3"',
    ]);
    s.editConfig((t) => t.replace('notify:', `${JOBS.cleanup}notify:`));
    f.core.resetCalls();
    await upOn(s);
    expect(jobsTouched(f, ['lister', 'report', 'cleanup'])).toEqual(['cleanup']);
    expect(f.core.mutatingCalls().filter((c) => JSON.stringify(c.input).includes('failed-runs'))).toEqual([]);
    expect(alertsOf(f.eventBridge.deliver(stopped('sample-batch-cleanup', 2)))).toHaveLength(1);
  });
});

describe('logs, status and outputs per job', () => {
  it("logs [job]: one job's streams, or every job's interleaved with a job column; status has a row per job", async () => {
    const f = fresh();
    vi.useFakeTimers({ now: Date.now() - 3_600_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const s = scratch(withJobs('lister', 'report', 'cleanup'));
    await settleWithFakeTimers(upOn(s));
    f.ecr.addImage('sample-batch', 'latest');
    f.ecs.taskTimings = { provisioningMs: 1000, pendingMs: 1000, runningMs: 3000 };
    f.ecs.taskLogLines = [
      { afterMs: 500, message: 'start' },
      { afterMs: 1500, message: 'done' },
    ];
    for (const job of ['lister', 'report']) {
      await settleWithFakeTimers(
        runNow({ configPath: s.configPath, statePath: s.statePath, reporter: reporter(), job, wait: false }),
      );
      await vi.advanceTimersByTimeAsync(2000);
    }
    await vi.advanceTimersByTimeAsync(10_000);
    const read = async (job?: string) => {
      const got: [string | undefined, LogEvent][] = [];
      await runLogs({ configPath: s.configPath, job, since: '1h' }, (e, j) => got.push([j, e]));
      return got;
    };
    const all = await read();
    // One run of a job not named: its whole id names one stream per job; a short id could be any job's.
    const config = parseConfigText(withJobs('lister', 'report'), 'batch.config.yaml', { env: {} });
    const id = 'ab'.repeat(16);
    expect(logStreams(config, undefined, id)).toEqual({ streamNames: [`lister/batch/${id}`, `report/batch/${id}`] });
    expect(logStreams(config, config.jobs[1], id.slice(0, 8))).toEqual({
      streamPrefix: `report/batch/${id.slice(0, 8)}`,
    });
    expect(logStreams(config, config.jobs[1], undefined)).toEqual({ streamPrefix: 'report/' });
    expect(() => logStreams(config, undefined, id.slice(0, 8))).toThrow(/not a whole task id/);
    // Padded to the longest job name (cleanup): a column.
    expect(all.map(([j, e]) => [j, e.message])).toEqual([
      ['lister ', 'start'],
      ['lister ', 'done'],
      ['report ', 'start'],
      ['report ', 'done'],
    ]);
    const report = await read('report');
    expect(report.map(([j, e]) => [j, e.message, e.stream.split('/')[0]])).toEqual([
      [undefined, 'start', 'report'],
      [undefined, 'done', 'report'],
    ]);

    const st = await settleWithFakeTimers(
      runStatus({ configPath: s.configPath, statePath: s.statePath, reporter: reporter(), displayTimeZone: 'UTC' }),
    );
    expect(st.jobs.map((j) => [j.job, j.schedule.expression, j.schedule.enabled, j.lastRun?.exitCode])).toEqual([
      ['lister', 'cron(30 * * * ? *)', true, 0],
      ['report', 'cron(0 1 * * ? *)', true, 0],
      ['cleanup', 'rate(6 hours)', true, undefined],
    ]);
    expect(st.jobs[1]!.schedule).toMatchObject({ engine: 'scheduler', timezone: 'Asia/Tokyo', source: 'schedule' });
    expect(st.runs.map((r) => r.job)).toEqual(['report', 'lister']);

    const o = (await runOutputs({ configPath: s.configPath, statePath: s.statePath, reporter: reporter() })).outputs;
    expect(o.jobs.map((j) => [j.name, j.family, j.scheduleEngine, j.logStreamPrefix])).toEqual([
      ['lister', 'sample-batch-lister', 'rule', 'lister'],
      ['report', 'sample-batch-report', 'scheduler', 'report'],
      ['cleanup', 'sample-batch-cleanup', 'rule', 'cleanup'],
    ]);
    // The single-job keys name no job when there are several.
    expect(o.taskDefinitionArn).toBeNull();
    vi.useRealTimers();
  });
});
