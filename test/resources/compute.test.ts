import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CreateRoleCommand, AttachRolePolicyCommand, PutRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  DescribeTasksCommand,
  StopTaskCommand,
  ListTasksCommand,
  DeleteClusterCommand,
} from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { defaultConfig, testCtx } from '../helpers/ctx.js';
import type { Ctx, ResourceRecord } from '../../src/engine/types.js';
import type { StackConfig } from '../../src/config/schema.js';
import { K } from '../../src/model/keys.js';
import { iamRole } from '../../src/resources/iam-role.js';
import { iamRolePolicy } from '../../src/resources/iam-role-policy.js';
import { ecsCluster } from '../../src/resources/ecs-cluster.js';
import { taskDefinition, canonicalContent } from '../../src/resources/task-definition.js';
import { eventsRule } from '../../src/resources/events-rule.js';
import { eventsTarget } from '../../src/resources/events-target.js';
import { sqsQueue } from '../../src/resources/sqs-queue.js';
import { sqsQueuePolicy } from '../../src/resources/sqs-queue-policy.js';
import { isIamPropagationError } from '../../src/resources/lib/iam-propagation.js';
import { samePolicy, decodePolicy, type PolicyDocument } from '../../src/model/policies.js';
import { awsErrorCode } from '../../src/base/errors.js';
import { kindSteps } from '../helpers/kinds.js';

const ACCOUNT = '123456789012';
const REGION = 'ap-northeast-1';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:sample-batch-AbCdEf`;
const LOGS_ARN = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/ecs/SampleBatch`;
const REPO_ARN = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/sample-batch`;
const REPO_URI = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/sample-batch`;

/** Records of the other areas' resources (their kinds are tested elsewhere). */
function foreignRecords(cfg: StackConfig): Map<string, ResourceRecord> {
  const m = new Map<string, ResourceRecord>([
    [K.repository, { kind: 'ecr.repository', id: 'sample-batch', arn: REPO_ARN, attrs: { uri: REPO_URI } }],
    [K.logGroup, { kind: 'logs.log-group', id: '/ecs/SampleBatch', arn: LOGS_ARN }],
    [K.secret, { kind: 'secretsmanager.secret', id: 'sample-batch', arn: SECRET_ARN }],
    [K.bucket, { kind: 's3.bucket', id: cfg.bucket.name!, arn: `arn:aws:s3:::${cfg.bucket.name}` }],
    [K.securityGroup('task'), { kind: 'ec2.security-group', id: 'sg-0task' }],
  ]);
  // Given in reverse order on purpose: the target must sort them.
  for (const [i, s] of [...cfg.network.batchSubnets].reverse().entries())
    m.set(K.subnet('batch', s.az), { kind: 'ec2.subnet', id: `subnet-0${9 - i}` });
  return m;
}

let fake: FakeAws;
let records: Map<string, ResourceRecord>;
let ctx: Ctx;

async function setup(cfg: StackConfig = defaultConfig(ACCOUNT)) {
  records = foreignRecords(cfg);
  ctx = await testCtx(fake, { config: cfg, records });
}

const { node, converge, findAndDiff } = kindSteps(() => ({ ctx, records }));

const roles = ['execution', 'task', 'events'] as const;

/** Everything in this area, in dependency order. */
async function convergeAll(c: Ctx = ctx) {
  for (const r of roles) await converge(iamRole, K.role(r), c);
  await converge(ecsCluster, K.cluster, c);
  await converge(taskDefinition, K.taskDefinition, c);
  for (const r of roles) await converge(iamRolePolicy, K.rolePolicy(r), c);
  await converge(eventsRule, K.rule, c);
  // The target dead-letters to the stack's queue (schedule.deadLetterQueue, on by default).
  await converge(sqsQueue, K.deadLetterQueue, c);
  await converge(sqsQueuePolicy, K.deadLetterQueuePolicy, c);
  await converge(eventsTarget, K.target, c);
}

const iam = () => ctx.aws.iam as unknown as IAMClient;
const ecs = () => ctx.aws.ecs as unknown as ECSClient;
const eb = () => ctx.aws.eventBridge as unknown as EventBridgeClient;

beforeEach(async () => {
  fake = createFakeAws();
  await setup();
});
afterEach(() => {
  fake.uninstall();
  vi.useRealTimers();
});

describe('policies', () => {
  it('compares documents canonically: string vs list, order of statements, actions and keys', () => {
    const a: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:x' },
        { Effect: 'Allow', Action: ['b', 'a'], Resource: ['r2', 'r1'], Condition: { StringEquals: { k: 'v' } } },
      ],
    };
    const b: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Resource: ['r1', 'r2'], Action: ['a', 'b'], Effect: 'Allow', Condition: { StringEquals: { k: ['v'] } } },
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:x'] },
      ],
    };
    expect(samePolicy(a, b)).toBe(true);
    expect(samePolicy(a, { ...b, Statement: [b.Statement[0]!] })).toBe(false);
    expect(decodePolicy(encodeURIComponent(JSON.stringify(a)))).toEqual(a);
  });
});

describe('isIamPropagationError', () => {
  const err = (name: string, message: string) => Object.assign(new Error(message), { name });
  it('recognises the forms AWS uses and extracts the role', () => {
    const arn = `arn:aws:iam::${ACCOUNT}:role/sample-batch-events`;
    expect(
      isIamPropagationError(
        err('ValidationException', `Provided role '${arn}' cannot be assumed by principal 'events.amazonaws.com'.`),
      ),
    ).toEqual({ role: arn });
    expect(isIamPropagationError(err('ClientException', 'Role is not valid'))).toEqual({});
    expect(
      isIamPropagationError(
        err('InvalidParameterException', `ECS was unable to assume the role '${arn}' that was provided for this task.`),
      ),
    ).toEqual({ role: arn });
    expect(
      isIamPropagationError(
        err('AccessDeniedException', `User is not authorized to perform: iam:PassRole on resource: ${arn}`),
      ),
    ).toEqual({ role: arn });
  });
  it('ignores other errors', () => {
    expect(
      isIamPropagationError(err('ValidationException', 'Parameter ScheduleExpression is not valid.')),
    ).toBeUndefined();
    expect(isIamPropagationError(err('ClientException', 'Unable to describe task definition.'))).toBeUndefined();
    expect(isIamPropagationError(err('AccessDenied', 'not authorized to perform: s3:GetObject'))).toBeUndefined();
    expect(isIamPropagationError(undefined)).toBeUndefined();
  });
});

describe('iamRole', () => {
  it('finds nothing on an empty account', async () => {
    for (const r of roles) expect(await iamRole.find(ctx, node(iamRole, K.role(r)), undefined)).toBeUndefined();
  });

  it('creates each role with its trust policy, tags and no managed policy; converged find costs one read', async () => {
    for (const r of roles) await converge(iamRole, K.role(r));
    const exec = fake.iam.roles.get('sample-batch-execution')!;
    expect(exec.tags).toMatchObject({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': 'role/execution' });
    expect(exec.attached.size).toBe(0);
    expect(JSON.parse(exec.trust).Statement[0]).toEqual({
      Effect: 'Allow',
      Principal: { Service: 'ecs-tasks.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'aws:SourceAccount': ACCOUNT },
        ArnLike: { 'aws:SourceArn': `arn:aws:ecs:${REGION}:${ACCOUNT}:*` },
      },
    });
    const events = JSON.parse(fake.iam.roles.get('sample-batch-events')!.trust).Statement[0];
    expect(events.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(events.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': ACCOUNT } });
    expect(records.get(K.role('task'))).toEqual({
      kind: 'iam.role',
      id: 'sample-batch-task',
      arn: `arn:aws:iam::${ACCOUNT}:role/sample-batch-task`,
    });

    fake.core.resetCalls();
    for (const r of roles) {
      const { found, changes } = await findAndDiff(iamRole, K.role(r));
      expect(found!.owned).toBe(true);
      expect(changes).toEqual([]);
    }
    // One read each here (no walk to share it): the account's roles with their policies (lib/iam-roles.ts).
    expect(fake.core.calls.map((c) => c.op)).toEqual(roles.map(() => 'GetAccountAuthorizationDetails'));
  });

  it('finds a role by name and tags when the state is lost, and refuses an untagged same-named role', async () => {
    await converge(iamRole, K.role('task'));
    const { found, changes } = await findAndDiff(iamRole, K.role('task'), null);
    expect(found).toMatchObject({ owned: true, record: { id: 'sample-batch-task' } });
    expect(changes).toEqual([]);

    await iam().send(
      new CreateRoleCommand({ RoleName: 'sample-batch-events', AssumeRolePolicyDocument: '{"Statement":[]}' }),
    );
    expect((await iamRole.find(ctx, node(iamRole, K.role('events')), undefined))!.owned).toBe(false);
  });

  it('detaches a stray managed policy and restores the trust policy', async () => {
    await converge(iamRole, K.role('task'));
    await iam().send(
      new AttachRolePolicyCommand({
        RoleName: 'sample-batch-task',
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3FullAccess',
      }),
    );
    fake.iam.roles.get('sample-batch-task')!.trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    const { changes } = await findAndDiff(iamRole, K.role('task'));
    expect(changes!.map((c) => c.field).sort()).toEqual(['managedPolicies', 'trustPolicy']);
    await converge(iamRole, K.role('task'));
    const role = fake.iam.roles.get('sample-batch-task')!;
    expect(role.attached.size).toBe(0);
    expect(JSON.parse(role.trust).Statement[0].Principal.Service).toBe('ecs-tasks.amazonaws.com');
    expect((await findAndDiff(iamRole, K.role('task'))).changes).toEqual([]);
  });

  it('sets and removes the permissions boundary, and restores a changed tag', async () => {
    await converge(iamRole, K.role('task'));
    const boundary = `arn:aws:iam::${ACCOUNT}:policy/boundary`;
    const cfg = defaultConfig(ACCOUNT);
    // A job's roles carry the job's boundary (inherited from the top-level iam section when parsed).
    cfg.jobs[0]!.iam.permissionsBoundary = boundary;
    const ctx2 = await testCtx(fake, { config: cfg, records });
    expect((await findAndDiff(iamRole, K.role('task'), records.get(K.role('task')), ctx2)).changes).toEqual([
      { field: 'permissionsBoundary', from: undefined, to: boundary },
    ]);
    await converge(iamRole, K.role('task'), ctx2);
    expect(fake.iam.roles.get('sample-batch-task')!.boundary).toBe(boundary);
    fake.iam.roles.get('sample-batch-task')!.tags['batchctl:logical'] = 'other';
    await converge(iamRole, K.role('task'));
    expect(fake.iam.roles.get('sample-batch-task')!.boundary).toBeUndefined();
    expect(fake.iam.roles.get('sample-batch-task')!.tags['batchctl:logical']).toBe('role/task');
  });

  it('refuses a rename as a replacement', async () => {
    await converge(iamRole, K.role('task'));
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.iam.taskRoleName = 'renamed';
    const ctx2 = await testCtx(fake, { config: cfg, records });
    const { changes } = await findAndDiff(iamRole, K.role('task'), records.get(K.role('task')), ctx2);
    expect(changes).toContainEqual({ field: 'name', from: 'sample-batch-task', to: 'renamed', replace: true });
  });

  it('deletes a role even with an inline policy and an attachment left, and again without error', async () => {
    const rec = await converge(iamRole, K.role('task'));
    await iam().send(
      new PutRolePolicyCommand({
        RoleName: rec.id,
        PolicyName: 'x',
        PolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
      }),
    );
    await iam().send(
      new AttachRolePolicyCommand({ RoleName: rec.id, PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }),
    );
    await iamRole.delete(ctx, rec);
    expect(fake.iam.roles.has(rec.id)).toBe(false);
    await expect(iamRole.delete(ctx, rec)).resolves.toBeUndefined();
  });
});

describe('iamRolePolicy', () => {
  beforeEach(async () => {
    for (const r of roles) await converge(iamRole, K.role(r));
    await converge(ecsCluster, K.cluster);
    await converge(taskDefinition, K.taskDefinition);
  });
  const doc = (role: string, name: string) => JSON.parse(fake.iam.roles.get(role)!.inline.get(name)!) as PolicyDocument;

  it('finds nothing before creation, nor when the role is gone', async () => {
    expect(await iamRolePolicy.find(ctx, node(iamRolePolicy, K.rolePolicy('task')), undefined)).toBeUndefined();
    expect(
      await iamRolePolicy.find(ctx, node(iamRolePolicy, K.rolePolicy('task')), {
        kind: 'iam.role-policy',
        id: 'gone:sample-batch-task',
      }),
    ).toBeUndefined();
  });

  it("creates least-privilege documents naming only this stack's resources", async () => {
    for (const r of roles) await converge(iamRolePolicy, K.rolePolicy(r));
    expect(records.get(K.rolePolicy('task'))).toEqual({
      kind: 'iam.role-policy',
      id: 'sample-batch-task:sample-batch-task',
    });

    const exec = doc('sample-batch-execution', 'sample-batch-execution').Statement;
    expect(exec).toContainEqual({
      Sid: 'EcrAuth',
      Effect: 'Allow',
      Action: 'ecr:GetAuthorizationToken',
      Resource: '*',
    });
    expect(exec.find((s) => s.Sid === 'EcrPull')!.Resource).toBe(REPO_ARN);
    expect(exec.find((s) => s.Sid === 'Logs')!.Resource).toEqual([LOGS_ARN, `${LOGS_ARN}:log-stream:*`]);
    expect(exec.find((s) => s.Sid === 'Secret')).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: SECRET_ARN,
    });

    const bucket = `arn:aws:s3:::${ctx.config.bucket.name}`;
    expect(doc('sample-batch-task', 'sample-batch-task').Statement).toEqual([
      { Sid: 'List', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucket },
      { Sid: 'Objects', Effect: 'Allow', Action: ['s3:GetObject'], Resource: `${bucket}/*` },
      // The duplicate-trigger guard's claim, even with read-only bucket access.
      { Sid: 'RunClaims', Effect: 'Allow', Action: 's3:PutObject', Resource: `${bucket}/.batchctl/runs/*` },
    ]);

    const ev = doc('sample-batch-events', 'sample-batch-events').Statement;
    expect(ev.find((s) => s.Sid === 'RunTask')).toMatchObject({
      Resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-batch:*`,
      Condition: { ArnEquals: { 'ecs:cluster': `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/sample-batch` } },
    });
    expect(ev.find((s) => s.Sid === 'PassRoles')!.Resource).toEqual([
      `arn:aws:iam::${ACCOUNT}:role/sample-batch-execution`,
      `arn:aws:iam::${ACCOUNT}:role/sample-batch-task`,
    ]);
    expect(ev.find((s) => s.Sid === 'TagOnRunTask')!.Condition).toEqual({
      StringEquals: { 'ecs:CreateAction': 'RunTask' },
    });
    // No wildcard grants anything but GetAuthorizationToken.
    const all = [...exec, ...ev];
    expect(all.filter((s) => s.Resource === '*').map((s) => s.Action)).toEqual(['ecr:GetAuthorizationToken']);
  });

  it('reads back the URL-encoded document as converged, also when stored in another order and shape', async () => {
    for (const r of roles) await converge(iamRolePolicy, K.rolePolicy(r));
    fake.core.resetCalls();
    for (const r of roles) expect((await findAndDiff(iamRolePolicy, K.rolePolicy(r))).changes).toEqual([]);
    expect(fake.core.count()).toBe(3);
    const d = doc('sample-batch-execution', 'sample-batch-execution');
    const reshaped = {
      Version: d.Version,
      Statement: [...d.Statement].reverse().map((s) => ({ ...s, Action: [s.Action].flat().reverse() })),
    };
    fake.iam.roles.get('sample-batch-execution')!.inline.set('sample-batch-execution', JSON.stringify(reshaped));
    expect((await findAndDiff(iamRolePolicy, K.rolePolicy('execution'))).changes).toEqual([]);
    // Found without a record (state lost): by the role and policy names; owned follows the role.
    expect((await findAndDiff(iamRolePolicy, K.rolePolicy('task'), null)).found!.owned).toBe(true);
  });

  it('converges a changed document (bucket access read-write) and a hand edit', async () => {
    await converge(iamRolePolicy, K.rolePolicy('task'));
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.iam.bucketAccess = 'read-write';
    const ctx2 = await testCtx(fake, { config: cfg, records });
    const { changes } = await findAndDiff(iamRolePolicy, K.rolePolicy('task'), records.get(K.rolePolicy('task')), ctx2);
    expect(changes!.map((c) => c.field)).toEqual(['document']);
    await converge(iamRolePolicy, K.rolePolicy('task'), ctx2);
    expect(doc('sample-batch-task', 'sample-batch-task').Statement[1]!.Action).toEqual([
      's3:DeleteObject',
      's3:GetObject',
      's3:PutObject',
    ]);

    fake.iam.roles
      .get('sample-batch-task')!
      .inline.set(
        'sample-batch-task',
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
      );
    await converge(iamRolePolicy, K.rolePolicy('task'));
    expect(doc('sample-batch-task', 'sample-batch-task').Statement[1]!.Action).toEqual(['s3:GetObject']);
  });

  it("grants the guard's claim only with duplicateGuard on, also next to read-write access", async () => {
    const claim = {
      Sid: 'RunClaims',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: `arn:aws:s3:::${ctx.config.bucket.name}/.batchctl/runs/*`,
    };
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.iam.bucketAccess = 'read-write';
    await converge(iamRolePolicy, K.rolePolicy('task'), await testCtx(fake, { config: cfg, records }));
    expect(doc('sample-batch-task', 'sample-batch-task').Statement).toContainEqual(claim);
    const off = defaultConfig(ACCOUNT);
    off.jobs[0]!.schedule.duplicateGuard = false;
    const ctxOff = await testCtx(fake, { config: off, records });
    expect(
      (await findAndDiff(iamRolePolicy, K.rolePolicy('task'), records.get(K.rolePolicy('task')), ctxOff)).changes!.map(
        (c) => c.field,
      ),
    ).toEqual(['document']);
    await converge(iamRolePolicy, K.rolePolicy('task'), ctxOff);
    expect(doc('sample-batch-task', 'sample-batch-task').Statement.map((st) => st.Sid)).toEqual(['List', 'Objects']);
  });

  it('deletes, and a second delete succeeds', async () => {
    const rec = await converge(iamRolePolicy, K.rolePolicy('events'));
    await iamRolePolicy.delete(ctx, rec);
    expect(fake.iam.roles.get('sample-batch-events')!.inline.size).toBe(0);
    await expect(iamRolePolicy.delete(ctx, rec)).resolves.toBeUndefined();
  });
});

describe('ecsCluster', () => {
  it('finds nothing when missing (DescribeClusters failures, not an error)', async () => {
    expect(await ecsCluster.find(ctx, node(ecsCluster, K.cluster), undefined)).toBeUndefined();
  });

  it('creates with container insights and tags; converged find is one call', async () => {
    const rec = await converge(ecsCluster, K.cluster);
    expect(rec).toEqual({
      kind: 'ecs.cluster',
      id: 'sample-batch',
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/sample-batch`,
    });
    const c = fake.ecs.clusters.get('sample-batch')!;
    expect(c.settings).toEqual([{ name: 'containerInsights', value: 'enabled' }]);
    expect(c.tags).toMatchObject({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': 'cluster' });
    fake.core.resetCalls();
    const { found, changes } = await findAndDiff(ecsCluster, K.cluster);
    expect(found!.owned).toBe(true);
    expect(changes).toEqual([]);
    expect(fake.core.count()).toBe(1);
    expect((await findAndDiff(ecsCluster, K.cluster, null)).found!.owned).toBe(true);
  });

  it('does not own an untagged same-named cluster', async () => {
    await ecs().send(new CreateClusterCommand({ clusterName: 'sample-batch' }));
    expect((await ecsCluster.find(ctx, node(ecsCluster, K.cluster), undefined))!.owned).toBe(false);
  });

  it('updates container insights in place; a rename is a replacement', async () => {
    await converge(ecsCluster, K.cluster);
    const cfg = defaultConfig(ACCOUNT);
    cfg.cluster.containerInsights = false;
    const ctx2 = await testCtx(fake, { config: cfg, records });
    expect((await findAndDiff(ecsCluster, K.cluster, records.get(K.cluster), ctx2)).changes).toEqual([
      { field: 'containerInsights', from: 'enabled', to: 'disabled' },
    ]);
    await converge(ecsCluster, K.cluster, ctx2);
    expect(fake.ecs.clusters.get('sample-batch')!.settings).toEqual([{ name: 'containerInsights', value: 'disabled' }]);
    cfg.cluster.name = 'other';
    expect((await findAndDiff(ecsCluster, K.cluster, records.get(K.cluster), ctx2)).changes).toContainEqual({
      field: 'name',
      from: 'sample-batch',
      to: 'other',
      replace: true,
    });
  });

  it('deletes (INACTIVE counts as absent), and a second delete succeeds', async () => {
    const rec = await converge(ecsCluster, K.cluster);
    await ecsCluster.delete(ctx, rec);
    expect(fake.ecs.clusters.get('sample-batch')!.status).toBe('INACTIVE');
    expect(await ecsCluster.find(ctx, node(ecsCluster, K.cluster), rec)).toBeUndefined();
    await expect(ecsCluster.delete(ctx, rec)).resolves.toBeUndefined();
    // Re-creating an INACTIVE name reactivates it.
    await converge(ecsCluster, K.cluster);
    expect(fake.ecs.clusters.get('sample-batch')!.status).toBe('ACTIVE');
  });
});

describe('taskDefinition', () => {
  beforeEach(async () => {
    await converge(iamRole, K.role('execution'));
    await converge(iamRole, K.role('task'));
  });
  const latest = () => fake.ecs.taskDefs.filter((t) => t.status === 'ACTIVE').at(-1)!;

  it('finds nothing when the family does not exist', async () => {
    expect(await taskDefinition.find(ctx, node(taskDefinition, K.taskDefinition), undefined)).toBeUndefined();
  });

  it("registers the article's definition without a port mapping; read defaults do not show as drift", async () => {
    const rec = await converge(taskDefinition, K.taskDefinition);
    const familyArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-batch`;
    expect(rec).toEqual({
      kind: 'ecs.task-definition',
      id: 'sample-batch',
      arn: `${familyArn}:1`,
      attrs: {
        revision: '1',
        familyArn,
        digest: expect.stringMatching(/^[0-9a-f]{32}$/),
        image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/sample-batch:latest`,
      },
    });
    const td = latest();
    expect(td.tags).toMatchObject({ 'batchctl:logical': 'task-definition' });
    expect(td.input).toMatchObject({
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '2048',
      memory: '8192',
      runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
      executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/sample-batch-execution`,
      taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/sample-batch-task`,
    });
    const c = td.input.containerDefinitions[0];
    expect(c).toMatchObject({
      name: 'batch',
      image: `${REPO_URI}:latest`,
      essential: true,
      command: ['node', 'dist/main.js'],
      secrets: [{ name: 'S3_BUCKET_NAME', valueFrom: `${SECRET_ARN}:S3_BUCKET_NAME::` }],
      logConfiguration: {
        logDriver: 'awslogs',
        options: { 'awslogs-group': '/ecs/SampleBatch', 'awslogs-region': REGION, 'awslogs-stream-prefix': 'ecs' },
      },
    });
    expect(c.portMappings).toBeUndefined();

    fake.core.resetCalls();
    const { found, changes } = await findAndDiff(taskDefinition, K.taskDefinition);
    expect(found!.owned).toBe(true);
    expect(changes).toEqual([]);
    // The recorded revision is still the family's latest and holds what the config asks for (its
    // digest): the family listing says so, with no DescribeTaskDefinition.
    expect(fake.core.calls.map((c) => c.op)).toEqual(['ListTaskDefinitions']);
    // Without a record (or with one from before digests) it is described, tags and all, once the family
    // listing (shared by the walk; here each find lists) shows a revision to describe.
    fake.core.resetCalls();
    expect((await findAndDiff(taskDefinition, K.taskDefinition, null)).found!.owned).toBe(true);
    const { digest: _, ...before } = rec.attrs!;
    expect((await findAndDiff(taskDefinition, K.taskDefinition, { ...rec, attrs: before })).changes).toEqual([]);
    expect(fake.core.calls.map((c) => c.op)).toEqual([
      'ListTaskDefinitions',
      'DescribeTaskDefinition',
      'ListTaskDefinitions',
      'DescribeTaskDefinition',
    ]);
    // A config change, or a revision registered by someone else, is described too.
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.task.cpu = 1024;
    cfg.jobs[0]!.task.memory = 4096;
    fake.core.resetCalls();
    const changed = await findAndDiff(
      taskDefinition,
      K.taskDefinition,
      rec,
      await testCtx(fake, { config: cfg, records }),
    );
    expect(changed.changes!.map((c) => c.field)).toEqual(['cpu', 'memory']);
    expect(fake.core.calls.map((c) => c.op)).toEqual(['ListTaskDefinitions', 'DescribeTaskDefinition']);
  });

  it('does not own a same-named family registered without our tags', async () => {
    await ecs().send(
      new RegisterTaskDefinitionCommand({
        family: 'sample-batch',
        containerDefinitions: [{ name: 'x', image: 'busybox' }],
      }),
    );
    expect((await taskDefinition.find(ctx, node(taskDefinition, K.taskDefinition), undefined))!.owned).toBe(false);
  });

  it('registers a new revision for a content change, keeping the old one ACTIVE', async () => {
    await converge(taskDefinition, K.taskDefinition);
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.task.cpu = 1024;
    cfg.jobs[0]!.task.environment = { B: '2', A: '1' };
    const ctx2 = await testCtx(fake, { config: cfg, records });
    const { changes } = await findAndDiff(taskDefinition, K.taskDefinition, records.get(K.taskDefinition), ctx2);
    expect(changes!.map((c) => c.field)).toEqual(['cpu', 'containerDefinitions.batch.environment']);
    const rec = await converge(taskDefinition, K.taskDefinition, ctx2);
    expect(rec.attrs).toMatchObject({ revision: '2' });
    expect(latest().input.cpu).toBe('1024');
    expect(latest().input.containerDefinitions[0].environment).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(fake.ecs.taskDefs.map((t) => t.status)).toEqual(['ACTIVE', 'ACTIVE']);
    expect((await findAndDiff(taskDefinition, K.taskDefinition, rec, ctx2)).changes).toEqual([]);
  });

  it('fixes a tag on the current revision without registering a new one, once it is described', async () => {
    const rec = await converge(taskDefinition, K.taskDefinition);
    fake.ecs.taskDefs[0]!.tags['batchctl:logical'] = 'x';
    // The family listing vouches for an unchanged revision (see task-definition.ts): a tag changed on it
    // behind batchctl's back is seen when it is next described (a record from before digests here).
    const { digest: _, ...before } = rec.attrs!;
    records.set(K.taskDefinition, { ...rec, attrs: before });
    await converge(taskDefinition, K.taskDefinition);
    expect(fake.ecs.taskDefs).toHaveLength(1);
    expect(fake.ecs.taskDefs[0]!.tags['batchctl:logical']).toBe('task-definition');
  });

  it('treats a family rename as a replacement, and normalises both sides the same way', async () => {
    await converge(taskDefinition, K.taskDefinition);
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.task.family = 'other';
    const ctx2 = await testCtx(fake, { config: cfg, records });
    const found = await taskDefinition.find(
      ctx2,
      node(taskDefinition, K.taskDefinition, cfg),
      records.get(K.taskDefinition),
    );
    expect(
      taskDefinition.diff(
        await taskDefinition.desired(ctx2, node(taskDefinition, K.taskDefinition, cfg)),
        found!.observed,
      ),
    ).toContainEqual({ field: 'family', from: 'sample-batch', to: 'other', replace: true });
    expect(
      canonicalContent({ containerDefinitions: [{ name: 'a', cpu: 0, portMappings: [], essential: true }] }),
    ).toEqual(canonicalContent({ containerDefinitions: [{ name: 'a' }] }));
  });

  it('fails with an error the propagation classifier recognises while a new role is invisible to ECS', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    fake.iam.propagationMs = 10_000;
    await iamRole.delete(ctx, records.get(K.role('task'))!);
    records.delete(K.role('task'));
    await converge(iamRole, K.role('task'));
    const err = await converge(taskDefinition, K.taskDefinition).catch((e: unknown) => e);
    expect(awsErrorCode(err)).toBe('ClientException');
    expect(isIamPropagationError(err)).toEqual({ role: `arn:aws:iam::${ACCOUNT}:role/sample-batch-execution` });
    vi.setSystemTime(Date.now() + 10_000);
    expect((await converge(taskDefinition, K.taskDefinition)).attrs!.revision).toBe('1');
  });

  it('deletes every revision of exactly this family, and again without error', async () => {
    await converge(taskDefinition, K.taskDefinition);
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.task.imageTag = 'v2';
    const rec = await converge(taskDefinition, K.taskDefinition, await testCtx(fake, { config: cfg, records }));
    await ecs().send(
      new RegisterTaskDefinitionCommand({
        family: 'sample-batch-other',
        containerDefinitions: [{ name: 'x', image: 'busybox' }],
      }),
    );
    await taskDefinition.delete(ctx, rec);
    expect(fake.ecs.taskDefs.filter((t) => t.family === 'sample-batch').map((t) => t.status)).toEqual([
      'DELETE_IN_PROGRESS',
      'DELETE_IN_PROGRESS',
    ]);
    expect(fake.ecs.taskDefs.find((t) => t.family === 'sample-batch-other')!.status).toBe('ACTIVE');
    expect(await taskDefinition.find(ctx, node(taskDefinition, K.taskDefinition), rec)).toBeUndefined();
    await expect(taskDefinition.delete(ctx, rec)).resolves.toBeUndefined();
  });
});

describe('eventsRule', () => {
  it('finds nothing when missing', async () => {
    expect(await eventsRule.find(ctx, node(eventsRule, K.rule), undefined)).toBeUndefined();
  });

  it("creates the schedule with tags; converged find is three calls (the stack's rules listed, its tags, its targets)", async () => {
    const rec = await converge(eventsRule, K.rule);
    expect(rec).toEqual({
      kind: 'events.rule',
      id: 'sample-batch',
      arn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/sample-batch`,
    });
    const r = fake.eventBridge.rules.get('sample-batch')!;
    expect(r).toMatchObject({ scheduleExpression: 'cron(30 * * * ? *)', state: 'ENABLED' });
    expect(r.tags).toMatchObject({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': 'schedule-rule' });
    fake.core.resetCalls();
    expect((await findAndDiff(eventsRule, K.rule)).changes).toEqual([]);
    // The listing carries no tags: one more read for ownership and the tag diff; and its targets (one not
    // batchctl's was added behind its back), a listing a walk shares with the rule's target node.
    expect(fake.core.count()).toBe(3);
    expect((await findAndDiff(eventsRule, K.rule, null)).found!.owned).toBe(true);
    // Outside a walk every find lists (in a walk the listing is shared: one for all the stack's rules).
    expect(fake.core.calls.map((c) => c.op)).toEqual([
      'ListRules',
      'ListTagsForResource',
      'ListTargetsByRule',
      'ListRules',
      'ListTagsForResource',
      'ListTargetsByRule',
    ]);
    // A rule not named after the stack is described on its own.
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.schedule.name = 'nightly-lister';
    fake.core.resetCalls();
    expect(
      (await findAndDiff(eventsRule, K.rule, null, await testCtx(fake, { config: cfg, records }))).found,
    ).toBeUndefined();
    expect(fake.core.calls.map((c) => c.op)).toEqual(['DescribeRule']);
  });

  it('does not own an untagged same-named rule', async () => {
    await eb().send(new PutRuleCommand({ Name: 'sample-batch', ScheduleExpression: 'rate(1 hour)' }));
    expect((await eventsRule.find(ctx, node(eventsRule, K.rule), undefined))!.owned).toBe(false);
  });

  it('updates state, schedule and description with PutRule, keeping the tags; a rename is a replacement', async () => {
    await converge(eventsRule, K.rule);
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.schedule.enabled = false;
    cfg.jobs[0]!.schedule.expression = 'rate(2 hours)';
    cfg.jobs[0]!.schedule.description = 'nightly';
    const ctx2 = await testCtx(fake, { config: cfg, records });
    const { changes } = await findAndDiff(eventsRule, K.rule, records.get(K.rule), ctx2);
    expect(changes!.map((c) => c.field)).toEqual(['scheduleExpression', 'state', 'description']);
    await converge(eventsRule, K.rule, ctx2);
    const r = fake.eventBridge.rules.get('sample-batch')!;
    expect(r).toMatchObject({ scheduleExpression: 'rate(2 hours)', state: 'DISABLED', description: 'nightly' });
    expect(r.tags['batchctl:stack']).toBe('sample-batch');
    cfg.jobs[0]!.schedule.name = 'other';
    expect((await findAndDiff(eventsRule, K.rule, records.get(K.rule), ctx2)).changes).toContainEqual({
      field: 'name',
      from: 'sample-batch',
      to: 'other',
      replace: true,
    });
  });

  it('deletes even with a leftover target, and again without error', async () => {
    const rec = await converge(eventsRule, K.rule);
    await eb().send(
      new PutTargetsCommand({
        Rule: 'sample-batch',
        Targets: [{ Id: 'stray', Arn: 'arn:aws:sqs:ap-northeast-1:123456789012:q' }],
      }),
    );
    await eventsRule.delete(ctx, rec);
    expect(fake.eventBridge.rules.size).toBe(0);
    await expect(eventsRule.delete(ctx, rec)).resolves.toBeUndefined();
  });
});

describe('eventsTarget', () => {
  beforeEach(async () => {
    for (const r of roles) await converge(iamRole, K.role(r));
    await converge(ecsCluster, K.cluster);
    await converge(taskDefinition, K.taskDefinition);
    await converge(iamRolePolicy, K.rolePolicy('events'));
    await converge(sqsQueue, K.deadLetterQueue);
    await converge(sqsQueuePolicy, K.deadLetterQueuePolicy);
  });

  it('finds nothing without the rule or without the target', async () => {
    expect(await eventsTarget.find(ctx, node(eventsTarget, K.target), undefined)).toBeUndefined();
    await converge(eventsRule, K.rule);
    expect(await eventsTarget.find(ctx, node(eventsTarget, K.target), undefined)).toBeUndefined();
  });

  it('puts the ECS target on the family ARN with the private network and command override', async () => {
    await converge(eventsRule, K.rule);
    const rec = await converge(eventsTarget, K.target);
    expect(rec).toEqual({ kind: 'events.target', id: 'sample-batch:batch', attrs: { rule: 'sample-batch' } });
    const t = fake.eventBridge.rules.get('sample-batch')!.targets.get('batch')!;
    expect(t).toMatchObject({
      Arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/sample-batch`,
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/sample-batch-events`,
      RetryPolicy: { MaximumEventAgeInSeconds: 1800, MaximumRetryAttempts: 10 },
      EcsParameters: {
        TaskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-batch`,
        TaskCount: 1,
        LaunchType: 'FARGATE',
        PlatformVersion: 'LATEST',
        NetworkConfiguration: {
          awsvpcConfiguration: {
            Subnets: ['subnet-08', 'subnet-09'],
            SecurityGroups: ['sg-0task'],
            AssignPublicIp: 'DISABLED',
          },
        },
        PropagateTags: 'TASK_DEFINITION',
        EnableECSManagedTags: true,
      },
    });
    expect(t.Input).toBeUndefined();
    expect(t.InputTransformer!.InputPathsMap).toEqual({ time: '$.time' });
    expect(JSON.parse(fake.eventBridge.targetInput('sample-batch', 'batch', { time: '2026-11-28T03:30:00Z' }))).toEqual(
      {
        containerOverrides: [
          {
            name: 'batch',
            command: ['node', 'dist/main.js'],
            environment: [{ name: 'BATCH_SCHEDULED_TIME', value: '2026-11-28T03:30:00Z' }],
          },
        ],
      },
    );
    fake.core.resetCalls();
    const { found, changes } = await findAndDiff(eventsTarget, K.target);
    expect(found!.owned).toBe(true);
    expect(changes).toEqual([]);
    expect(fake.core.count()).toBe(1);
    expect((await findAndDiff(eventsTarget, K.target, null)).changes).toEqual([]);
  });

  it('updates a changed command and retry policy; a different rule is a replacement', async () => {
    await converge(eventsRule, K.rule);
    await converge(eventsTarget, K.target);
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.task.command = ['node', 'other.js'];
    cfg.jobs[0]!.schedule.retry.maximumRetryAttempts = 2;
    const ctx2 = await testCtx(fake, { config: cfg, records });
    expect(
      (await findAndDiff(eventsTarget, K.target, records.get(K.target), ctx2)).changes!.map((c) => c.field),
    ).toEqual(['retry', 'inputTransformer']);
    await converge(eventsTarget, K.target, ctx2);
    const t = fake.eventBridge.rules.get('sample-batch')!.targets.get('batch')!;
    expect(
      JSON.parse(fake.eventBridge.targetInput('sample-batch', 'batch', { time: 'x' })).containerOverrides[0].command,
    ).toEqual(['node', 'other.js']);
    expect((await findAndDiff(eventsTarget, K.target, records.get(K.target), ctx2)).changes).toEqual([]);
    expect(t.RetryPolicy!.MaximumRetryAttempts).toBe(2);
    records.set(K.rule, { kind: 'events.rule', id: 'other', arn: 'x' });
    expect((await findAndDiff(eventsTarget, K.target)).changes).toContainEqual({
      field: 'rule',
      from: 'sample-batch',
      to: 'other',
      replace: true,
    });
  });

  it('converges a target created with the old static Input to the input transformer in place', async () => {
    await converge(eventsRule, K.rule);
    const rec = await converge(eventsTarget, K.target);
    const t = fake.eventBridge.rules.get('sample-batch')!.targets.get('batch')!;
    delete t.InputTransformer;
    t.Input = JSON.stringify({ containerOverrides: [{ name: 'batch', command: ['node', 'dist/main.js'] }] });
    const { changes } = await findAndDiff(eventsTarget, K.target, rec);
    expect(changes!.map((c) => [c.field, c.replace ?? false])).toEqual([
      ['input', false],
      ['inputTransformer', false],
    ]);
    await converge(eventsTarget, K.target);
    const after = fake.eventBridge.rules.get('sample-batch')!.targets.get('batch')!;
    expect(after.Input).toBeUndefined();
    expect(after.InputTransformer!.InputPathsMap).toEqual({ time: '$.time' });
    fake.core.resetCalls();
    expect((await findAndDiff(eventsTarget, K.target)).changes).toEqual([]);
    expect(fake.core.count()).toBe(1);
  });

  it('keeps awkward command arguments intact through the template; guard off adds BATCH_DUPLICATE_GUARD', async () => {
    const cfg = defaultConfig(ACCOUNT);
    cfg.jobs[0]!.task.command = ['sh', '-c', 'echo "a\\b" <time> \'x\' && cat </dev/null'];
    cfg.jobs[0]!.schedule.duplicateGuard = false;
    await setup(cfg);
    for (const r of roles) await converge(iamRole, K.role(r));
    await converge(ecsCluster, K.cluster);
    await converge(taskDefinition, K.taskDefinition);
    await converge(iamRolePolicy, K.rolePolicy('events'));
    await converge(sqsQueue, K.deadLetterQueue);
    await converge(eventsRule, K.rule);
    await converge(eventsTarget, K.target);
    const o = JSON.parse(fake.eventBridge.targetInput('sample-batch', 'batch', { time: '2026-01-01T00:00:00Z' }))
      .containerOverrides[0];
    expect(o.command).toEqual(cfg.jobs[0]!.task.command);
    expect(o.environment).toEqual([
      { name: 'BATCH_SCHEDULED_TIME', value: '2026-01-01T00:00:00Z' },
      { name: 'BATCH_DUPLICATE_GUARD', value: 'off' },
    ]);
    expect((await findAndDiff(eventsTarget, K.target)).changes).toEqual([]);
  });

  it('the fake validates transformers like EventBridge: known placeholders, JSON after substitution, one input kind', async () => {
    await converge(eventsRule, K.rule);
    const base = { Id: 'x', Arn: 'arn:aws:sqs:ap-northeast-1:123456789012:q' };
    const put = (t: object) => eb().send(new PutTargetsCommand({ Rule: 'sample-batch', Targets: [{ ...base, ...t }] }));
    await expect(
      put({ InputTransformer: { InputPathsMap: { time: '$.time' }, InputTemplate: '{"t":"<when>"}' } }),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/invalid placeholder when/),
    });
    await expect(
      put({ InputTransformer: { InputPathsMap: { time: '$.time' }, InputTemplate: '{"t":"<time>",}' } }),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/Invalid InputTemplate/) });
    await expect(
      put({ Input: '{}', InputTransformer: { InputPathsMap: {}, InputTemplate: '"a"' } }),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    // A placeholder outside quotes is a JSON value of its own: valid.
    await put({
      InputTransformer: {
        InputPathsMap: { time: '$.time' },
        InputTemplate: '{"t":<time>,"r":"<aws.events.rule-name>"}',
      },
    });
    expect(JSON.parse(fake.eventBridge.targetInput('sample-batch', 'x', { time: 'T' }))).toEqual({
      t: 'T',
      r: 'sample-batch',
    });
  });

  it('turns a failed entry for a not-yet-propagated role into a classifiable error', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    fake.iam.propagationMs = 10_000;
    await iamRole.delete(ctx, records.get(K.role('events'))!);
    records.delete(K.role('events'));
    const role = await converge(iamRole, K.role('events'));
    await converge(eventsRule, K.rule);
    const err = await converge(eventsTarget, K.target).catch((e: unknown) => e);
    expect(awsErrorCode(err)).toBe('ValidationException');
    expect(isIamPropagationError(err)).toEqual({ role: role.arn });
    expect(fake.eventBridge.rules.get('sample-batch')!.targets.size).toBe(0);
    vi.setSystemTime(Date.now() + 10_000);
    await converge(eventsTarget, K.target);
    expect(fake.eventBridge.rules.get('sample-batch')!.targets.size).toBe(1);
  });

  it('deletes, and deleting again or without the rule succeeds', async () => {
    await converge(eventsRule, K.rule);
    const rec = await converge(eventsTarget, K.target);
    await eventsTarget.delete(ctx, rec);
    expect(fake.eventBridge.rules.get('sample-batch')!.targets.size).toBe(0);
    await expect(eventsTarget.delete(ctx, rec)).resolves.toBeUndefined();
    await eventsRule.delete(ctx, records.get(K.rule)!);
    await expect(eventsTarget.delete(ctx, rec)).resolves.toBeUndefined();
  });
});

describe('the whole area', () => {
  it('converges, then a second pass makes no mutating call and at most 2 reads per resource', async () => {
    await convergeAll();
    fake.core.resetCalls();
    await convergeAll();
    expect(fake.core.count({ mutating: true })).toBe(0);
    // Roles and the rule read what was added to them too (their inline policies, its targets).
    expect(fake.core.count()).toBeLessThanOrEqual(2 * 10 + 3);
    const inv = fake.inventory();
    expect(inv.map((e) => `${e.type} ${e.key}`)).toEqual(
      expect.arrayContaining([
        'iam.role role/events',
        'iam.role-policy role/events/sample-batch-events',
        'ecs.cluster cluster',
        'ecs.task-definition task-definition',
        'events.rule schedule-rule',
        'events.target schedule-rule/batch',
      ]),
    );
    const target = inv.find((e) => e.type === 'events.target')!;
    expect(target.settings).toMatchObject({
      arn: '<cluster>',
      roleArn: '<role/events>',
      ecs: { TaskDefinitionArn: '<task-definition>' },
    });
  });

  it('tears down in reverse order', async () => {
    await convergeAll();
    await eventsTarget.delete(ctx, records.get(K.target)!);
    await eventsRule.delete(ctx, records.get(K.rule)!);
    for (const r of roles) await iamRolePolicy.delete(ctx, records.get(K.rolePolicy(r))!);
    await taskDefinition.delete(ctx, records.get(K.taskDefinition)!);
    await ecsCluster.delete(ctx, records.get(K.cluster)!);
    for (const r of roles) await iamRole.delete(ctx, records.get(K.role(r))!);
    expect(fake.iam.inventory()).toEqual([]);
    expect(fake.ecs.inventory()).toEqual([]);
    expect(fake.eventBridge.inventory()).toEqual([]);
  });
});

describe('fake ECS tasks (for run-now)', () => {
  it('runs a task through its states, is idempotent on clientToken, and blocks DeleteCluster while running', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    for (const r of roles) await converge(iamRole, K.role(r));
    await converge(ecsCluster, K.cluster);
    await converge(taskDefinition, K.taskDefinition);
    // ECS pulls the image and reads the secret with the execution role: without its policy (or without the
    // secret) the task could not start.
    await converge(iamRolePolicy, K.rolePolicy('execution'));
    fake.secretsManager.addSecret({
      name: 'sample-batch',
      value: { S3_BUCKET_NAME: 'sample-batch-bucket' },
      arn: SECRET_ARN,
    });
    fake.ecs.taskExitCode = 3;
    const input = {
      cluster: 'sample-batch',
      taskDefinition: 'sample-batch',
      launchType: 'FARGATE' as const,
      clientToken: 'tok',
      networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } },
    };
    const run = await ecs().send(new RunTaskCommand(input));
    const arn = run.tasks![0]!.taskArn!;
    expect(run.tasks![0]!.lastStatus).toBe('PROVISIONING');
    expect((await ecs().send(new RunTaskCommand(input))).tasks![0]!.taskArn).toBe(arn);
    const status = async () =>
      (await ecs().send(new DescribeTasksCommand({ cluster: 'sample-batch', tasks: [arn] }))).tasks![0]!;
    vi.setSystemTime(Date.now() + 15_000);
    expect((await status()).lastStatus).toBe('RUNNING');
    expect(
      (await ecs().send(new ListTasksCommand({ cluster: 'sample-batch', family: 'sample-batch' }))).taskArns,
    ).toEqual([arn]);
    await expect(ecs().send(new DeleteClusterCommand({ cluster: 'sample-batch' }))).rejects.toMatchObject({
      name: 'ClusterContainsTasksException',
    });
    vi.setSystemTime(Date.now() + 30_000);
    expect(await status()).toMatchObject({
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      containers: [{ exitCode: 3 }],
    });

    const second = (await ecs().send(new RunTaskCommand({ ...input, clientToken: 'tok2' }))).tasks![0]!.taskArn!;
    vi.setSystemTime(Date.now() + 20_000);
    await ecs().send(new StopTaskCommand({ cluster: 'sample-batch', task: second }));
    const stopped = await ecs().send(new DescribeTasksCommand({ cluster: 'sample-batch', tasks: [second, 'nope'] }));
    expect(stopped.tasks![0]).toMatchObject({
      lastStatus: 'STOPPED',
      stopCode: 'UserInitiated',
      containers: [{ exitCode: 143 }],
    });
    expect(stopped.failures).toEqual([{ arn: 'nope', reason: 'MISSING' }]);
    await expect(
      ecs().send(new RunTaskCommand({ ...input, clientToken: undefined, cluster: 'missing' })),
    ).rejects.toMatchObject({ name: 'ClusterNotFoundException' });
  });
});
