/**
 * `batchctl push`: build the job image with the local docker, log in to the stack's ECR repository and
 * push. Only ECR (and STS through openStack) is called; the state is read without taking the lock, as
 * pushing changes no resource.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DescribeRepositoriesCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { DockerStepError, UserError, awsErrorCode } from '../base/errors.js';
import { openStack, type StackOptions } from '../engine/stack.js';
import { K } from '../model/keys.js';
import type { StackConfig } from '../config/schema.js';
import { findJob } from '../model/job-select.js';
import { checkPinned } from '../model/images.js';
import type { DeployResult } from './deploy.js';

/** What `push` takes besides the stack options. */
export interface PushOptions extends StackOptions {
  /** One job's image; left out, every job's (each distinct image once). */
  job?: string;
  /** Build context (default: the job's `task.build.context`, else the `batch/` folder next to the config file). */
  context?: string;
  /** Image tag (default: the job's `task.imageTag`). */
  tag?: string;
  /** Dockerfile path (default: the job's `task.build.dockerfile`, else docker's own, `<context>/Dockerfile`). */
  dockerfile?: string;
  /** The docker executable (default: `docker` from PATH). */
  docker?: string;
  /** Where docker's build and push output goes as it arrives (default: stderr). */
  output?: (text: string) => void;
  /** Then deploy each image by the digest the registry reported, to the jobs that run it (releases/deploy.ts). */
  deploy?: boolean;
}

/** One image pushed. */
export interface PushedImage {
  /** The jobs that run it. */
  jobs: string[];
  /** `<repository uri>:<tag>`. */
  image: string;
  /** `sha256:...`, as the registry reported it. */
  digest: string;
}

/** What was pushed: one image per distinct build of the jobs pushed. */
export interface PushResult {
  images: PushedImage[];
  /** With `deploy`: what each job runs now. */
  deployed?: DeployResult[];
}

/** The next step after a failed docker step, from docker's own words. */
export function dockerHint(step: string, output: string): string {
  if (
    /Cannot connect to the Docker daemon|Is the docker daemon running|docker\.sock|error during connect/i.test(output)
  ) {
    return 'the Docker daemon is not running: start Docker (Docker Desktop, or `sudo systemctl start docker`), check with `docker version`, then run `batchctl push` again';
  }
  if (/permission denied.*docker|connect: permission denied/i.test(output)) {
    return 'this user may not use the Docker daemon: add it to the docker group (or use rootless Docker), then run `batchctl push` again';
  }
  if (step === 'push' && /denied|unauthorized|no basic auth|authorization/i.test(output)) {
    return 'ECR refused the push: check that this identity may push to the repository (`batchctl policy --for push`), then run `batchctl push` again';
  }
  return `docker's own output above says why the ${step} failed: fix that, then run \`batchctl push\` again (\`docker version\` checks that docker works)`;
}

/**
 * ECR's Docker platform for the task's CPU architecture: a build on an ARM laptop must not ship arm64 to X86_64
 * Fargate.
 */
const PLATFORM = { X86_64: 'linux/amd64', ARM64: 'linux/arm64' } as const;

/** One image to build: where from, for which architecture, under which tag, and the jobs that run it. */
interface Build {
  jobs: string[];
  context: string;
  dockerfile?: string;
  tag: string;
  arch: 'X86_64' | 'ARM64';
}

/**
 * The images to push: the named job's, or every job's that runs the stack's repository (a job with
 * `task.image` runs an image pushed elsewhere). Jobs building the same thing under the same tag share
 * one build; `validate` guarantees that different builds have different tags.
 */
function buildsOf(config: StackConfig, opts: PushOptions): Build[] {
  const base = dirname(resolve(opts.configPath));
  const named = opts.job === undefined ? undefined : findJob(config, opts.job);
  if (named?.task.image) {
    throw new UserError(
      `job ${named.name} runs ${named.task.image} (task.image), not an image of the stack's repository`,
      "push that image where it lives; `batchctl push` builds the jobs that run the stack's repository",
    );
  }
  const jobs = named ? [named] : config.jobs.filter((j) => !j.task.image);
  const builds = new Map<string, Build>();
  for (const j of jobs) {
    const context = resolve(
      opts.context ?? (j.task.build?.context ? resolve(base, j.task.build.context) : join(base, 'batch')),
    );
    const dockerfile =
      opts.dockerfile ?? (j.task.build?.dockerfile ? resolve(base, j.task.build.dockerfile) : undefined);
    const b: Build = {
      jobs: [j.name],
      context,
      dockerfile,
      tag: opts.tag ?? j.task.imageTag,
      arch: j.task.cpuArchitecture,
    };
    const key = JSON.stringify([b.context, b.dockerfile, b.tag, b.arch]);
    const same = builds.get(key);
    if (same) same.jobs.push(j.name);
    else builds.set(key, b);
  }
  if (!builds.size)
    throw new UserError(
      `no job of stack ${config.stack} runs an image of its repository: every job sets task.image`,
      'push those images where they live',
    );
  if (opts.tag !== undefined && builds.size > 1) {
    throw new UserError(
      `--tag names one image, and the jobs build ${builds.size}`,
      `name the job: batchctl push <job> --tag ${opts.tag}`,
    );
  }
  for (const b of builds.values()) {
    if (!existsSync(b.context) || !statSync(b.context).isDirectory()) {
      throw new UserError(
        `build context ${b.context} (job${b.jobs.length > 1 ? 's' : ''} ${b.jobs.join(', ')}) is not a directory`,
        'pass the job folder with --context DIR, or set task.build.context',
      );
    }
    if (b.dockerfile && !existsSync(b.dockerfile)) throw new UserError(`Dockerfile ${b.dockerfile} does not exist`);
  }
  return [...builds.values()];
}

/** Build, log in, tag and push the jobs' images to the stack's repository; with `deploy`, deploy them. */
export async function runPush(opts: PushOptions): Promise<PushResult> {
  const pushed = await pushImages(opts);
  if (!opts.deploy) return pushed;
  const { runDeploy } = await import('./deploy.js');
  const report = await runDeploy({
    ...opts,
    job: undefined,
    pushed: pushed.images.map((i) => ({
      jobs: i.jobs,
      tag: i.image.slice(i.image.lastIndexOf(':') + 1),
      digest: i.digest,
    })),
  });
  return { ...pushed, deployed: report.results };
}

async function pushImages(opts: PushOptions): Promise<PushResult> {
  const stack = await openStack(opts, ['ecr', 'sts']);
  try {
    const { config, aws } = stack;
    const builds = buildsOf(config, opts);
    // Refused before any docker work: a job whose image is named by tag cannot take a deployed digest.
    if (opts.deploy) checkPinned(config.jobs.filter((j) => builds.some((b) => b.jobs.includes(j.name))));

    const name = stack.state.get(K.repository)?.id ?? config.repository.name;
    let uri: string | undefined;
    try {
      uri = (await aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0]
        ?.repositoryUri;
    } catch (err) {
      if (awsErrorCode(err) !== 'RepositoryNotFoundException') throw err;
    }
    if (!uri)
      throw new UserError(
        `the ECR repository ${name} does not exist`,
        'run batchctl up first: it creates the repository',
      );

    const auth = (await aws.ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    const decoded = Buffer.from(auth?.authorizationToken ?? '', 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    if (sep < 0) throw new Error('ECR GetAuthorizationToken returned no usable token');
    const password = decoded.slice(sep + 1);
    // Both the password and the token that encodes it would let anyone push for 12 hours.
    const secrets = [password, auth!.authorizationToken!];
    const run = (step: string, args: string[], stdin?: string) =>
      runDocker(opts.docker ?? 'docker', step, args, {
        stdin,
        secrets,
        output: opts.output ?? ((t) => process.stderr.write(t)),
      });

    const tagged = builds.map((b) => ({ b, image: `${uri}:${b.tag}` }));
    // Every image built before the login: a build that fails has not cost a login.
    for (const { b, image } of tagged) {
      await run('build', [
        'build',
        '--platform',
        PLATFORM[b.arch],
        ...(b.dockerfile ? ['-f', b.dockerfile] : []),
        '-t',
        image,
        b.context,
      ]);
    }
    // The registry host, not the repository URI: docker keys credentials by host. Once for every image.
    await run('login', ['login', '--username', 'AWS', '--password-stdin', uri.split('/')[0]!], password);
    const images: PushedImage[] = [];
    for (const { b, image } of tagged) {
      const out = await run('push', ['push', image]);
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
      if (!digest) throw new Error(`docker push finished but reported no digest for ${image}`);
      images.push({ jobs: b.jobs, image, digest });
    }
    return { images };
  } finally {
    await stack.close();
  }
}

/**
 * Run one docker command without a shell: stream its output (secrets redacted, line by line so a secret
 * is never split across writes) and resolve with the redacted stdout and stderr text.
 */
function runDocker(
  docker: string,
  step: string,
  args: string[],
  o: { stdin?: string; secrets: string[]; output: (t: string) => void },
): Promise<string> {
  const redact = (s: string) => o.secrets.reduce((acc, x) => (x ? acc.split(x).join('***') : acc), s);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(docker, args, { stdio: [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let captured = '';
    const pump = (stream: NodeJS.ReadableStream) => {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        const end = pending.lastIndexOf('\n') + 1;
        if (!end) return;
        const lines = redact(pending.slice(0, end));
        pending = pending.slice(end);
        captured += lines;
        o.output(lines);
      });
      stream.on('end', () => {
        if (!pending) return;
        const rest = redact(pending);
        captured += rest;
        o.output(rest.endsWith('\n') ? rest : `${rest}\n`);
      });
    };
    pump(child.stdout!);
    pump(child.stderr!);
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new UserError(
              'docker is not installed or not on PATH',
              'install Docker (https://docs.docker.com/get-docker/) and make sure `docker version` works; `batchctl up` does not need it',
            )
          : err,
      );
    });
    child.on('close', (code, signal) =>
      code === 0
        ? resolvePromise(captured)
        : reject(new DockerStepError(step, code, signal, dockerHint(step, captured))),
    );
    if (o.stdin !== undefined) {
      // A docker that exits before reading stdin makes the write fail with EPIPE; its exit code tells the story.
      child.stdin!.on('error', () => {});
      child.stdin!.end(o.stdin);
    }
  });
}
