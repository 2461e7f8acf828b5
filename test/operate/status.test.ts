/**
 * `status` on the fake: present / missing / drifted after changes made behind batchctl's back, endpoints
 * down once deleted, the next scheduled runs, and the last runs of the family from fake ECS tasks.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloudWatchLogsClient, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client, DeleteVpcEndpointsCommand } from '@aws-sdk/client-ec2';
import { ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { EventBridgeClient, DisableRuleCommand } from '@aws-sdk/client-eventbridge';
import { readFileSync } from 'node:fs';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, upOn, type Scratch } from '../helpers/stack.js';
import { runStatus, isoInZone, type StatusReport } from '../../src/runs/status.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { buildProgram } from '../../src/cli/main.js';

const region = 'ap-northeast-1';
let fake: FakeAws;
afterEach(() => {
  fake?.uninstall();
  vi.useRealTimers();
});

const status = (s: Scratch, extra: { now?: Date; runs?: number; displayTimeZone?: string } = {}) =>
  runStatus({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter: new RecordingReporter(),
    displayTimeZone: 'UTC',
    ...extra,
  });
const byKey = (r: StatusReport, key: string) => r.resources.find((x) => x.key === key)!;
const stateIds = (s: Scratch) =>
  JSON.parse(readFileSync(s.statePath, 'utf8')).resources as Record<string, { id: string }>;

describe('status: resources and endpoints', () => {
  it('on an empty account: everything missing, schedule from the config, no runs, read-only', async () => {
    fake = createFakeAws();
    const s = scratch();
    const r = await status(s);
    expect(r.counts).toEqual({ present: 0, missing: r.resources.length, drifted: 0, error: 0, stale: 0 });
    expect(r.endpoints).toMatchObject({ up: 0, down: 4 });
    expect(r.jobs[0]!.schedule).toMatchObject({
      expression: 'cron(30 * * * ? *)',
      enabled: true,
      source: 'config',
      timezone: 'UTC',
    });
    expect(r.runs).toEqual([]);
    expect(r.runsNote).toMatch(/cluster sample-batch does not exist/);
    expect(fake.core.mutatingCalls()).toEqual([]);
  });

  it('after up: every resource present with its id, 4 endpoints up, schedule from the live rule', async () => {
    fake = createFakeAws();
    const s = scratch();
    await upOn(s);
    fake.core.resetCalls();
    const r = await status(s);
    expect(fake.core.mutatingCalls()).toEqual([]);
    expect(r.counts).toEqual({ present: r.resources.length, missing: 0, drifted: 0, error: 0, stale: 0 });
    expect(r.resources.length).toBeGreaterThan(25);
    // The shared resources and the job's rule; the job's task definition, roles and target are plan's.
    expect(r.resources.map((x) => x.key)).toContain('schedule-rule');
    expect(r.resources.map((x) => x.key)).not.toContain('task-definition');
    expect(byKey(r, 'vpc')).toMatchObject({ state: 'present', kind: 'ec2.vpc', label: 'VPC', changes: [] });
    expect(byKey(r, 'vpc').id).toBe(stateIds(s).vpc!.id);
    expect(r.endpoints.up).toBe(4);
    expect(r.endpoints.down).toBe(0);
    expect(r.endpoints.list.map((e) => e.key).sort()).toEqual([
      'vpc-endpoint/ecr.api',
      'vpc-endpoint/ecr.dkr',
      'vpc-endpoint/logs',
      'vpc-endpoint/secretsmanager',
    ]);
    expect(r.endpoints.list.every((e) => e.id?.startsWith('vpce-'))).toBe(true);
    expect(r.jobs[0]!.schedule).toMatchObject({ source: 'rule', enabled: true });
    expect(r.runsNote).toMatch(/about an hour/);
  });

  it("shows drift, a deleted endpoint as missing and down, and a rule disabled behind batchctl's back", async () => {
    fake = createFakeAws();
    const s = scratch();
    await upOn(s);
    const ids = stateIds(s);
    await new CloudWatchLogsClient({ region }).send(
      new PutRetentionPolicyCommand({ logGroupName: '/ecs/SampleBatch', retentionInDays: 7 }),
    );
    await new EC2Client({ region }).send(
      new DeleteVpcEndpointsCommand({ VpcEndpointIds: [ids['vpc-endpoint/logs']!.id] }),
    );
    await new EventBridgeClient({ region }).send(new DisableRuleCommand({ Name: 'sample-batch' }));

    const r = await status(s);
    expect(byKey(r, 'log-group')).toMatchObject({ state: 'drifted', changes: ['retentionInDays'] });
    expect(byKey(r, 'vpc-endpoint/logs')).toMatchObject({ state: 'missing', id: undefined });
    expect(byKey(r, 'schedule-rule')).toMatchObject({ state: 'drifted', changes: ['state'] });
    expect(r.counts).toMatchObject({ drifted: 2, missing: 1, error: 0 });
    expect(r.endpoints).toMatchObject({ up: 3, down: 1 });
    expect(r.endpoints.list.find((e) => e.key === 'vpc-endpoint/logs')!.state).toBe('down');
    // What actually fires is the live rule: disabled, whatever the config says.
    expect(r.jobs[0]!.schedule).toMatchObject({ enabled: false, source: 'rule' });

    // A config change that needs a replacement is drifted too, and says so.
    s.editConfig((t) => t.replace('192.168.0.0/24', '192.168.4.0/24'));
    const r2 = await status(s);
    expect(byKey(r2, 'subnet/batch/ap-northeast-1a')).toMatchObject({
      state: 'drifted',
      replace: true,
      changes: ['cidr'],
    });
  });
});

describe('status: schedule', () => {
  it('lists the next three runs in UTC and in the display zone', async () => {
    fake = createFakeAws();
    const s = scratch();
    const r = await status(s, { now: new Date('2026-06-01T10:45:00Z'), displayTimeZone: 'Asia/Tokyo' });
    expect(r.jobs[0]!.schedule.displayTimeZone).toBe('Asia/Tokyo');
    expect(r.jobs[0]!.schedule.next).toEqual([
      { utc: '2026-06-01T11:30:00Z', local: '2026-06-01T20:30:00+09:00' },
      { utc: '2026-06-01T12:30:00Z', local: '2026-06-01T21:30:00+09:00' },
      { utc: '2026-06-01T13:30:00Z', local: '2026-06-01T22:30:00+09:00' },
    ]);
  });

  it('formats instants in zones with DST and half-hour offsets', () => {
    expect(isoInZone(new Date('2026-07-01T12:00:00Z'), 'America/New_York')).toBe('2026-07-01T08:00:00-04:00');
    expect(isoInZone(new Date('2026-01-01T12:00:00Z'), 'America/New_York')).toBe('2026-01-01T07:00:00-05:00');
    expect(isoInZone(new Date('2026-01-01T00:30:00Z'), 'Asia/Kolkata')).toBe('2026-01-01T06:00:00+05:30');
    expect(isoInZone(new Date('2026-01-01T23:59:59Z'), 'UTC')).toBe('2026-01-01T23:59:59Z');
  });

  it('a rate rule counts from now', async () => {
    fake = createFakeAws();
    const s = scratch();
    s.editConfig((t) => t.replace('cron(30 * * * ? *)', 'rate(2 hours)'));
    const r = await status(s, { now: new Date('2026-06-01T10:45:20Z') });
    expect(r.jobs[0]!.schedule.next.map((n) => n.utc)).toEqual([
      '2026-06-01T12:45:00Z',
      '2026-06-01T14:45:00Z',
      '2026-06-01T16:45:00Z',
    ]);
  });
});

describe('status: last runs', () => {
  let s: Scratch;
  let ecs: ECSClient;
  beforeEach(async () => {
    fake = createFakeAws();
    s = scratch();
    await upOn(s);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-06-01T10:00:00Z') });
    ecs = new ECSClient({ region });
  });
  const start = async (startedBy: string) => {
    const out = await ecs.send(
      new RunTaskCommand({
        cluster: 'sample-batch',
        taskDefinition: 'sample-batch',
        launchType: 'FARGATE',
        startedBy,
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: [stateIds(s)['subnet/batch/ap-northeast-1a']!.id],
            securityGroups: [stateIds(s)['security-group/task']!.id],
          },
        },
      }),
    );
    return out.tasks![0]!.taskArn!;
  };
  const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

  it('newest first, with exit codes, durations, stop codes and the trigger', async () => {
    // 1: scheduled, exits 0 after 40 s.
    fake.ecs.taskTimings = { provisioningMs: 5_000, pendingMs: 10_000, runningMs: 40_000 };
    const ok = await start('events-rule/sample-batch');
    advance(10 * 60_000);
    // 2: run-now, exits 3 after 125 s.
    fake.ecs.taskExitCode = 3;
    fake.ecs.taskTimings = { provisioningMs: 5_000, pendingMs: 10_000, runningMs: 125_000 };
    const failed = await start('batchctl-run-now');
    advance(10 * 60_000);
    // 3: scheduled, the container never starts (image pull failed).
    fake.ecs.taskExitCode = null;
    fake.ecs.taskStopCode = 'TaskFailedToStart';
    fake.ecs.taskStoppedReason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s)';
    const noStart = await start('events-rule/sample-batch');
    advance(10 * 60_000);
    // 4: still running.
    fake.ecs.taskExitCode = 0;
    fake.ecs.taskStopCode = 'EssentialContainerExited';
    fake.ecs.taskStoppedReason = undefined;
    fake.ecs.taskTimings = { provisioningMs: 5_000, pendingMs: 10_000, runningMs: 600_000 };
    const running = await start('events-rule/sample-batch');
    advance(75_000);

    const r = await status(s, { now: new Date() });
    expect(r.runs.map((x) => x.taskArn)).toEqual([running, noStart, failed, ok]);
    expect(r.runsNote).toBeUndefined();
    const [run4, run3, run2, run1] = r.runs;
    expect(run4).toMatchObject({
      lastStatus: 'RUNNING',
      trigger: 'schedule',
      durationSeconds: 60,
      exitCode: undefined,
      stoppedAt: undefined,
    });
    expect(run3).toMatchObject({
      lastStatus: 'STOPPED',
      trigger: 'schedule',
      exitCode: undefined,
      startedAt: undefined,
      durationSeconds: undefined,
      stopCode: 'TaskFailedToStart',
      stoppedReason: expect.stringContaining('CannotPullContainerError'),
    });
    expect(run2).toMatchObject({
      lastStatus: 'STOPPED',
      trigger: 'run-now',
      startedBy: 'batchctl-run-now',
      exitCode: 3,
      durationSeconds: 125,
      billedSeconds: 125,
      stopCode: 'EssentialContainerExited',
    });
    expect(run1).toMatchObject({ lastStatus: 'STOPPED', trigger: 'schedule', exitCode: 0, durationSeconds: 40 });
    expect(run1!.startedAt).toBe('2026-06-01T10:00:15.000Z');
    expect(run1!.stoppedAt).toBe('2026-06-01T10:00:55.000Z');
    expect(run1!.shortId).toBe(ok.split('/').pop()!.slice(0, 8));
    expect(run1!.shortId).toHaveLength(8);

    const two = await status(s, { now: new Date(), runs: 2 });
    expect(two.runs.map((x) => x.taskArn)).toEqual([running, noStart]);
  });

  it('EventBridge Scheduler runs (startedBy chronos-schedule/...) count as scheduled; an unknown starter is manual', async () => {
    fake.ecs.taskTimings = { provisioningMs: 5_000, pendingMs: 10_000, runningMs: 600_000 };
    const bySchedule = await start('chronos-schedule/sample-batch');
    advance(1_000);
    const byHand = await start('someone');
    advance(1_000);
    const byRule = await start('events-rule/sample-batch');
    const r = await status(s, { now: new Date() });
    expect(r.runs.map((x) => [x.taskArn, x.trigger])).toEqual([
      [byRule, 'schedule'],
      [byHand, 'manual'],
      [bySchedule, 'schedule'],
    ]);
  });

  it('a stopped-by-user task shows exit 143 and the stop reason; other families are not listed', async () => {
    fake.ecs.taskTimings = { provisioningMs: 5_000, pendingMs: 10_000, runningMs: 600_000 };
    const arn = await start('events-rule/sample-batch');
    advance(45_000);
    await ecs.send(new StopTaskCommand({ cluster: 'sample-batch', task: arn, reason: 'stopped from the console' }));
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'other-job',
        containerDefinitions: [{ name: 'x', image: 'busybox' }],
      }),
    );
    await ecs.send(
      new RunTaskCommand({ cluster: 'sample-batch', taskDefinition: 'other-job', startedBy: 'events-rule/other' }),
    );
    expect(fake.ecs.tasks.size).toBe(2);
    const r = await status(s, { now: new Date() });
    expect(r.runs).toHaveLength(1);
    expect(r.runs[0]).toMatchObject({
      exitCode: 143,
      stopCode: 'UserInitiated',
      stoppedReason: 'stopped from the console',
      durationSeconds: 30,
    });
  });
});

describe('batchctl status / cost (CLI)', () => {
  let out: string[];
  beforeEach(() => {
    out = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((x) => {
      out.push(String(x));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    process.exitCode = undefined;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  const cli = async (...args: string[]) => {
    await buildProgram().parseAsync(['node', 'batchctl', ...args]);
    return Number(process.exitCode ?? 0);
  };

  it('status renders tables in plain text and a document with --json', async () => {
    fake = createFakeAws();
    const s = scratch();
    await upOn(s);
    const ids = stateIds(s);
    await new EC2Client({ region }).send(
      new DeleteVpcEndpointsCommand({ VpcEndpointIds: [ids['vpc-endpoint/ecr.api']!.id] }),
    );
    expect(await cli('-c', s.configPath, '--state', s.statePath, 'status')).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/Resources: 43 in the stack, 39 checked here: 38 present, 1 missing, 0 drifted, 0 errors/);
    expect(text).toMatch(/^ {2}missing +Interface endpoint +vpc-endpoint\/ecr\.api +-$/m);
    expect(text).toMatch(/Interface endpoints: 3 up, 1 down/);
    expect(text).toMatch(/Schedule: cron\(30 \* \* \* \? \*\), enabled \(live rule\)/);
    expect(text).toMatch(/^ {2}\d{4}-\d\d-\d\dT\d\d:30:00Z/m);
    expect(text).toMatch(/about an hour/);

    out.length = 0;
    expect(await cli('-c', s.configPath, '--state', s.statePath, '--json', 'status', '--runs', '3')).toBe(0);
    const doc = JSON.parse(out.join(''));
    expect(doc).toMatchObject({ ok: true, stack: 'sample-batch', endpoints: { up: 3, down: 1 }, runs: [] });
    expect(doc.jobs[0].schedule.next).toHaveLength(3);
  });

  it('cost renders the breakdown, and --json the numbers', async () => {
    fake = createFakeAws();
    const s = scratch();
    expect(await cli('-c', s.configPath, 'cost', '--duration', '5m')).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/interface endpoints +4 x 2 AZs = 8 ENIs x \$0\.014\/h +\$0\.112 +\$81\.76/);
    expect(text).toMatch(/total fixed .* \$0\.112 +\$82\.16/);
    expect(text).toMatch(/720 runs in 30 days +\$8\.72/);
    expect(text).toContain('Total per month: $90.88');
    expect(text).toContain('down --endpoints saves $0.112/h ($81.76/month)');
    expect(fake.core.calls).toEqual([]);

    out.length = 0;
    expect(await cli('-c', s.configPath, '--json', 'cost', '--duration', '45s')).toBe(0);
    const doc = JSON.parse(out.join(''));
    expect(doc.jobs[0].run).toMatchObject({ durationSeconds: 45, billedSeconds: 60, durationSource: 'flag' });

    out.length = 0;
    expect(await cli('-c', s.configPath, 'cost', '--duration', 'soon')).toBe(2);
  });
});
