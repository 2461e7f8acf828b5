/**
 * Drift includes what was added: access given behind batchctl's back to the stack's own resources (an
 * inline policy on a role, another target on a rule, a statement in a bucket, queue or topic policy, a
 * subscription to the alert topic). `plan` shows each as a deletion, `status` counts the resource as
 * drifted, `up` removes it, and a plan saved before it appeared is refused.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import { createAwsClients, ALL_SERVICES } from '../../src/aws/clients.js';
import { freshFakeAws, scratch, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import type { FakeAws } from '../fake-aws/index.js';

const fresh = freshFakeAws();
const io = captureCli();
const { out, err } = io;
const cli = io.run;
let fake: FakeAws;
let s: Scratch;
beforeEach(() => {
  fake = fresh();
  s = scratch();
});
const aws = () => createAwsClients({ region: 'ap-northeast-1' }, ALL_SERVICES);
const BACKDOOR = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
});
const BUCKET = 'sample-batch-123456789012-ap-northeast-1';

/**
 * The hand-made access of the issue: an admin inline policy on the task role, a target `exfil` on the schedule rule.
 */
async function addBackdoors(): Promise<void> {
  const a = await aws();
  await a.iam.send(
    new PutRolePolicyCommand({ RoleName: 'sample-batch-task', PolicyName: 'backdoor', PolicyDocument: BACKDOOR }),
  );
  await a.eventBridge.send(
    new PutTargetsCommand({
      Rule: 'sample-batch',
      Targets: [{ Id: 'exfil', Arn: 'arn:aws:sqs:ap-northeast-1:999999999999:exfil' }],
    }),
  );
}

describe('an inline policy added to a role and a target added to a rule', () => {
  it('plan shows them as deletions, status counts them, up removes them, and nothing else changes', async () => {
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    await addBackdoors();

    expect(await cli('-c', s.configPath, 'plan', '--fail-on-changes')).toBe(3);
    const plan = out.join('');
    expect(plan).toMatch(
      /^~ update +IAM role +role\/task +sample-batch-task\n {6}- delete inline policy backdoor on the role: added outside batchctl$/m,
    );
    expect(plan).toMatch(
      /^~ update +EventBridge rule +schedule-rule +sample-batch\n {6}- delete target exfil on the rule \(sends the rule's events to arn:aws:sqs:ap-northeast-1:999999999999:exfil\): added outside batchctl$/m,
    );
    expect(plan).toMatch(
      /^Plan: 0 to create, 2 to update, 0 to delete, 0 refused \(replacement\), 0 errors, \d+ unchanged, 2 additions made outside batchctl to delete\.$/m,
    );
    expect(await cli('-c', s.configPath, '--json', 'plan')).toBe(0);
    const role = JSON.parse(out.join('')).resources.find((r: { key: string }) => r.key === 'role/task');
    expect(role.changes).toEqual([
      {
        field: 'inlinePolicies',
        from: ['backdoor'],
        to: [],
        replace: false,
        removes: ['inline policy backdoor on the role'],
      },
    ]);

    expect(await cli('-c', s.configPath, 'status')).toBe(0);
    const status = out.join('');
    expect(status).toMatch(/Resources: 43 in the stack, 39 checked here: 37 present, 0 missing, 2 drifted, 0 errors/);
    expect(status).toMatch(
      /drifted +IAM role +role\/task +sample-batch-task +\(added outside batchctl: inline policy backdoor on the role\)/,
    );
    expect(status).toMatch(
      /drifted +EventBridge rule +schedule-rule +sample-batch +\(added outside batchctl: target exfil on the rule/,
    );

    fake.core.resetCalls();
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    expect(
      fake.core
        .mutatingCalls()
        .map((c) => `${c.op} ${JSON.stringify(c.input.PolicyName ?? c.input.Ids)}`)
        .sort(),
    ).toEqual(['DeleteRolePolicy "backdoor"', 'RemoveTargets ["exfil"]']);
    expect([...fake.iam.roles.get('sample-batch-task')!.inline.keys()]).toEqual(['sample-batch-task']);
    expect([...fake.eventBridge.rules.get('sample-batch')!.targets.keys()]).toEqual(['batch']);
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(out.join('')).toMatch(/No changes/);
  });

  it('a plan saved before they appeared is refused, naming them; nothing is written', async () => {
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    const planFile = `${s.dir}/plan.json`;
    expect(await cli('-c', s.configPath, 'plan', '--out', planFile)).toBe(0);
    await addBackdoors();
    fake.core.resetCalls();
    expect(await cli('-c', s.configPath, 'up', planFile)).toBe(2);
    const e = err.join('');
    expect(e).toMatch(/no longer matches the stack: 2 changes since it was made; nothing was changed/);
    expect(e).toMatch(
      /role\/task: extraInlinePolicies: \[\] -> \["backdoor"\]|role\/task: extraInlinePolicies.*backdoor/,
    );
    expect(e).toMatch(/schedule-rule: extraTargets.*exfil/);
    expect(fake.core.mutatingCalls()).toEqual([]);
  });

  it('the policy batchctl still records for a job that lost its state machine is not an addition: up deletes it once the rest converged', async () => {
    s.editConfig((t) => t.replace(/^task:\n/m, 'task:\n  timeout: 15m\n'));
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    s.editConfig((t) => t.replace('  timeout: 15m\n', ''));
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    const plan = out.join('');
    expect(plan).not.toMatch(/added outside batchctl/);
    expect(plan).toMatch(/^- delete +IAM role policy +role-policy\/events\/start-execution/m);
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    expect([...fake.iam.roles.get('sample-batch-events')!.inline.keys()]).toEqual(['sample-batch-events']);
  });
});

describe("statements added to the stack's policies, and subscriptions to its topic", () => {
  it('a bucket policy and a queue policy statement, a confirmed subscription: deletions; a pending one: a note', async () => {
    s.editConfig((t) => `${t}\nnotify:\n  emails: [ops@example.com]\n`);
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    const a = await aws();
    const bucketPolicy = JSON.parse(fake.s3.buckets.get(BUCKET)!.policy!);
    bucketPolicy.Statement.push({
      Sid: 'Share',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::999999999999:root' },
      Action: 's3:GetObject',
      Resource: `arn:aws:s3:::${BUCKET}/*`,
    });
    await a.s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify(bucketPolicy) }));
    const queue = [...fake.sqs.queues.values()][0]!;
    const queuePolicy = JSON.parse(queue.attributes.Policy!);
    queuePolicy.Statement.push({ Effect: 'Allow', Principal: '*', Action: 'sqs:ReceiveMessage', Resource: queue.arn });
    await a.sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { Policy: JSON.stringify(queuePolicy) } }),
    );
    const topic = [...fake.sns.topics.values()][0]!.arn;
    await a.sns.send(
      new SubscribeCommand({ TopicArn: topic, Protocol: 'https', Endpoint: 'https://collector.example.net/alerts' }),
    );
    await a.sns.send(new SubscribeCommand({ TopicArn: topic, Protocol: 'email', Endpoint: 'someone@example.net' }));

    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    const plan = out.join('');
    expect(plan).toMatch(
      /- delete policy statement "Share": Allow s3:GetObject to \{"AWS":\["arn:aws:iam::999999999999:root"\]\} on arn:aws:s3:::sample-batch-123456789012-ap-northeast-1\/\*: added outside batchctl/,
    );
    expect(plan).toMatch(
      /- delete policy statement Allow sqs:ReceiveMessage to \* on arn:aws:sqs:ap-northeast-1:123456789012:sample-batch-schedule-dlq: added outside batchctl/,
    );
    expect(plan).toMatch(
      /- delete subscription https:https:\/\/collector\.example\.net\/alerts to the alert topic \(not in notify\.emails\): added outside batchctl/,
    );
    expect(plan).toMatch(
      /note: email:someone@example\.net is subscribed to the alert topic but is not in notify\.emails; it is pending confirmation/,
    );
    expect(plan).toMatch(/3 additions made outside batchctl to delete/);
    // Nothing but additions: the policies' lines are the deletions, not the whole documents.
    expect(plan).not.toMatch(/^ {6}policy: /m);

    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    expect(JSON.parse(fake.s3.buckets.get(BUCKET)!.policy!).Statement.map((x: { Sid?: string }) => x.Sid)).toEqual([
      'DenyInsecureTransport',
    ]);
    expect(JSON.parse(queue.attributes.Policy!).Statement).toHaveLength(1);
    expect(
      [...fake.sns.subs.values()]
        .filter((x) => x.topicArn === topic)
        .map((x) => x.endpoint)
        .sort(),
    ).toEqual(['ops@example.com', 'someone@example.net']);
    // Once the stranger confirms, it is removable, and removed.
    fake.sns.confirm(topic, 'someone@example.net');
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    expect([...fake.sns.subs.values()].filter((x) => x.topicArn === topic).map((x) => x.endpoint)).toEqual([
      'ops@example.com',
    ]);
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(out.join('')).toMatch(/No changes/);
  });

  it('a policy put on the dead-letter queue where batchctl sets none (scheduler engine) is removed', async () => {
    s.editConfig((t) => t.replace(/^schedule:\n/m, 'schedule:\n  engine: scheduler\n'));
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    const queue = [...fake.sqs.queues.values()][0]!;
    expect(queue.attributes.Policy ?? '').toBe('');
    const a = await aws();
    await a.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queue.url,
        Attributes: {
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sqs:*', Resource: queue.arn }],
          }),
        },
      }),
    );
    expect(await cli('-c', s.configPath, 'plan')).toBe(0);
    expect(out.join('')).toMatch(
      /^~ update +SQS queue +dead-letter-queue +\S+\n {6}- delete policy statement Allow sqs:\* to \* on \S+: added outside batchctl$/m,
    );
    expect(await cli('-c', s.configPath, 'up', '--yes')).toBe(0);
    expect(queue.attributes.Policy ?? '').toBe('');
  });
});
