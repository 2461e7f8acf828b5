/**
 * The scheduler engine's kinds on the fake: schedule group, dead-letter queue and schedule (find,
 * create, ownership, diff, update, delete), and their nodes per engine.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateScheduleGroupCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { defaultConfig, testCtx } from '../helpers/ctx.js';
import { scratch, upOn } from '../helpers/stack.js';
import { schedulerScheduleGroup } from '../../src/resources/scheduler-schedule-group.js';
import { schedulerSchedule } from '../../src/resources/scheduler-schedule.js';
import { sqsQueue } from '../../src/resources/sqs-queue.js';
import { iamRole } from '../../src/resources/iam-role.js';
import { iamRolePolicy } from '../../src/resources/iam-role-policy.js';
import { eventsRule } from '../../src/resources/events-rule.js';
import { eventsTarget } from '../../src/resources/events-target.js';
import { isIamPropagationError } from '../../src/resources/lib/iam-propagation.js';
import { K } from '../../src/model/keys.js';
import type { StackConfig } from '../../src/config/schema.js';
import type { ResourceRecord } from '../../src/engine/types.js';

let fake: FakeAws | undefined;
afterEach(() => {
  fake?.uninstall();
  fake = undefined;
  vi.useRealTimers();
});
const fresh = () => (fake = createFakeAws());

function schedulerConfig(): StackConfig {
  const c = defaultConfig();
  c.jobs[0]!.schedule.engine = 'scheduler';
  c.jobs[0]!.schedule.timezone = 'Asia/Tokyo';
  return c;
}

const groupNode = { key: K.scheduleGroup, deps: [], params: {} };
const queueNode = { key: K.deadLetterQueue, deps: [], params: {} };

describe('nodes follow the engine', () => {
  it('rule engine: rule, target and events role; scheduler engine: group, schedule, queue and scheduler role', () => {
    const keys = (c: StackConfig) =>
      [eventsRule, eventsTarget, schedulerScheduleGroup, schedulerSchedule, sqsQueue, iamRole, iamRolePolicy].flatMap(
        (k) => k.nodes(c).map((n) => n.key),
      );
    // The rule engine has the dead-letter queue too (schedule.deadLetterQueue, both engines).
    expect(keys(defaultConfig())).toEqual([
      'schedule-rule',
      'schedule-target',
      'dead-letter-queue',
      'role/execution',
      'role/task',
      'role/events',
      'role-policy/execution',
      'role-policy/task',
      'role-policy/events',
    ]);
    const sc = schedulerConfig();
    expect(keys(sc)).toEqual([
      'schedule-group',
      'schedule',
      'dead-letter-queue',
      'role/execution',
      'role/task',
      'role/scheduler',
      'role-policy/execution',
      'role-policy/task',
      'role-policy/scheduler',
    ]);
    // The scheduler role's policy names the queue by its ARN, derived from its name: it need not wait for it.
    expect(iamRolePolicy.nodes(sc).find((n) => n.key === 'role-policy/scheduler')!.deps).toEqual([K.role('scheduler')]);
    sc.jobs[0]!.schedule.deadLetterQueue = false;
    expect(keys(sc)).not.toContain('dead-letter-queue');
    expect(schedulerSchedule.nodes(sc)[0]!.deps).not.toContain(K.deadLetterQueue);
  });
});

describe('scheduler.schedule-group', () => {
  it('find on empty, create with tags, find owned with no diff, find by name without a record, tag drift, delete', async () => {
    const f = fresh();
    const ctx = await testCtx(f, { config: schedulerConfig() });
    expect(await schedulerScheduleGroup.find(ctx, groupNode, undefined)).toBeUndefined();
    const d = await schedulerScheduleGroup.desired(ctx, groupNode);
    const rec = await schedulerScheduleGroup.create(ctx, groupNode, d);
    expect(rec).toEqual({
      kind: 'scheduler.schedule-group',
      id: 'sample-batch',
      arn: 'arn:aws:scheduler:ap-northeast-1:123456789012:schedule-group/sample-batch',
    });
    expect(f.scheduler.groups.get('sample-batch')!.tags).toMatchObject({
      'batchctl:stack': 'sample-batch',
      'batchctl:logical': 'schedule-group',
    });
    f.core.resetCalls();
    const found = (await schedulerScheduleGroup.find(ctx, groupNode, rec))!;
    expect(f.core.count()).toBe(2); // the describe carries no tags: one more read for ownership and the tag diff
    expect(found.owned).toBe(true);
    expect(schedulerScheduleGroup.diff(d, found.observed)).toEqual([]);
    // State lost: found by name, ownership from its tags.
    const byName = (await schedulerScheduleGroup.find(ctx, groupNode, undefined))!;
    expect(byName.owned).toBe(true);
    delete f.scheduler.groups.get('sample-batch')!.tags['batchctl:logical'];
    const drifted = (await schedulerScheduleGroup.find(ctx, groupNode, undefined))!;
    const changes = schedulerScheduleGroup.diff(d, drifted.observed);
    expect(changes).toEqual([{ field: 'tags', from: {}, to: { 'batchctl:logical': 'schedule-group' } }]);
    await schedulerScheduleGroup.update!(ctx, groupNode, drifted, d, changes);
    expect(f.scheduler.groups.get('sample-batch')!.tags['batchctl:logical']).toBe('schedule-group');
    expect(schedulerScheduleGroup.diff({ ...d, name: 'other' }, found.observed)[0]).toMatchObject({
      field: 'name',
      replace: true,
    });
    await schedulerScheduleGroup.delete(ctx, rec);
    expect(await schedulerScheduleGroup.find(ctx, groupNode, rec)).toBeUndefined();
    await schedulerScheduleGroup.delete(ctx, rec);
  });

  it('an untagged same-named group is not ours', async () => {
    const f = fresh();
    const ctx = await testCtx(f, { config: schedulerConfig() });
    await new SchedulerClient({ region: 'ap-northeast-1' }).send(
      new CreateScheduleGroupCommand({ Name: 'sample-batch' }),
    );
    expect((await schedulerScheduleGroup.find(ctx, groupNode, undefined))!.owned).toBe(false);
  });

  it('delete waits while the group is DELETING; create waits for a DELETING name to come free (fake timers)', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-28T00:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const f = fresh();
    f.scheduler.groupDeletingMs = 7000;
    const ctx = await testCtx(f, { config: schedulerConfig() });
    const d = await schedulerScheduleGroup.desired(ctx, groupNode);
    const rec = await schedulerScheduleGroup.create(ctx, groupNode, d);
    const del = schedulerScheduleGroup.delete(ctx, rec);
    await vi.advanceTimersByTimeAsync(10_000);
    await del;
    expect(f.scheduler.groups.has('sample-batch')).toBe(false);
    expect(ctx.reporter.progress.some((p) => /schedule group sample-batch to finish deleting/.test(p.message))).toBe(
      true,
    );
    // Create right after a delete: the first CreateScheduleGroup meets the DELETING group and waits.
    const rec2 = await schedulerScheduleGroup.create(ctx, groupNode, d);
    const { DeleteScheduleGroupCommand } = await import('@aws-sdk/client-scheduler');
    await new SchedulerClient({ region: 'ap-northeast-1' }).send(new DeleteScheduleGroupCommand({ Name: rec2.id }));
    expect(await schedulerScheduleGroup.find(ctx, groupNode, rec2)).toBeUndefined();
    const again = schedulerScheduleGroup.create(ctx, groupNode, d);
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await again).id).toBe('sample-batch');
    expect(f.scheduler.groups.get('sample-batch')!.state).toBe('ACTIVE');
  });
});

describe('sqs.queue', () => {
  it('find on empty, create with tags and attributes, one read when converged, found by name, drift converged, delete', async () => {
    const f = fresh();
    const ctx = await testCtx(f, { config: schedulerConfig() });
    expect(await sqsQueue.find(ctx, queueNode, undefined)).toBeUndefined();
    const d = await sqsQueue.desired(ctx, queueNode);
    const rec = await sqsQueue.create(ctx, queueNode, d);
    expect(rec).toEqual({
      kind: 'sqs.queue',
      id: 'https://sqs.ap-northeast-1.amazonaws.com/123456789012/sample-batch-schedule-dlq',
      arn: 'arn:aws:sqs:ap-northeast-1:123456789012:sample-batch-schedule-dlq',
    });
    const q = f.sqs.queues.get('sample-batch-schedule-dlq')!;
    expect(q.attributes).toMatchObject({ MessageRetentionPeriod: '1209600', SqsManagedSseEnabled: 'true' });
    expect(q.tags).toMatchObject({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': 'dead-letter-queue' });
    f.core.resetCalls();
    const found = (await sqsQueue.find(ctx, queueNode, rec))!;
    expect(f.core.count()).toBe(2); // the describe carries no tags: one more read for ownership and the tag diff
    expect(found.owned).toBe(true);
    expect(sqsQueue.diff(d, found.observed)).toEqual([]);
    expect((await sqsQueue.find(ctx, queueNode, undefined))!.owned).toBe(true);
    q.attributes.MessageRetentionPeriod = '345600';
    const drifted = (await sqsQueue.find(ctx, queueNode, rec))!;
    const changes = sqsQueue.diff(d, drifted.observed);
    expect(changes).toEqual([{ field: 'attributes.MessageRetentionPeriod', from: '345600', to: '1209600' }]);
    await sqsQueue.update!(ctx, queueNode, drifted, d, changes);
    expect(q.attributes.MessageRetentionPeriod).toBe('1209600');
    expect(sqsQueue.diff({ ...d, name: 'x' }, found.observed)[0]).toMatchObject({ field: 'name', replace: true });
    await sqsQueue.delete(ctx, rec);
    expect(f.sqs.queues.size).toBe(0);
    await sqsQueue.delete(ctx, rec);
  });

  it('an untagged same-named queue is not ours', async () => {
    const f = fresh();
    const ctx = await testCtx(f, { config: schedulerConfig() });
    await new SQSClient({ region: 'ap-northeast-1' }).send(
      new CreateQueueCommand({ QueueName: 'sample-batch-schedule-dlq' }),
    );
    expect((await sqsQueue.find(ctx, queueNode, undefined))!.owned).toBe(false);
  });

  it('re-creating within 60 s of a delete waits for SQS to release the name (fake timers)', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-28T00:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const f = fresh();
    const ctx = await testCtx(f, { config: schedulerConfig() });
    const d = await sqsQueue.desired(ctx, queueNode);
    await sqsQueue.delete(ctx, await sqsQueue.create(ctx, queueNode, d));
    const again = sqsQueue.create(ctx, queueNode, d);
    await vi.advanceTimersByTimeAsync(70_000);
    expect((await again).id).toMatch(/sample-batch-schedule-dlq$/);
    expect(
      f.core.calls.filter((c) => c.op === 'CreateQueue' && c.error === 'QueueDeletedRecently').length,
    ).toBeGreaterThan(0);
    expect(ctx.reporter.progress.some((p) => /release the name sample-batch-schedule-dlq/.test(p.message))).toBe(true);
  });
});

describe('scheduler.schedule', () => {
  /** A converged scheduler stack and a context holding its records. */
  async function stack() {
    const f = fresh();
    const s = scratch();
    s.editConfig((t) => t.replace(/^schedule:\n/m, 'schedule:\n  timezone: Asia/Tokyo\n'));
    await upOn(s);
    const records = new Map(
      Object.entries(JSON.parse(readFileSync(s.statePath, 'utf8')).resources as Record<string, ResourceRecord>),
    );
    const ctx = await testCtx(f, { config: schedulerConfig(), records });
    const node = schedulerSchedule.nodes(ctx.config)[0]!;
    return { f, ctx, node, rec: records.get(K.schedule)! };
  }

  it('find with the record: one call, owned, no diff; without a record: ownership from the group; delete', async () => {
    const { f, ctx, node, rec } = await stack();
    expect(rec).toMatchObject({
      kind: 'scheduler.schedule',
      id: 'sample-batch/sample-batch',
      attrs: { group: 'sample-batch', name: 'sample-batch' },
    });
    f.core.resetCalls();
    const found = (await schedulerSchedule.find(ctx, node, rec))!;
    expect(f.core.count()).toBe(1);
    expect(found.owned).toBe(true);
    const d = await schedulerSchedule.desired(ctx, node);
    expect(schedulerSchedule.diff(d, found.observed)).toEqual([]);
    expect((await schedulerSchedule.find(ctx, node, undefined))!.owned).toBe(true);
    delete f.scheduler.groups.get('sample-batch')!.tags['batchctl:stack'];
    // Outside a walk (no verdict on the group from this run), the group's tags are read.
    expect((await schedulerSchedule.find({ ...ctx, assessed: () => undefined }, node, undefined))!.owned).toBe(false);
    await schedulerSchedule.delete(ctx, rec);
    expect(f.scheduler.schedules.size).toBe(0);
    expect(await schedulerSchedule.find(ctx, node, rec)).toBeUndefined();
    await schedulerSchedule.delete(ctx, rec);
  });

  it('mutable drift (state, window, input) is converged with the full definition; a group change needs replacement', async () => {
    const { f, ctx, node, rec } = await stack();
    const def = f.scheduler.schedules.get('sample-batch/sample-batch')!.def;
    def.State = 'DISABLED';
    def.FlexibleTimeWindow = { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 };
    // The universal target's request with other overrides.
    def.Target!.Input = JSON.stringify({ ...JSON.parse(def.Target!.Input!), overrides: { containerOverrides: [] } });
    delete def.Target!.DeadLetterConfig;
    const found = (await schedulerSchedule.find(ctx, node, rec))!;
    const d = await schedulerSchedule.desired(ctx, node);
    const changes = schedulerSchedule.diff(d, found.observed);
    expect(changes.map((c) => c.field).sort()).toEqual([
      'flexibleWindowMinutes',
      'state',
      'target.deadLetterArn',
      'target.input',
    ]);
    await schedulerSchedule.update!(ctx, node, found, d, changes);
    const now = f.scheduler.schedules.get('sample-batch/sample-batch')!.def;
    expect(now.State).toBe('ENABLED');
    expect(now.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
    expect(now.Target!.DeadLetterConfig!.Arn).toMatch(/sample-batch-schedule-dlq$/);
    expect(now.ScheduleExpressionTimezone).toBe('Asia/Tokyo');
    expect(schedulerSchedule.diff(d, (await schedulerSchedule.find(ctx, node, rec))!.observed)).toEqual([]);
    expect(schedulerSchedule.diff({ ...d, group: 'other' }, found.observed)).toContainEqual({
      field: 'group',
      from: 'sample-batch',
      to: 'other',
      replace: true,
    });
  });

  it('a key order or whitespace difference in the input is no change', async () => {
    const { ctx, node, rec } = await stack();
    const found = (await schedulerSchedule.find(ctx, node, rec))!;
    const d = await schedulerSchedule.desired(ctx, node);
    const reordered = {
      ...found.observed,
      target: { ...found.observed.target, input: JSON.stringify(JSON.parse(d.target.input), null, 2) },
    };
    expect(schedulerSchedule.diff(d, reordered)).toEqual([]);
  });

  it("Scheduler's not-yet-assumable role error is an IAM propagation error", () => {
    const err = Object.assign(
      new Error(
        'The execution role you provide must allow AWS EventBridge Scheduler to assume the role. (role arn:aws:iam::123456789012:role/sample-batch-scheduler)',
      ),
      { name: 'ValidationException' },
    );
    expect(isIamPropagationError(err)).toEqual({ role: 'arn:aws:iam::123456789012:role/sample-batch-scheduler' });
    expect(
      isIamPropagationError(
        Object.assign(new Error('Invalid Schedule Expression x.'), { name: 'ValidationException' }),
      ),
    ).toBeUndefined();
  });
});
