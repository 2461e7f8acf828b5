/**
 * `deploy` and `rollback` (jobs with `task.imagePin: digest`). `deploy` resolves a tag to the digest it
 * points at in ECR now and registers a task definition revision naming the image by that digest, so
 * every scheduled run uses exactly that image until the next deploy; `rollback` registers a revision
 * with the image deployed before. The revisions are the record of what was deployed: each keeps its
 * image, `up` keeps the deployed image when it registers a revision for another change (a cpu change),
 * and a rollback is a new revision too, so the history stays linear.
 */
import type { JobConfig } from '../config/schema.js';
import {
  canonicalContent,
  describeRevision,
  revisions,
  taskDefinition,
  type TaskDefContent,
} from '../resources/task-definition.js';
import {
  byDigest,
  checkPinned,
  configuredImage,
  configuredTag,
  containerImage,
  describeImage,
  parseRef,
  recentTags,
  tagDigest,
} from '../model/images.js';
import { K, jobKey } from '../model/keys.js';
import { managedTags, ownershipOf } from '../resources/lib/tags.js';
import { buildContext } from '../engine/context.js';
import { asStepError } from '../engine/engine.js';
import { UserError } from '../base/errors.js';
import { jobsOf, pickJob } from '../model/job-select.js';
import { openStack, type OpenStack, type StackOptions } from '../engine/stack.js';
import type { Ctx } from '../engine/types.js';

/** Options of `deploy`. */
export interface DeployOptions extends StackOptions {
  /** One job; left out, every job of the stack (each its own tag). */
  job?: string;
  /** The tag to deploy (default: the job's `task.imageTag`, or the tag in its `task.image`). */
  tag?: string;
  /** Deploy exactly this digest (`sha256:...`) of the job's repository instead of a tag's. */
  digest?: string;
  /**
   * `push --deploy`: the images just pushed, each with the digest the registry reported for the jobs
   * that run it (no lookup: it is the image docker uploaded).
   */
  pushed?: { jobs: string[]; tag: string; digest: string }[];
}

/** What `deploy` or `rollback` did to one job. */
export interface DeployResult {
  job: string;
  family: string;
  /** The image the job ran before. */
  from: string;
  /** The image it runs now. */
  to: string;
  /** The tag deployed (absent for a digest or a rollback). */
  tag?: string;
  /** `unchanged`: the job already ran that image, no revision was registered. */
  outcome: 'deployed' | 'rolled back' | 'unchanged';
  /** The revision registered (its ARN). */
  revision?: string;
}

/** The outcome of `deploy` or `rollback`. */
export interface DeployReport {
  stack: string;
  region: string;
  account: string;
  results: DeployResult[];
}

/** A job's live revision: its family's latest ACTIVE one, ours, with the image it runs. */
interface Live {
  td: NonNullable<Awaited<ReturnType<typeof describeRevision>>>;
  image: string;
  /** The repository the config names for the job (its images are resolved there). */
  repository: string;
}

/** The job's live revision; a UserError when `up` has not registered one, or it is not this stack's. */
async function liveRevision(ctx: Ctx, job: JobConfig): Promise<Live> {
  const got = await describeRevision(ctx, job.task.family);
  if (!got)
    throw new UserError(
      `job ${job.name} has no task definition yet (family ${job.task.family})`,
      'run `batchctl up` first: it registers one',
    );
  if (!ownershipOf(ctx, got.tags).owned)
    throw new UserError(
      `task definition family ${job.task.family} (job ${job.name}) is not this stack's: batchctl never touches it`,
      'give the job a family of its own (task.family)',
    );
  const image = containerImage(got.td, job.task.containerName) ?? '';
  const repository = parseRef(configuredImage(ctx, job)).repository;
  if (parseRef(image).repository !== repository) {
    throw new UserError(
      `job ${job.name} runs ${image}, not an image of ${repository}, which the config names now`,
      'run `batchctl up` first: it moves the job to that repository (and lets the execution role pull from it)',
    );
  }
  return { td: got, image, repository };
}

/**
 * Register a revision of the live one with only the image changed (RegisterTaskDefinition takes no
 * idempotency token: the kind's create sends it once and, after a lost answer, adopts the revision that
 * shows up with exactly this content). The state's record follows: this command holds the lock.
 */
async function register(stack: OpenStack, ctx: Ctx, job: JobConfig, live: Live, image: string): Promise<string> {
  const content = canonicalContent(live.td.td) as TaskDefContent & {
    containerDefinitions: { name?: string; image?: string }[];
  };
  content.containerDefinitions = content.containerDefinitions.map((c) =>
    c.name === job.task.containerName ? { ...c, image } : c,
  );
  const key = jobKey(job, K.taskDefinition);
  let rec;
  try {
    rec = await taskDefinition.create(
      ctx,
      { key, deps: [], params: { job: job.name } },
      { family: job.task.family, content, tags: managedTags(ctx, live.td.tags) },
    );
  } catch (err) {
    throw asStepError(key, 'create', err);
  }
  stack.state.put(key, rec);
  await stack.state.save();
  return rec.arn ?? '';
}

/** Open the stack with the lock (`up` must not register a revision meanwhile), then act on each job. */
async function withJobs(
  opts: StackOptions,
  command: string,
  pick: (stack: OpenStack) => JobConfig[],
  act: (stack: OpenStack, ctx: Ctx, job: JobConfig) => Promise<DeployResult>,
): Promise<DeployReport> {
  const stack = await openStack(opts, ['ecs', 'ecr', 'sts'], command);
  try {
    const jobs = pick(stack);
    checkPinned(jobs);
    const ctxFor = () =>
      buildContext({
        config: stack.config,
        aws: stack.aws,
        account: stack.account,
        partition: stack.partition,
        reporter: opts.reporter,
        clock: opts.clock,
        records: stack.state.records(),
        previousTagKeys: stack.state.tagKeys(),
      });
    const results = await Promise.all(jobs.map((job) => act(stack, ctxFor(), job)));
    return { stack: stack.config.stack, region: stack.config.region, account: stack.account, results };
  } finally {
    await stack.close();
  }
}

/** The digest to deploy for a job: the one pushed, the one named (checked), or the tag's now. */
async function digestToDeploy(
  ctx: Ctx,
  job: JobConfig,
  live: Live,
  opts: DeployOptions,
): Promise<{ digest: string; tag?: string }> {
  const pushed = opts.pushed?.find((p) => p.jobs.includes(job.name));
  if (pushed) return { digest: pushed.digest, tag: pushed.tag };
  if (opts.digest) {
    if (!(await describeImage(ctx.aws.ecr, live.repository, { imageDigest: opts.digest }))) {
      throw new UserError(
        `no image ${opts.digest} in ${live.repository}`,
        'pass the digest `batchctl push` printed, or deploy a tag (--tag)',
        await tagLines(ctx, live.repository),
      );
    }
    return { digest: opts.digest };
  }
  const tag = opts.tag ?? configuredTag(job)!;
  const digest = await tagDigest(ctx.aws.ecr, live.repository, tag);
  if (!digest) {
    const lines = await tagLines(ctx, live.repository);
    throw new UserError(
      `no image tagged ${tag} in ${live.repository}${lines.length ? '' : ' (the repository has no tagged image)'}`,
      lines.length
        ? 'deploy one of these tags (--tag), or push that tag first: batchctl push'
        : 'push the image first: batchctl push (or push --deploy)',
      lines,
    );
  }
  return { digest, tag };
}

/** The repository's newest tags, as lines for an error. */
async function tagLines(ctx: Ctx, repository: string): Promise<string[]> {
  const tags = await recentTags(ctx.aws.ecr, repository);
  if (!tags.length) return [];
  return [
    'recent tags (newest first):',
    ...tags.map(
      (t) =>
        `  ${t.tag.padEnd(24)} ${t.digest?.slice(0, 19) ?? ''}  pushed ${t.pushedAt?.toISOString().replace(/\.\d{3}Z$/, 'Z') ?? '?'}`,
    ),
  ];
}

/**
 * `batchctl deploy [job] [--tag T | --digest D]`: resolve the tag to its digest and register a revision
 * naming the image by it, only when it differs from the image the job runs.
 */
export async function runDeploy(opts: DeployOptions): Promise<DeployReport> {
  if (opts.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(opts.digest)) {
    throw new UserError(
      `--digest ${opts.digest} is not an image digest`,
      'a digest is sha256: and 64 hex digits, as `batchctl push` and `batchctl status` print it',
    );
  }
  if (opts.digest !== undefined && opts.tag !== undefined)
    throw new UserError('--tag and --digest both name the image to deploy: pass one of them');
  return withJobs(
    opts,
    'batchctl deploy',
    (stack) => {
      const jobs = opts.pushed
        ? stack.config.jobs.filter((j) => opts.pushed!.some((p) => p.jobs.includes(j.name)))
        : jobsOf(stack.config, opts.job);
      if ((opts.tag !== undefined || opts.digest !== undefined) && jobs.length > 1) {
        throw new UserError(
          `${opts.digest !== undefined ? '--digest' : '--tag'} names one image, and stack ${stack.config.stack} has ${jobs.length} jobs`,
          `name the job: batchctl deploy <job> ${opts.digest !== undefined ? `--digest ${opts.digest}` : `--tag ${opts.tag}`}`,
        );
      }
      return jobs;
    },
    async (stack, ctx, job) => {
      const live = await liveRevision(ctx, job);
      const { digest, tag } = await digestToDeploy(ctx, job, live, opts);
      const image = byDigest(live.repository, digest);
      const base = { job: job.name, family: job.task.family, from: live.image, to: image, ...(tag ? { tag } : {}) };
      if (image === live.image) return { ...base, outcome: 'unchanged' };
      return { ...base, outcome: 'deployed', revision: await register(stack, ctx, job, live, image) };
    },
  );
}

/**
 * `batchctl rollback [job]`: register a revision with the previous deployed image: the image of the
 * latest earlier revision (ours, ACTIVE) whose image is pinned and differs from the current one. Twice
 * in a row returns to where it started; `deploy --digest` reaches further back.
 */
export async function runRollback(opts: StackOptions & { job?: string }): Promise<DeployReport> {
  return withJobs(
    opts,
    'batchctl rollback',
    (stack) => [pickJob(stack.config, opts.job, 'batchctl rollback <job>')],
    async (stack, ctx, job) => {
      const live = await liveRevision(ctx, job);
      const revisionOf = (arn: string) => Number(/:(\d+)$/.exec(arn)?.[1] ?? 0);
      const older = (await revisions(ctx, job.task.family, 'ACTIVE'))
        .filter((arn) => revisionOf(arn) < (live.td.td.revision ?? 0))
        .sort((a, b) => revisionOf(b) - revisionOf(a));
      let previous: string | undefined;
      // Newest first, stopping at the first that differs: usually one or two revisions back.
      for (const arn of older) {
        const rev = await describeRevision(ctx, arn);
        if (!rev || !ownershipOf(ctx, rev.tags).owned) continue;
        const image = containerImage(rev.td, job.task.containerName);
        if (image && image !== live.image && parseRef(image).digest) {
          previous = image;
          break;
        }
      }
      if (!previous) {
        throw new UserError(
          `job ${job.name} has no earlier deployed image: every revision of ${job.task.family} runs ${live.image} (or names its image by tag)`,
          'deploy the image you want by tag or digest: batchctl deploy --tag <tag> (or --digest sha256:...)',
        );
      }
      const ref = parseRef(previous);
      if (ref.repository !== live.repository) {
        throw new UserError(
          `the previous image of job ${job.name}, ${previous}, is in another repository than the config names now (${live.repository})`,
          'deploy an image of that repository instead: batchctl deploy --tag <tag>',
        );
      }
      // A lifecycle rule (or a person) may have deleted it since: a revision naming it could never start.
      if (!(await describeImage(ctx.aws.ecr, ref.repository, { imageDigest: ref.digest! }))) {
        throw new UserError(
          `the previous image of job ${job.name}, ${previous}, is no longer in ${ref.repository}`,
          'deploy another image by tag or digest: batchctl deploy --tag <tag>',
          await tagLines(ctx, ref.repository),
        );
      }
      return {
        job: job.name,
        family: job.task.family,
        from: live.image,
        to: previous,
        outcome: 'rolled back',
        revision: await register(stack, ctx, job, live, previous),
      };
    },
  );
}
