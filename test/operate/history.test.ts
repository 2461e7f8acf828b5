/**
 * Run history (issue 13, item 2) end to end on the fake: `up` builds the rule of stopped tasks, its log
 * group target and the group's resource policy; the fake ECS puts each stopped task's event on the bus,
 * the fake EventBridge writes it to the group only as the policy admits; `history` lists the runs long
 * after ECS forgot them, with their trigger, scheduled time, exit code and image digest, and the
 * scheduled times that produced no run (from the schedule, the dead letters and the claims).
 */
import { describe, expect, it, vi } from 'vitest';
import { freshFakeAws, scratch, settleWithFakeTimers, upOn, type Scratch } from '../helpers/stack.js';
import { fire, liveTriggers } from '../helpers/triggers.js';
import { setEngine } from '../helpers/drift.js';
import { runHistory, scheduledTimes, type HistoryReport } from '../../src/runs/history.js';
import { parseSince, SINCE_RANGE } from '../../src/base/duration.js';
import { runDown } from '../../src/stack/down.js';
import { RecordingReporter } from '../../src/engine/reporter.js';
import { RUN_NOW_STARTED_BY } from '../../src/runs/task-run.js';
import { UserError } from '../../src/base/errors.js';
import { buildProgram } from '../../src/cli/main.js';
import type { FakeAws } from '../fake-aws/index.js';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Execution } from '../fake-aws/sfn.js';

const fresh = freshFakeAws();

const ACCOUNT = '123456789012';
const REGION = 'ap-northeast-1';
const HISTORY_GROUP = '/aws/events/batchctl/sample-batch/history';
/** The one resource policy every batchctl stack of the region shares. */
const POLICY = 'batchctl-history';
const BUCKET = `sample-batch-${ACCOUNT}-${REGION}`;
const H = (hhmm: string) => `2026-11-28T${hhmm}:00Z`;

/** Fake time from `start`, tasks taking 5 + 10 s to start and `runningMs` to run. */
function fakeTime(f: FakeAws, start: string, runningMs = 30_000): void {
  f.ecs.taskTimings = { provisioningMs: 5000, pendingMs: 10_000, runningMs };
  vi.useFakeTimers({ now: Date.parse(start), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
}

/** Fire the stack's (only) trigger at `time`, as EventBridge would at that scheduled time. */
function fireAt(f: FakeAws, time: string, exitCode = 0): string {
  vi.setSystemTime(Date.parse(time));
  f.ecs.taskExitCode = exitCode;
  return fire(f, liveTriggers(f)[0]!, time).taskArn!;
}

const history = (s: Scratch, since: string, job?: string): Promise<HistoryReport> =>
  runHistory({
    configPath: s.configPath,
    statePath: s.statePath,
    reporter: new RecordingReporter(),
    since: new Date(parseSince(since, '--since', Date.now(), SINCE_RANGE)),
    ...(job ? { job } : {}),
  });

/** What Scheduler leaves in the dead-letter queue for an invocation it gave up on (attributes as it sets them). */
async function deadLetter(f: FakeAws, attributes: Record<string, string>): Promise<void> {
  const q = f.sqs.queues.get('sample-batch-schedule-dlq')!;
  await new SQSClient({ region: REGION }).send(
    new SendMessageCommand({
      QueueUrl: q.url,
      MessageBody: '{}',
      MessageAttributes: Object.fromEntries(
        Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
      ),
    }),
  );
}

/** The entries as [result, trigger, scheduled time] triples, newest first. */
const lines = (r: HistoryReport) => r.entries.map((e) => [e.result, e.trigger, e.scheduledTime ?? '-']);

describe("up builds the history: a rule of stopped tasks, its log group target, the group's resource policy", () => {
  it("one shared policy naming only history groups and history rules; the rule matches our cluster's stopped tasks of our families", async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const rule = f.eventBridge.rules.get('sample-batch-history')!;
    expect(rule.tags).toMatchObject({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': 'history/rule' });
    expect(JSON.parse(rule.eventPattern!)).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: {
        clusterArn: [`arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/sample-batch`],
        taskDefinitionArn: [{ prefix: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-batch:` }],
        lastStatus: ['STOPPED'],
      },
    });
    expect([...rule.targets.values()]).toEqual([
      { Id: 'history', Arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${HISTORY_GROUP}` },
    ]);
    expect(f.logs.groups.get(HISTORY_GROUP)).toMatchObject({
      retentionInDays: 365,
      tags: { 'batchctl:stack': 'sample-batch', 'batchctl:logical': 'history/log-group' },
    });
    expect([...f.logs.resourcePolicies.keys()]).toEqual([POLICY]);
    const doc = JSON.parse(f.logs.resourcePolicies.get(POLICY)!.document);
    const resources = doc.Statement.flatMap((x: { Resource: string | string[] }) => x.Resource);
    expect(new Set(resources)).toEqual(new Set([`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/events/batchctl/*`]));
    // A rule that is not a history rule cannot write to our group; ours can.
    const stream = 'probe';
    expect(f.logs.admits('events.amazonaws.com', 'logs:PutLogEvents', HISTORY_GROUP, stream, rule.arn)).toBe(true);
    expect(
      f.logs.admits(
        'events.amazonaws.com',
        'logs:PutLogEvents',
        HISTORY_GROUP,
        stream,
        `arn:aws:events:${REGION}:${ACCOUNT}:rule/other`,
      ),
    ).toBe(false);
    // Nor into any group but the history groups.
    expect(f.logs.admits('events.amazonaws.com', 'logs:PutLogEvents', '/ecs/sample-batch', stream, rule.arn)).toBe(
      false,
    );
    // A second up writes nothing.
    f.core.resetCalls();
    await upOn(s);
    expect(f.core.mutatingCalls().map((c) => c.op)).toEqual([]);
  });

  it('without the resource policy EventBridge cannot write: the event is not logged (the fake applies the policy)', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    fakeTime(f, H('00:00'));
    f.logs.resourcePolicies.clear();
    fireAt(f, H('00:30'));
    await vi.advanceTimersByTimeAsync(60_000);
    f.ecs.emitStopEvents();
    expect(f.logs.groups.get(HISTORY_GROUP)!.streams.size).toBe(0);
    // The next up puts it back (a listed change), and the next stopped task is logged.
    const up = await settleWithFakeTimers(upOn(s));
    expect(up.events.filter((e) => e.action !== 'unchanged').map((e) => [e.key, e.action])).toEqual([
      ['history/log-policy', 'created'],
    ]);
    fireAt(f, H('01:30'));
    await vi.advanceTimersByTimeAsync(60_000);
    f.ecs.emitStopEvents();
    expect(f.logs.groups.get(HISTORY_GROUP)!.streams.size).toBe(1);
  });
});

describe('history', () => {
  it('lists runs ECS has forgotten, newest first, with a missed time (no run, no claim) and one claimed without a run', async () => {
    const f = fresh();
    const s = scratch();
    fakeTime(f, H('00:00'));
    await settleWithFakeTimers(upOn(s));
    const digest = f.ecr.addImage('sample-batch', 'latest');
    // cron(30 * * * ? *): due at every :30. 01:30 never fired; 03:30 was claimed, but no task of it was recorded.
    fireAt(f, H('00:30'));
    fireAt(f, H('02:30'), 3);
    f.s3.addObject(BUCKET, `.batchctl/runs/${H('03:30')}.json`, JSON.stringify({ scheduledTime: H('03:30') }));
    fireAt(f, H('04:30'));
    // 06:00: 05:30 is still within EventBridge's retry window (30 min) plus a few minutes: not judged yet.
    vi.setSystemTime(Date.parse('2026-11-28T06:00:00Z'));
    const r = await settleWithFakeTimers(history(s, '1d'));

    // ECS shows none of them any more (it keeps a stopped task for an hour).
    const cluster = f.ecs.clusters.get('sample-batch')!;
    expect([...f.ecs.tasks.values()].filter((t) => t.clusterArn === cluster.arn)).toHaveLength(3);
    expect(f.core.calls.filter((c) => c.op === 'DescribeTasks')).toHaveLength(0);

    expect(lines(r)).toEqual([
      ['succeeded', 'schedule', H('04:30')],
      ['missed', 'schedule', H('03:30')],
      ['failed', 'schedule', H('02:30')],
      ['missed', 'schedule', H('01:30')],
      ['succeeded', 'schedule', H('00:30')],
    ]);
    const [last, claimed, failed, missed] = r.entries;
    expect(last).toMatchObject({
      source: 'history',
      exitCode: 0,
      stopCode: 'EssentialContainerExited',
      imageDigest: digest,
      startedAt: '2026-11-28T04:30:15.000Z',
      stoppedAt: '2026-11-28T04:30:45.000Z',
      durationSeconds: 30,
    });
    expect(claimed).toMatchObject({
      source: 'claim',
      reason: expect.stringMatching(/^claimed at .* by a task that left no record$/),
    });
    expect(failed).toMatchObject({ exitCode: 3, stoppedReason: 'Essential container in task exited' });
    expect(missed).toMatchObject({
      source: 'schedule',
      reason: expect.stringMatching(/^no task started: no dead letter and no claim/),
    });
    // History began with the stack: nothing before 00:00 is called missed.
    expect(r.notes).toEqual([expect.stringMatching(/^history began 2026-11-28T00:00:00.000Z/)]);
  });

  it('a run still going comes from ECS, stopped ones from the group; trigger kinds: schedule, run-now, manual', async () => {
    const f = fresh();
    const s = scratch();
    fakeTime(f, H('00:00'));
    await settleWithFakeTimers(upOn(s));
    const td = f.ecs.revisionArn('sample-batch')!;
    const trigger = liveTriggers(f)[0]!;
    const net = {
      awsvpcConfiguration: {
        subnets: trigger.ecs!.NetworkConfiguration!.awsvpcConfiguration!.Subnets,
        securityGroups: trigger.ecs!.NetworkConfiguration!.awsvpcConfiguration!.SecurityGroups,
      },
    };
    vi.setSystemTime(Date.parse(H('00:05')));
    f.ecs.runTask({
      cluster: 'sample-batch',
      taskDefinition: td,
      networkConfiguration: net,
      startedBy: RUN_NOW_STARTED_BY,
    });
    vi.setSystemTime(Date.parse(H('00:10')));
    f.ecs.runTask({ cluster: 'sample-batch', taskDefinition: td, networkConfiguration: net });
    vi.setSystemTime(Date.parse(H('00:20')));
    f.ecs.taskTimings.runningMs = 3_600_000;
    fireAt(f, H('00:30'));
    vi.setSystemTime(Date.parse(H('00:31')));
    const r = await settleWithFakeTimers(history(s, '2h'));
    expect(r.entries.map((e) => [e.result, e.trigger, e.source])).toEqual([
      ['running', 'schedule', 'ecs'],
      ['succeeded', 'manual', 'history'],
      ['succeeded', 'run-now', 'history'],
    ]);
    expect(r.entries[0]).toMatchObject({ scheduledTime: H('00:30'), durationSeconds: 45 });
  });

  it("a scheduled task without BATCH_SCHEDULED_TIME (a target edited outside batchctl): its time is the schedule's last before it", async () => {
    const f = fresh();
    const s = scratch();
    fakeTime(f, H('00:00'));
    await settleWithFakeTimers(upOn(s));
    const trigger = liveTriggers(f)[0]!;
    const vpc = trigger.ecs!.NetworkConfiguration!.awsvpcConfiguration!;
    vi.setSystemTime(Date.parse('2026-11-28T00:30:20Z'));
    f.ecs.runTask({
      cluster: 'sample-batch',
      taskDefinition: f.ecs.revisionArn('sample-batch'),
      startedBy: 'events-rule/sample-batch',
      networkConfiguration: { awsvpcConfiguration: { subnets: vpc.Subnets, securityGroups: vpc.SecurityGroups } },
    });
    vi.setSystemTime(Date.parse(H('02:00')));
    const r = await settleWithFakeTimers(history(s, '1d'));
    expect(r.entries[0]).toMatchObject({
      result: 'succeeded',
      trigger: 'schedule',
      scheduledTime: H('00:30'),
      scheduledTimeDerived: true,
    });
  });

  it('a retried run through the state machine is one run with its attempts; its trigger is the schedule', async () => {
    const f = fresh();
    const s = scratch();
    s.editConfig((t) =>
      t
        .replace('  command: [node, dist/main.js]\n', '  command: [node, dist/main.js]\n  retries: 2\n')
        .replace('cron(30 * * * ? *)', 'cron(30 0 * * ? *)'),
    );
    fakeTime(f, H('00:00'), 20_000);
    await settleWithFakeTimers(upOn(s));
    vi.setSystemTime(Date.parse(H('00:30')));
    f.ecs.taskExitCode = 1;
    const x: Execution = fire(f, liveTriggers(f)[0]!, H('00:30')).execution!;
    await vi.advanceTimersByTimeAsync(1000);
    f.ecs.taskExitCode = 0;
    for (let i = 0; i < 10_000 && x.status === 'RUNNING'; i++) await vi.advanceTimersToNextTimerAsync();
    expect(x.status).toBe('SUCCEEDED');
    vi.setSystemTime(Date.parse(H('03:00')));
    const r = await settleWithFakeTimers(history(s, '1d'));
    expect(lines(r)).toEqual([['succeeded', 'schedule', H('00:30')]]);
    const run = r.entries[0]!;
    expect(run.runId).toBe(x.arn);
    expect(run.attempts!.map((a) => a.exitCode)).toEqual([1, 0]);
    expect(run.exitCode).toBe(0);
    // From the first attempt's start to the last one's stop, the wait before the retry included.
    expect(Date.parse(run.stoppedAt!) - Date.parse(run.startedAt!)).toBeGreaterThan(2 * 20_000);
  });

  it('scheduler engine: a dead-lettered scheduled time is missed with the error as its reason', async () => {
    const f = fresh();
    const s = scratch();
    setEngine(s, 'scheduler');
    fakeTime(f, H('00:00'));
    await settleWithFakeTimers(upOn(s));
    fireAt(f, H('00:30'));
    await deadLetter(f, {
      SCHEDULE_ARN: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/sample-batch/sample-batch`,
      SCHEDULED_TIME: H('01:30'),
      ERROR_CODE: 'ECS.RunTask.Failure',
      ERROR_MESSAGE: 'RESOURCE:ENI',
      EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts',
    });
    fireAt(f, H('02:30'));
    vi.setSystemTime(Date.parse('2026-11-28T03:10:00Z'));
    const r = await settleWithFakeTimers(history(s, '1d'));
    expect(lines(r)).toEqual([
      ['succeeded', 'schedule', H('02:30')],
      ['missed', 'schedule', H('01:30')],
      ['succeeded', 'schedule', H('00:30')],
    ]);
    expect(r.entries[1]).toMatchObject({
      source: 'dead-letter',
      reason: 'not started: ECS.RunTask.Failure: RESOURCE:ENI (gave up: MaximumRetryAttempts)',
    });
    // Read without consuming: the message is still there for the alarm and the next reader.
    expect([...f.sqs.queues.values()][0]!.messages).toHaveLength(1);
  });

  it('a dead-letter queue deleted while history reads it is "does not exist", whichever way SQS spells it', async () => {
    for (const code of ['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']) {
      const f = fresh();
      const s = scratch();
      setEngine(s, 'scheduler');
      fakeTime(f, H('00:00'));
      await settleWithFakeTimers(upOn(s));
      await deadLetter(f, {
        SCHEDULED_TIME: H('01:30'),
        ERROR_CODE: 'ECS.RunTask.Failure',
        ERROR_MESSAGE: 'RESOURCE:ENI',
      });
      // Counted, then gone before its messages are read (a `down` in another terminal).
      const injected = f.core.failOn('ReceiveMessage', code, 1, 'The specified queue does not exist.');
      vi.setSystemTime(Date.parse('2026-11-28T03:10:00Z'));
      const r = await settleWithFakeTimers(history(s, '1d'));
      expect(injected.times, code).toBe(0);
      expect(r.notes, code).toContain('the dead-letter queue does not exist: no dead letters read');
      vi.useRealTimers();
    }
  });

  it('[job] filters; an unknown job is a user error naming the jobs', async () => {
    const f = fresh();
    const s = scratch();
    fakeTime(f, H('00:00'));
    await settleWithFakeTimers(upOn(s));
    fireAt(f, H('00:30'));
    vi.setSystemTime(Date.parse(H('01:00')));
    expect((await settleWithFakeTimers(history(s, '1d', 'sample-batch'))).entries).toHaveLength(1);
    const err = await settleWithFakeTimers(history(s, '1d', 'nightly')).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/has no job named "nightly"/);
    expect(err.hint).toMatch(/its jobs: sample-batch/);
  });

  it('--json through the CLI: the report as data; an unknown job exits 2', async () => {
    const f = fresh();
    const s = scratch();
    fakeTime(f, H('00:00'));
    await settleWithFakeTimers(upOn(s));
    fireAt(f, H('00:30'));
    vi.setSystemTime(Date.parse(H('01:00')));
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((t) => {
      out.push(String(t));
      return true;
    });
    const errw = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      process.exitCode = undefined;
      await settleWithFakeTimers(
        buildProgram().parseAsync([
          'node',
          'batchctl',
          '-c',
          s.configPath,
          '--state',
          s.statePath,
          '--json',
          'history',
          '--since',
          '24h',
        ]),
      );
      expect(process.exitCode ?? 0).toBe(0);
      const doc = JSON.parse(out.join(''));
      expect(doc).toMatchObject({
        ok: true,
        stack: 'sample-batch',
        jobs: ['sample-batch'],
        since: '2026-11-27T01:00:00.000Z',
        notes: expect.any(Array),
      });
      expect(doc.entries).toEqual([
        expect.objectContaining({
          job: 'sample-batch',
          result: 'succeeded',
          trigger: 'schedule',
          scheduledTime: H('00:30'),
          exitCode: 0,
          source: 'history',
          taskArn: expect.stringMatching(/^arn:aws:ecs:.*:task\/sample-batch\//),
        }),
      ]);
      out.length = 0;
      await settleWithFakeTimers(
        buildProgram().parseAsync([
          'node',
          'batchctl',
          '-c',
          s.configPath,
          '--state',
          s.statePath,
          'history',
          'nightly',
        ]),
      );
      expect(process.exitCode).toBe(2);
    } finally {
      write.mockRestore();
      errw.mockRestore();
      process.exitCode = undefined;
    }
  });
});

describe('down', () => {
  it("removes the rule, its target, the group and the shared policy (no other stack left); another stack's look-alikes stay", async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    // Another stack's policy from before the shared one (not ours: it names its own group), and a group
    // that is no history group.
    const other = '/aws/events/batchctl/other/history';
    const otherDoc = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'logs:PutLogEvents',
          Resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${other}:*`,
        },
      ],
    });
    f.logs.resourcePolicies.set('batchctl-other-history', {
      name: 'batchctl-other-history',
      document: otherDoc,
      lastUpdatedTime: Date.now(),
    });
    f.logs.groups.set('/aws/events/batchctl/other/audit', {
      name: '/aws/events/batchctl/other/audit',
      createdAt: Date.now(),
      tags: {},
      streams: new Map(),
    });
    const report = await runDown({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      yes: true,
      interactive: false,
    });
    expect(report.failures).toEqual([]);
    expect(f.eventBridge.rules.has('sample-batch-history')).toBe(false);
    expect(f.logs.groups.has(HISTORY_GROUP)).toBe(false);
    expect([...f.logs.resourcePolicies.keys()]).toEqual(['batchctl-other-history']);
    expect(f.logs.groups.has('/aws/events/batchctl/other/audit')).toBe(true);
  });

  it("keeps the shared policy while another stack's history group needs it", async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const other = '/aws/events/batchctl/other/history';
    f.logs.groups.set(other, {
      name: other,
      createdAt: Date.now(),
      tags: { 'batchctl:stack': 'other' },
      streams: new Map(),
    });
    const reporter = new RecordingReporter();
    const report = await runDown({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter,
      yes: true,
      interactive: false,
    });
    expect(report.failures).toEqual([]);
    expect(f.logs.groups.has(HISTORY_GROUP)).toBe(false);
    expect([...f.logs.resourcePolicies.keys()]).toEqual([POLICY]);
    expect(reporter.infos.join('\n')).toContain(
      `kept the Logs resource policy ${POLICY}: the history of stack other still needs it`,
    );
  });

  it('a policy of our name that also names another group is not ours: up refuses it with a hint that fits, down leaves it as it is', async () => {
    const f = fresh();
    const s = scratch();
    await upOn(s);
    const p = f.logs.resourcePolicies.get(POLICY)!;
    const doc = JSON.parse(p.document);
    doc.Statement[0].Resource = [
      doc.Statement[0].Resource,
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/events/shared:*`,
    ];
    p.document = JSON.stringify(doc);
    // up refuses it, saying why without telling to tag what cannot be tagged.
    const refused = await upOn(s).catch((e) => e);
    const err = refused.failures[0];
    expect(err.message).toBe(
      `Logs resource policy ${POLICY} (history/log-policy) already exists but names more than batchctl's history log groups (a Logs resource policy cannot be tagged: batchctl's is recognised by its document): it is not part of stack 'sample-batch'`,
    );
    expect(err.hint).toBe(
      `if it is batchctl's policy, edited by hand: delete it (aws logs delete-resource-policy --policy-name ${POLICY} --region ${REGION}) and run batchctl up, which writes it again; if it is someone else's, keep it and nothing of it is touched`,
    );
    expect(err.hint).not.toMatch(/tag it/);
    const report = await runDown({
      configPath: s.configPath,
      statePath: s.statePath,
      reporter: new RecordingReporter(),
      yes: true,
      interactive: false,
    });
    expect(f.logs.resourcePolicies.get(POLICY)?.document).toBe(p.document);
    expect(report.counts.deleted).toBeGreaterThan(30);
  });
});

describe('scheduled times', () => {
  it('a cron from its expression and zone; a rate only with a run to anchor its phase', () => {
    const job = (expression: string, timezone?: string) =>
      ({ name: 'j', schedule: { expression, ...(timezone ? { timezone } : {}) } }) as never;
    const from = Date.parse('2026-11-28T00:00:00Z');
    const to = Date.parse('2026-11-28T03:00:00Z');
    const iso = (r: { times: number[] }) => r.times.map((t) => new Date(t).toISOString().slice(11, 16));
    expect(iso(scheduledTimes(job('cron(30 * * * ? *)'), from, to))).toEqual(['00:30', '01:30', '02:30']);
    // 09:00 in Tokyo is 00:00Z, not after `from`: the window is (from, to].
    expect(iso(scheduledTimes(job('cron(0 9 * * ? *)', 'Asia/Tokyo'), from, to))).toEqual([]);
    expect(iso(scheduledTimes(job('cron(0 10 * * ? *)', 'Asia/Tokyo'), from, to))).toEqual(['01:00']);
    expect(scheduledTimes(job('rate(1 hour)'), from, to).times).toEqual([]);
    expect(iso(scheduledTimes(job('rate(1 hour)'), from, to, Date.parse('2026-11-28T05:17:00Z')))).toEqual([
      '00:17',
      '01:17',
      '02:17',
    ]);
    const many = scheduledTimes(job('rate(1 minute)'), 0, 30 * 86_400_000, 60_000);
    expect(many).toMatchObject({ truncated: true });
    expect(many.times).toHaveLength(10_000);
  });
});
