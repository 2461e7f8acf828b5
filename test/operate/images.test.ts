/**
 * `task.image` outside the stack's repository: the execution role may pull exactly the image's own
 * repository (else every run fails with CannotPullContainerError); an image in another account is a
 * config error until `task.crossAccountImage` says that account's repository policy grants the pull.
 * The fake ECS refuses a pull the execution role's policy (or another account's policy) does not allow.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { DescribeTasksCommand, ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, upOn, type Scratch } from '../helpers/stack.js';
import { ConfigError } from '../../src/base/errors.js';

let fake: FakeAws;
afterEach(() => {
  fake?.uninstall();
  vi.useRealTimers();
});

const SHARED = '123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/shared/batch:1.4';
const OTHER_ACCOUNT = '210987654321.dkr.ecr.ap-northeast-1.amazonaws.com/platform/batch-runner:2026.11';
const OTHER_REPO_ARN = 'arn:aws:ecr:ap-northeast-1:210987654321:repository/platform/batch-runner';

const withImage =
  (image: string, extra = '') =>
  (t: string) =>
    t.replace('  imageTag: latest\n', `  imageTag: latest\n  image: ${image}\n${extra}`);

function executionPolicy() {
  const role = fake.iam.roles.get('sample-batch-execution')!;
  return JSON.parse([...role.inline.values()][0]!) as { Statement: { Sid: string; Resource: unknown }[] };
}
const pullResource = () => executionPolicy().Statement.find((x) => x.Sid === 'EcrPull')!.Resource;

/** Start the family's task the way the schedule does and let it run to the end. */
async function runOnce(s: Scratch) {
  const state = JSON.parse(readFileSync(s.statePath, 'utf8')).resources;
  const ecs = new ECSClient({ region: 'ap-northeast-1' });
  vi.useFakeTimers({ toFake: ['Date'] });
  const out = await ecs.send(
    new RunTaskCommand({
      cluster: 'sample-batch',
      taskDefinition: 'sample-batch',
      launchType: 'FARGATE',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: [state['subnet/batch/ap-northeast-1a'].id],
          securityGroups: [state['security-group/task'].id],
        },
      },
    }),
  );
  vi.setSystemTime(Date.now() + 3_600_000);
  const t = (await ecs.send(new DescribeTasksCommand({ cluster: 'sample-batch', tasks: [out.tasks![0]!.taskArn!] })))
    .tasks![0]!;
  vi.useRealTimers();
  return { stopCode: t.stopCode, exitCode: t.containers?.[0]?.exitCode, reason: t.stoppedReason };
}

describe('images from other repositories', () => {
  it('another repository of this account: the execution role may pull that repository, and the task starts', async () => {
    fake = createFakeAws();
    const s = scratch();
    s.editConfig(withImage(SHARED));
    await upOn(s);
    expect(pullResource()).toBe('arn:aws:ecr:ap-northeast-1:123456789012:repository/shared/batch');
    const td = fake.ecs.taskDefs.at(-1)!;
    expect(td.input.containerDefinitions[0].image).toBe(SHARED);
    expect(await runOnce(s)).toMatchObject({ stopCode: 'EssentialContainerExited', exitCode: 0 });

    // What happened before: a role that may pull only the stack's own repository cannot pull this image.
    const doc = executionPolicy();
    doc.Statement.find((x) => x.Sid === 'EcrPull')!.Resource =
      'arn:aws:ecr:ap-northeast-1:123456789012:repository/sample-batch';
    await new IAMClient({ region: 'ap-northeast-1' }).send(
      new PutRolePolicyCommand({
        RoleName: 'sample-batch-execution',
        PolicyName: 'sample-batch-execution',
        PolicyDocument: JSON.stringify(doc),
      }),
    );
    expect(await runOnce(s)).toMatchObject({
      stopCode: 'TaskFailedToStart',
      exitCode: undefined,
      reason: expect.stringMatching(/^CannotPullContainerError: .*403 Forbidden/),
    });
    // `up` puts the right repository back.
    await upOn(s);
    expect(pullResource()).toBe('arn:aws:ecr:ap-northeast-1:123456789012:repository/shared/batch');
  });

  it("back to the stack's repository: the grant follows the image", async () => {
    fake = createFakeAws();
    const s = scratch();
    s.editConfig(withImage(SHARED));
    await upOn(s);
    s.editConfig((t) => t.replace(`  image: ${SHARED}\n`, ''));
    const report = await upOn(s);
    expect(
      report.reporter.events
        .filter((e) => e.action === 'updated')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['role-policy/execution', 'task-definition']);
    expect(pullResource()).toBe('arn:aws:ecr:ap-northeast-1:123456789012:repository/sample-batch');
  });

  it('another account without task.crossAccountImage: refused before any write, pointing at task.image', async () => {
    fake = createFakeAws();
    const s = scratch();
    s.editConfig(withImage(OTHER_ACCOUNT));
    const err = (await upOn(s).then(
      () => undefined,
      (e: unknown) => e,
    )) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    const line =
      readFileSync(s.configPath, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes(OTHER_ACCOUNT)) + 1;
    expect(err.details).toEqual([
      `${s.configPath}:${line}:10  task.image  ${OTHER_ACCOUNT} is in account 210987654321, not this one (123456789012): the task can pull it only if that repository's policy lets this account or the execution role pull (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability); once it does, set task.crossAccountImage: true`,
    ]);
    expect(fake.core.mutatingCalls()).toEqual([]);
  });

  it("another account with task.crossAccountImage: the role may pull that repository; the run needs the other side's policy", async () => {
    fake = createFakeAws();
    const s = scratch();
    s.editConfig(withImage(OTHER_ACCOUNT, '  crossAccountImage: true\n'));
    await upOn(s);
    expect(pullResource()).toBe(OTHER_REPO_ARN);
    // The other account's repository policy does not grant us yet: exactly what the setting confirms.
    expect(await runOnce(s)).toMatchObject({
      stopCode: 'TaskFailedToStart',
      reason: expect.stringMatching(/^CannotPullContainerError/),
    });
    fake.ecs.crossAccountPullGrants.add(OTHER_REPO_ARN);
    expect(await runOnce(s)).toMatchObject({ stopCode: 'EssentialContainerExited', exitCode: 0 });
  });

  it("jobs: a job with an image of its own adds its repository to the shared execution role's pull; another account's is refused at that job", async () => {
    fake = createFakeAws();
    const s = scratch();
    s.editConfig((t) => `${t}\njobs:\n  lister: { original: true }\n  runner:\n    task: { image: '${SHARED}' }\n`);
    await upOn(s);
    // The execution role is shared: it may pull both jobs' repositories, and nothing else.
    expect(pullResource()).toEqual([
      'arn:aws:ecr:ap-northeast-1:123456789012:repository/sample-batch',
      'arn:aws:ecr:ap-northeast-1:123456789012:repository/shared/batch',
    ]);
    expect(fake.ecs.taskDefs.find((t) => t.family === 'sample-batch-runner')!.input.containerDefinitions[0].image).toBe(
      SHARED,
    );
    s.editConfig((t) => t.replace(`image: '${SHARED}'`, `image: '${OTHER_ACCOUNT}'`));
    fake.core.resetCalls();
    const err = (await upOn(s).then(
      () => undefined,
      (e: unknown) => e,
    )) as ConfigError;
    const line =
      readFileSync(s.configPath, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes(OTHER_ACCOUNT)) + 1;
    expect(err.details).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${s.configPath}:${line}:\\d+  jobs\\.runner\\.task\\.image  ${OTHER_ACCOUNT} is in account 210987654321`,
        ),
      ),
    ]);
    expect(fake.core.mutatingCalls()).toEqual([]);
  });
});
