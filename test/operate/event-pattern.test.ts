/**
 * The failure alert's event pattern, taken from the kind's desired(), against sample "ECS Task State
 * Change" events shaped like the ones ECS documents; and the fake's EventBridge content filtering itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { evalPath, matchPattern, patternProblem } from '../fake-aws/event-pattern.js';
import { defaultConfig, testCtx } from '../helpers/ctx.js';
import { eventsAlertRule } from '../../src/resources/events-alert-rule.js';
import { K } from '../../src/model/keys.js';
import type { ResourceRecord } from '../../src/engine/types.js';

const ACCOUNT = '123456789012';
const REGION = 'ap-northeast-1';
const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/sample-batch`;
const TASK_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/sample-batch/0f8b2c6a1d2e4f5a9b8c7d6e5f4a3b2c`;

/** An ECS Task State Change event (fields as ECS sends them), with overrides for the detail. */
function taskEvent(
  detail: Record<string, unknown> = {},
  container: Record<string, unknown> = { exitCode: 1 },
): Record<string, unknown> {
  return {
    version: '0',
    id: '3317b2af-7005-947d-b652-f55e762e571a',
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: ACCOUNT,
    time: '2026-11-28T00:31:10Z',
    region: REGION,
    resources: [TASK_ARN],
    detail: {
      clusterArn: CLUSTER_ARN,
      containers: [
        {
          containerArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:container/sample-batch/x/y`,
          lastStatus: 'STOPPED',
          name: 'batch',
          taskArn: TASK_ARN,
          ...container,
        },
      ],
      createdAt: '2026-11-28T00:30:02.183Z',
      desiredStatus: 'STOPPED',
      group: 'family:sample-batch',
      launchType: 'FARGATE',
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      stoppedAt: '2026-11-28T00:31:09.512Z',
      startedBy: 'events-rule/sample-batch',
      taskArn: TASK_ARN,
      taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-batch:7`,
      version: 5,
      ...detail,
    },
  };
}

let fake: FakeAws;
let pattern: Record<string, unknown>;

beforeEach(async () => {
  fake = createFakeAws();
  const records = new Map<string, ResourceRecord>([
    [K.cluster, { kind: 'ecs.cluster', id: 'sample-batch', arn: CLUSTER_ARN }],
  ]);
  const cfg = defaultConfig(ACCOUNT);
  cfg.notify = { emails: ['ops@example.com'] };
  const ctx = await testCtx(fake, { config: cfg, records });
  const node = eventsAlertRule.nodes(cfg)[0]!;
  pattern = JSON.parse((await eventsAlertRule.desired(ctx, node)).eventPattern);
});
afterEach(() => fake.uninstall());

describe('the alert rule pattern', () => {
  it('is a pattern EventBridge accepts', () => {
    expect(patternProblem(pattern)).toBeUndefined();
  });

  it('matches a stopped task whose container exited 1', () => {
    expect(matchPattern(pattern, taskEvent())).toBe(true);
  });

  it('does not match a stopped task whose container exited 0', () => {
    expect(matchPattern(pattern, taskEvent({}, { exitCode: 0 }))).toBe(false);
  });

  it('matches a task that failed to start (no exit code)', () => {
    const e = taskEvent(
      {
        stopCode: 'TaskFailedToStart',
        stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
      },
      { reason: 'CannotPullContainerError' },
    );
    expect(matchPattern(pattern, e)).toBe(true);
  });

  it('does not match a container with no exit code when the task did not fail to start (stopped before it ran)', () => {
    expect(matchPattern(pattern, taskEvent({ stopCode: 'UserInitiated' }, {}))).toBe(false);
  });

  it('does not match another family, a family sharing the prefix, or another cluster', () => {
    expect(
      matchPattern(
        pattern,
        taskEvent({
          taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/other:1`,
          group: 'family:other',
        }),
      ),
    ).toBe(false);
    expect(
      matchPattern(
        pattern,
        taskEvent({ taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-batch-2:1` }),
      ),
    ).toBe(false);
    expect(matchPattern(pattern, taskEvent({ clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/other` }))).toBe(
      false,
    );
  });

  it('does not match a RUNNING (or PENDING) task, nor another detail type', () => {
    expect(
      matchPattern(pattern, taskEvent({ lastStatus: 'RUNNING', desiredStatus: 'RUNNING' }, { lastStatus: 'RUNNING' })),
    ).toBe(false);
    expect(matchPattern(pattern, taskEvent({ lastStatus: 'PENDING' }, { lastStatus: 'PENDING' }))).toBe(false);
    expect(matchPattern(pattern, { ...taskEvent(), 'detail-type': 'ECS Container Instance State Change' })).toBe(false);
  });

  it('matches when any of several containers exited non-zero (arrays match element-wise)', () => {
    const e = taskEvent();
    (e.detail as { containers: unknown[] }).containers = [
      { name: 'sidecar', exitCode: 0 },
      { name: 'batch', exitCode: 137 },
    ];
    expect(matchPattern(pattern, e)).toBe(true);
  });

  it('is the pattern the fake stores and matches once the rule exists', async () => {
    const { EventBridgeClient, PutRuleCommand } = await import('@aws-sdk/client-eventbridge');
    await new EventBridgeClient({ region: REGION }).send(
      new PutRuleCommand({ Name: 'r', EventPattern: JSON.stringify(pattern) }),
    );
    expect(fake.eventBridge.matchEvent('r', taskEvent())).toBe(true);
    expect(fake.eventBridge.matchEvent('r', taskEvent({}, { exitCode: 0 }))).toBe(false);
  });
});

describe('EventBridge content filtering (the fake)', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>, boolean][] = [
    ['exact string', { a: ['x'] }, { a: 'x' }, true],
    ['exact miss', { a: ['x'] }, { a: 'y' }, false],
    ['number equality', { n: [5] }, { n: 5 }, true],
    ['null', { a: [null] }, { a: null }, true],
    ['missing field', { a: ['x'] }, {}, false],
    ['array value: any element', { a: ['x'] }, { a: ['y', 'x'] }, true],
    ['prefix', { a: [{ prefix: 'ab' }] }, { a: 'abc' }, true],
    ['prefix on a number', { a: [{ prefix: '1' }] }, { a: 12 }, false],
    ['prefix ignore case', { a: [{ prefix: { 'equals-ignore-case': 'AB' } }] }, { a: 'abc' }, true],
    ['suffix', { a: [{ suffix: '.png' }] }, { a: 'x.png' }, true],
    ['suffix miss', { a: [{ suffix: '.png' }] }, { a: 'x.jpg' }, false],
    ['equals-ignore-case', { a: [{ 'equals-ignore-case': 'ABC' }] }, { a: 'abc' }, true],
    ['anything-but value', { a: [{ 'anything-but': 'x' }] }, { a: 'y' }, true],
    ['anything-but value miss', { a: [{ 'anything-but': 'x' }] }, { a: 'x' }, false],
    ['anything-but list', { a: [{ 'anything-but': [1, 2] }] }, { a: 2 }, false],
    ['anything-but on a missing field', { a: [{ 'anything-but': 0 }] }, {}, false],
    ['anything-but prefix', { a: [{ 'anything-but': { prefix: 'us-' } }] }, { a: 'eu-west-1' }, true],
    ['anything-but prefix miss', { a: [{ 'anything-but': { prefix: 'us-' } }] }, { a: 'us-east-1' }, false],
    ['anything-but suffix', { a: [{ 'anything-but': { suffix: '.png' } }] }, { a: 'x.png' }, false],
    ['numeric range', { n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 5 }, true],
    ['numeric out of range', { n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 6 }, false],
    ['numeric on a string', { n: [{ numeric: ['>', 0] }] }, { n: '6' }, false],
    ['exists true', { a: [{ exists: true }] }, { a: 'x' }, true],
    ['exists true, missing', { a: [{ exists: true }] }, {}, false],
    ['exists false, missing', { a: [{ exists: false }] }, {}, true],
    ['exists false, present', { a: [{ exists: false }] }, { a: 1 }, false],
    ['nested', { d: { a: ['x'] } }, { d: { a: 'x' } }, true],
    ['nested, parent missing', { d: { a: ['x'] } }, {}, false],
    ['$or first', { $or: [{ a: ['x'] }, { b: ['y'] }] }, { a: 'x' }, true],
    ['$or second', { $or: [{ a: ['x'] }, { b: ['y'] }] }, { b: 'y' }, true],
    ['$or neither', { $or: [{ a: ['x'] }, { b: ['y'] }] }, { a: 'y', b: 'x' }, false],
    ['array of objects: one element matches', { c: { e: [1] } }, { c: [{ e: 0 }, { e: 1 }] }, true],
    ['array of objects: none matches', { c: { e: [1] } }, { c: [{ e: 0 }, { e: 2 }] }, false],
    ['several fields are ANDed', { a: ['x'], b: ['y'] }, { a: 'x', b: 'z' }, false],
  ];
  it.each(cases)('%s', (_name, p, event, expected) => {
    expect(patternProblem(p)).toBeUndefined();
    expect(matchPattern(p, event)).toBe(expected);
  });

  it('rejects patterns EventBridge rejects', () => {
    expect(patternProblem([])).toBeDefined();
    expect(patternProblem({})).toBeDefined();
    expect(patternProblem({ a: 'x' })).toMatch(/must be an object or an array/);
    expect(patternProblem({ a: [] })).toMatch(/empty/);
    expect(patternProblem({ a: [{ contains: 'x', prefix: 'y' }] })).toBeDefined();
    expect(patternProblem({ a: [{ numeric: ['~', 1] }] })).toBeDefined();
    expect(patternProblem({ $or: [{ a: ['x'] }] })).toBeDefined();
  });

  it('evaluates input paths with dots and array indices', () => {
    const e = taskEvent();
    expect(evalPath(e, '$.detail.taskArn')).toBe(TASK_ARN);
    expect(evalPath(e, '$.detail.containers[0].exitCode')).toBe(1);
    expect(evalPath(e, '$.detail.containers[3].exitCode')).toBeUndefined();
    expect(evalPath(e, '$.detail-type')).toBe('ECS Task State Change');
  });
});
