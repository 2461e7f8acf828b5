/**
 * `batchctl outputs` on the fake: every value names a resource the fake really holds, for both schedule
 * engines; one value prints raw for scripts; `--live` reports what exists now, not what the state says.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchLogsClient, DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';

const io = captureCli();
const { out, err } = io;
let fake: FakeAws;
beforeEach(() => {
  fake = createFakeAws();
});
afterEach(() => fake.uninstall());

const cli = (s: Scratch, ...args: string[]) => io.run('-c', s.configPath, '--state', s.statePath, ...args);
const json = () => JSON.parse(out.join(''));

describe('outputs', () => {
  it('rule engine: every identifier is one the fake holds', async () => {
    const s = scratch();
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(await cli(s, '--json', 'outputs')).toBe(0);
    const o = json();
    const repo = [...fake.ecr.repositories.values()][0]!;
    expect(o).toMatchObject({
      stack: 'sample-batch',
      region: 'ap-northeast-1',
      account: '123456789012',
      source: s.statePath,
      repositoryUri: repo.uri,
      repositoryArn: repo.arn,
      bucket: 'sample-batch-123456789012-ap-northeast-1',
      bucketArn: 'arn:aws:s3:::sample-batch-123456789012-ap-northeast-1',
      logGroups: ['/ecs/SampleBatch'],
      cluster: 'sample-batch',
      clusterArn: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/sample-batch',
      scheduleEngine: 'rule',
      scheduleArn: 'arn:aws:events:ap-northeast-1:123456789012:rule/sample-batch',
      // The rule's target dead-letters to the stack's queue; no alarm without notify.
      alertTopicArn: null,
      deadLetterQueueUrl: expect.stringMatching(/sample-batch-schedule-dlq$/),
      deadLetterAlarmName: null,
      triggerRoleArn: 'arn:aws:iam::123456789012:role/sample-batch-events',
    });
    expect(fake.ecs.taskDefs.some((t) => t.arn === o.taskDefinitionArn && t.status === 'ACTIVE')).toBe(true);
    expect(o.secretArn).toBe([...fake.secretsManager.secrets.values()][0]!.arn);
    expect(fake.ec2.vpcs.has(o.vpcId)).toBe(true);
    expect(o.batchSubnetIds).toHaveLength(2);
    for (const id of [...o.batchSubnetIds, ...o.endpointSubnetIds]) expect(fake.ec2.subnets.has(id)).toBe(true);
    expect(o.jobs).toEqual([
      {
        name: 'sample-batch',
        family: 'sample-batch',
        taskDefinitionArn: o.taskDefinitionArn,
        scheduleEngine: 'rule',
        scheduleArn: o.scheduleArn,
        logGroup: '/ecs/SampleBatch',
        logStreamPrefix: 'ecs',
        taskRoleArn: o.taskRoleArn,
        triggerRoleArn: o.triggerRoleArn,
      },
    ]);
    // Read from the state: STS only.
    expect(fake.core.calls.slice(-1).map((c) => c.op)).toEqual(['GetCallerIdentity']);
  });

  it('scheduler engine with alerts: the schedule, its dead-letter queue and the alert topic', async () => {
    const s = scratch();
    s.editConfig(
      (t) =>
        `${t.replace(/^schedule:\n/m, 'schedule:\n  engine: scheduler\n')}\nnotify:\n  emails: [ops@example.com]\n`,
    );
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(await cli(s, '--json', 'outputs')).toBe(0);
    expect(json()).toMatchObject({
      scheduleEngine: 'scheduler',
      scheduleArn: 'arn:aws:scheduler:ap-northeast-1:123456789012:schedule/sample-batch/sample-batch',
      deadLetterQueueArn: 'arn:aws:sqs:ap-northeast-1:123456789012:sample-batch-schedule-dlq',
      deadLetterQueueUrl: expect.stringMatching(/sample-batch-schedule-dlq$/),
      deadLetterAlarmName: 'sample-batch-dead-letters',
      deadLetterAlarmArn: 'arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:sample-batch-dead-letters',
      alertTopicArn: 'arn:aws:sns:ap-northeast-1:123456789012:sample-batch-alerts',
      triggerRoleArn: 'arn:aws:iam::123456789012:role/sample-batch-scheduler',
    });
  });

  it('one value prints raw for scripts; an unknown name or a missing resource is exit 2', async () => {
    const s = scratch();
    expect(await cli(s, 'up', '--yes')).toBe(0);
    expect(await cli(s, 'outputs', 'repositoryUri')).toBe(0);
    expect(out.join('')).toBe('123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/sample-batch\n');
    expect(await cli(s, 'outputs', 'batchSubnetIds')).toBe(0);
    expect(out.join('')).toMatch(/^subnet-\w+,subnet-\w+\n$/);
    expect(await cli(s, 'outputs', 'jobs.0.logGroup')).toBe(0);
    expect(out.join('')).toBe('/ecs/SampleBatch\n');
    expect(await cli(s, 'outputs', 'nope')).toBe(2);
    expect(err.join('')).toMatch(
      /no output named 'nope'\nhint: one of: repositoryUri, .*, or jobs\.<n>\.<field> for a job's \(name, family, /,
    );
    // A name almost right gets the one meant: case, a letter, a job's field.
    expect(await cli(s, 'outputs', 'repositoryuri')).toBe(2);
    expect(err.join('')).toMatch(/^error: no output named 'repositoryuri': did you mean repositoryUri\?\n/);
    expect(await cli(s, 'outputs', 'jobs.0.logGrup')).toBe(2);
    expect(err.join('')).toMatch(/^error: no output named 'jobs\.0\.logGrup': did you mean jobs\.0\.logGroup\?\n/);
    expect(await cli(s, 'outputs')).toBe(0);
    expect(out.join('')).toMatch(
      /^batchctl outputs: stack sample-batch in ap-northeast-1 \(account 123456789012\), from the state .*\nrepositoryUri\s+123456789012\.dkr\.ecr/,
    );
  });

  it('before up: exit 2 saying there is no stack yet, not a table of dashes (from the state, and --live)', async () => {
    const s = scratch();
    for (const args of [['outputs'], ['outputs', 'repositoryUri'], ['--json', 'outputs']]) {
      expect(await cli(s, ...args), args.join(' ')).toBe(2);
      expect(err.join('')).toContain(
        `error: no stack sample-batch yet: its state ${s.statePath} records no resource\nhint: create it with \`batchctl up\``,
      );
      expect(out.join('')).not.toMatch(/^repositoryUri/m);
    }
    expect(await cli(s, 'outputs', '--live')).toBe(2);
    expect(err.join('')).toBe(
      'error: no stack sample-batch yet: nothing of it exists in ap-northeast-1 (account 123456789012)\nhint: create it with `batchctl up`\n',
    );
    expect(fake.core.count({ mutating: true })).toBe(0);
  });

  it("--live looks the resources up: one deleted behind batchctl's back is gone, though the state still names it", async () => {
    const s = scratch();
    expect(await cli(s, 'up', '--yes')).toBe(0);
    await new CloudWatchLogsClient({ region: 'ap-northeast-1' }).send(
      new DeleteLogGroupCommand({ logGroupName: '/ecs/SampleBatch' }),
    );
    expect(await cli(s, '--json', 'outputs')).toBe(0);
    expect(json().logGroups).toEqual(['/ecs/SampleBatch']);
    expect(await cli(s, '--json', 'outputs', '--live')).toBe(0);
    expect(json()).toMatchObject({ source: 'live', logGroups: [], cluster: 'sample-batch' });
    expect(fake.core.count({ mutating: true, op: 'CreateLogGroup' })).toBe(2);
  });
});
