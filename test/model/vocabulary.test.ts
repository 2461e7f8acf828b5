/**
 * The vocabulary computed once and shared: a task definition's family from any of its ARNs, `--env` over
 * an environment, the overlap guard, and the names derived from the stack and job, which the schema fills
 * and the checks check (one computation: a name refused by the checks is the name `up` would create).
 */
import { describe, expect, it } from 'vitest';
import { familyArnOf, familyOf } from '../../src/model/policies.js';
import { mergeEnv, refuseOverlap } from '../../src/runs/task-run.js';
import { UserError } from '../../src/base/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import { configSchema, fillNames } from '../../src/config/schema.js';
import { JOB_NAME_KEYS, STACK_NAME_DEFAULTS, defaultBucketName, jobName } from '../../src/config/names.js';

const TD = 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition';

describe('a task definition family', () => {
  it('from a revision ARN, a family ARN, or a family name', () => {
    expect(familyOf(`${TD}/sample-batch:12`)).toBe('sample-batch');
    expect(familyOf(`${TD}/sample-batch`)).toBe('sample-batch');
    expect(familyOf('sample-batch')).toBe('sample-batch');
    expect(familyOf(undefined)).toBe('');
    expect(familyArnOf(`${TD}/sample-batch:12`)).toBe(`${TD}/sample-batch`);
    // A family whose name ends in digits keeps them: only `:<revision>` goes.
    expect(familyOf(`${TD}/job-2:3`)).toBe('job-2');
  });
});

describe('a manual run', () => {
  it('--env replaces a name in its place and adds new ones after', () => {
    expect(
      mergeEnv(
        [
          ['A', '1'],
          ['B', '2'],
        ],
        { B: 'x', C: '3' },
      ),
    ).toEqual([
      ['A', '1'],
      ['B', 'x'],
      ['C', '3'],
    ]);
    expect(mergeEnv([], {})).toEqual([]);
  });

  it('the overlap guard refuses while a run is in progress, unless --allow-overlap (then nothing is listed)', async () => {
    let listed = 0;
    const running = async () => {
      listed++;
      return ['abc123'];
    };
    const err = await refuseOverlap(
      {},
      running,
      (ids) => `a task of family f is already running (${ids.join(', ')})`,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe('a task of family f is already running (abc123)');
    expect(err.hint).toMatch(/--allow-overlap/);
    await refuseOverlap({ allowOverlap: true }, running, () => 'x');
    expect(listed).toBe(1);
    await expect(
      refuseOverlap(
        {},
        async () => [],
        () => 'x',
      ),
    ).resolves.toBeUndefined();
  });
});

describe('derived names', () => {
  it('the schema fills the names derived here', () => {
    const c = fillNames(
      configSchema.parse({
        stack: 'acme',
        network: {
          batchSubnets: [{ az: 'ap-northeast-1a', cidr: '10.0.0.0/24' }],
          endpointSubnets: [{ az: 'ap-northeast-1a', cidr: '10.0.1.0/24' }],
        },
        jobs: { report: {} },
      }),
      'ap-northeast-1',
    );
    expect(c.repository.name).toBe(STACK_NAME_DEFAULTS['repository.name']('acme'));
    expect(c.logs.group).toBe('/ecs/acme');
    expect(c.iam.executionRoleName).toBe('acme-execution');
    const job = c.jobs[0]!;
    expect([
      job.task.family,
      job.schedule.name,
      job.iam.taskRoleName,
      job.iam.eventsRoleName,
      job.iam.schedulerRoleName,
      job.iam.stateMachineRoleName,
    ]).toEqual(
      (Object.keys(JOB_NAME_KEYS) as (keyof typeof JOB_NAME_KEYS)[]).map((role) =>
        jobName('acme', 'report', false, role),
      ),
    );
    expect(jobName('acme', 'acme', true, 'task')).toBe('acme-task');
    expect(defaultBucketName('acme', '123456789012', 'ap-northeast-1')).toBe('acme-123456789012-ap-northeast-1');
  });

  it("the checks refuse the very name the schema would fill: a job name making a role name over IAM's 64", () => {
    const job = 'j'.repeat(40);
    const text = [
      'stack: a-fairly-long-stack-name-here',
      'region: ap-northeast-1',
      'network:',
      '  batchSubnets: [{ az: ap-northeast-1a, cidr: 10.0.0.0/24 }]',
      '  endpointSubnets: [{ az: ap-northeast-1a, cidr: 10.0.1.0/24 }]',
      `jobs: { ${job}: {} }`,
    ].join('\n');
    let err: UserError | undefined;
    try {
      parseConfigText(text, 'batch.config.yaml', { env: {} });
    } catch (e) {
      err = e as UserError;
    }
    const name = jobName('a-fairly-long-stack-name-here', job, false, 'events');
    expect(name.length).toBeGreaterThan(64);
    expect(err?.details.join('\n')).toContain(`the default EventBridge role name "${name}"`);
  });
});
