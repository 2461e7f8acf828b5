/**
 * A stack that cannot run is said before it costs: `plan`, `up` and `status` check each job's image in
 * its repository (one DescribeImages per repository) and, while it is missing, say that scheduled runs
 * will fail until `batchctl push`, with the exact command. Once pushed (the fake ECR holds the image),
 * nothing is said. Images of other repositories (`task.image`) are checked where they live, or skipped
 * with a note when another account's repository cannot be read.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { scratch, type Scratch } from '../helpers/stack.js';
import { captureCli } from '../helpers/cli.js';
import { DEFAULT_CONFIG_PATH } from '../helpers/ctx.js';
import { checkImages } from '../../src/model/image-check.js';

const io = captureCli();
let fake: FakeAws;
beforeEach(() => {
  fake = createFakeAws();
});
afterEach(() => fake.uninstall());

const URI = '123456789012.dkr.ecr.ap-northeast-1.amazonaws.com';
const SHARED = `${URI}/shared/batch:1.4`;
const OTHER_ACCOUNT = '210987654321.dkr.ecr.ap-northeast-1.amazonaws.com/platform/batch-runner:2026.11';

const cli = (s: Scratch, ...args: string[]) => io.run('-c', s.configPath, '--state', s.statePath, ...args);
const text = () => io.out.join('');
const describeImages = () => fake.core.calls.filter((c) => c.op === 'DescribeImages');
const WARNING =
  'warning: image sample-batch:latest is not in repository sample-batch yet: scheduled runs of job sample-batch will fail until you run `batchctl push`';

/** The repository's config with jobs: names derived from the stack, each job its own tag of the repository. */
const base = readFileSync(DEFAULT_CONFIG_PATH, 'utf8')
  .replace('  family: sample-batch\n', '')
  .replace(/^schedule:\n  name: sample-batch\n/m, 'schedule:\n');
const withJobs = (jobs: string) => `${base}\njobs:\n${jobs}`;

describe('one job: the missing image in plan, up and status', () => {
  it('plan on an empty account: the repository does not exist yet, so neither does the image', async () => {
    const s = scratch();
    expect(await cli(s, 'plan')).toBe(0);
    expect(text().trimEnd().split('\n').at(-1)).toBe(
      'warning: image sample-batch:latest does not exist yet (up creates the repository, empty): scheduled runs of job sample-batch will fail until you run `batchctl push` after `batchctl up`',
    );
    // One read of the repository's images, alongside the walk (RepositoryNotFoundException: no more).
    expect(describeImages()).toHaveLength(1);
    expect(await cli(s, '--json', 'plan')).toBe(0);
    expect(JSON.parse(text()).images).toEqual([
      {
        image: `${URI}/sample-batch:latest`,
        short: 'sample-batch:latest',
        jobs: ['sample-batch'],
        registryId: '123456789012',
        repository: 'sample-batch',
        ours: true,
        otherAccount: false,
        state: 'missing',
        noRepository: true,
      },
    ]);
  });

  it('up warns (it must create the repository first) and keeps the warning last, with the next command; no warning once pushed', async () => {
    const s = scratch();
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    const lines = text().trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(/^Done: 43 created, 0 updated, 0 unchanged in /);
    expect(lines.at(-1)).toBe(WARNING);
    // A no-op up: its one summary line, and the warning, still.
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    expect(text().trimEnd().split('\n')).toEqual([expect.stringMatching(/^No changes: stack sample-batch/), WARNING]);
    expect(await cli(s, '--json', 'up', '--yes', '--yes')).toBe(0);
    expect(JSON.parse(text()).images).toMatchObject([{ image: `${URI}/sample-batch:latest`, state: 'missing' }]);

    // `batchctl push` (the fake's repository now holds the image): nothing more to say.
    fake.ecr.addImage('sample-batch', 'latest');
    fake.core.resetCalls();
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    expect(text().trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^No changes: stack sample-batch in ap-northeast-1 \(account 123456789012\) is up to date, 43 resources unchanged in /,
      ),
    ]);
    expect(describeImages()).toHaveLength(1);
    expect(describeImages()[0]!.input).toMatchObject({
      repositoryName: 'sample-batch',
      imageIds: [{ imageTag: 'latest' }],
    });
    expect(await cli(s, 'plan')).toBe(0);
    expect(text()).not.toContain('warning');
  });

  it('status shows the image per job in the jobs table, and says what to run under it', async () => {
    const s = scratch();
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    expect(await cli(s, 'status')).toBe(0);
    expect(text()).toMatch(
      /^ {2}JOB +SCHEDULE +ENABLED +IMAGE +NEXT RUN \(UTC\) +LAST RUN \(UTC\)\n {2}sample-batch +cron\(30 \* \* \* \? \*\) +yes +MISSING +/m,
    );
    expect(text()).toContain(`\n  ${WARNING}\n`);
    expect(await cli(s, '--json', 'status')).toBe(0);
    expect(JSON.parse(text()).jobs[0].image).toMatchObject({ image: `${URI}/sample-batch:latest`, state: 'missing' });

    fake.ecr.addImage('sample-batch', 'latest');
    expect(await cli(s, 'status')).toBe(0);
    expect(text()).toMatch(/^ {2}sample-batch +cron\(30 \* \* \* \? \*\) +yes +pushed +/m);
    expect(text()).not.toContain('warning');
  });

  it('an image by digest is checked by digest (what a task definition pinned to a digest runs)', async () => {
    const s = scratch();
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    const digest = fake.ecr.addImage('sample-batch', 'latest');
    const ecr = new ECRClient({ region: 'ap-northeast-1' });
    const opts = { account: '123456789012', ownRepository: 'sample-batch' };
    const other = `sha256:${'0'.repeat(64)}`;
    const checks = await checkImages(
      ecr,
      [
        { job: 'a', image: `${URI}/sample-batch@${digest}` },
        { job: 'b', image: `${URI}/sample-batch@${other}` },
      ],
      opts,
    );
    expect(checks.map((c) => [c.jobs, c.state, c.short])).toEqual([
      [['a'], 'present', `sample-batch@${digest.slice(0, 19)}`],
      [['b'], 'missing', `sample-batch@${other.slice(0, 19)}`],
    ]);
  });
});

describe('several jobs', () => {
  const JOBS = '  lister: {}\n  report:\n    task: { imageTag: report }\n  cleanup:\n    task: { imageTag: report }\n';

  it('one image missing: only its jobs are named, with `batchctl push <job>`; all images of the repository in one call once pushed', async () => {
    const s = scratch(withJobs(JOBS));
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    // Nothing pushed: `batchctl push` pushes every job's image.
    expect(text()).toContain(
      'warning: image sample-batch:latest is not in repository sample-batch yet: scheduled runs of job lister will fail until you run `batchctl push`\n',
    );
    expect(text()).toContain(
      'warning: image sample-batch:report is not in repository sample-batch yet: scheduled runs of jobs report, cleanup will fail until you run `batchctl push`\n',
    );

    fake.ecr.addImage('sample-batch', 'latest');
    fake.core.resetCalls();
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    const lines = text().trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^No changes: stack sample-batch/),
      'warning: image sample-batch:report is not in repository sample-batch yet: scheduled runs of jobs report, cleanup will fail until you run `batchctl push report`',
    ]);
    // The batch met a missing image (the whole call fails): one listing of the repository tells which.
    expect(describeImages().map((c) => c.input.imageIds?.length ?? 'list')).toEqual([2, 'list']);

    expect(await cli(s, 'status')).toBe(0);
    expect(text()).toMatch(/^ {2}lister +cron\(30 \* \* \* \? \*\) +yes +pushed +/m);
    expect(text()).toMatch(/^ {2}report +cron\(30 \* \* \* \? \*\) +yes +MISSING +/m);
    expect(text()).toMatch(/^ {2}cleanup +cron\(30 \* \* \* \? \*\) +yes +MISSING +/m);
    expect(text()).toContain(
      '\n  warning: image sample-batch:report is not in repository sample-batch yet: scheduled runs of jobs report, cleanup will fail until you run `batchctl push report`\n',
    );

    fake.ecr.addImage('sample-batch', 'report');
    fake.core.resetCalls();
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    expect(text()).not.toContain('warning');
    // Both tags in one call, for three jobs.
    expect(describeImages().map((c) => c.input.imageIds)).toEqual([[{ imageTag: 'latest' }, { imageTag: 'report' }]]);
  });

  it('more than 100 images in one repository: 100 per call', async () => {
    const s = scratch();
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    const refs = Array.from({ length: 101 }, (_, i) => ({ job: `job-${i}`, image: `${URI}/sample-batch:t${i}` }));
    for (let i = 0; i < 101; i++) fake.ecr.addImage('sample-batch', `t${i}`);
    fake.core.resetCalls();
    const checks = await checkImages(new ECRClient({ region: 'ap-northeast-1' }), refs, {
      account: '123456789012',
      ownRepository: 'sample-batch',
    });
    expect(checks.every((c) => c.state === 'present')).toBe(true);
    expect(describeImages().map((c) => c.input.imageIds.length)).toEqual([100, 1]);
  });
});

describe('images of other repositories (task.image)', () => {
  it('another repository of this account: checked there; `batchctl push` is not the way to fill it', async () => {
    const s = scratch(withJobs(`  lister: {}\n  runner:\n    task: { image: '${SHARED}' }\n`));
    await new ECRClient({ region: 'ap-northeast-1' }).send(
      new CreateRepositoryCommand({ repositoryName: 'shared/batch' }),
    );
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    fake.ecr.addImage('sample-batch', 'latest');
    expect(await cli(s, 'plan')).toBe(0);
    expect(text()).toContain(
      "warning: image shared/batch:1.4 is not in repository shared/batch: scheduled runs of job runner will fail until it is pushed there (task.image: `batchctl push` builds only the stack's repository)\n",
    );
    fake.ecr.addImage('shared/batch', '1.4');
    expect(await cli(s, 'plan')).toBe(0);
    expect(text()).not.toContain('warning');
  });

  it('another account: checked when its repository policy lets this account read it, else not checked, with a note', async () => {
    const s = scratch(
      withJobs(`  lister: {}\n  runner:\n    task: { image: '${OTHER_ACCOUNT}', crossAccountImage: true }\n`),
    );
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    fake.ecr.addImage('sample-batch', 'latest');
    expect(await cli(s, 'up', '--yes', '--yes')).toBe(0);
    expect(text().trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^No changes: /),
      'warning: image platform/batch-runner:2026.11 (job runner) not checked: this identity may not read repository platform/batch-runner of account 210987654321 (AccessDeniedException: ecr:DescribeImages)',
    ]);
    expect(await cli(s, 'status')).toBe(0);
    expect(text()).toMatch(/^ {2}runner +cron\(30 \* \* \* \? \*\) +yes +not checked +/m);
    // Asked of that account's registry.
    expect(describeImages().map((c) => c.input.registryId)).toContain('210987654321');

    fake.ecr.addForeignRepository('210987654321', 'platform/batch-runner', { readable: true });
    expect(await cli(s, 'plan')).toBe(0);
    expect(text()).toContain(
      'warning: image platform/batch-runner:2026.11 is not in repository platform/batch-runner of account 210987654321: scheduled runs of job runner will fail until it is pushed there',
    );
    fake.ecr.addImage('210987654321/platform/batch-runner', '2026.11');
    expect(await cli(s, 'status')).toBe(0);
    expect(text()).toMatch(/^ {2}runner +cron\(30 \* \* \* \? \*\) +yes +pushed +/m);
    expect(text()).not.toContain('warning');
  });
});
