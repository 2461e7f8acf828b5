/**
 * A job's image: the reference its task definition names, the repository and tag the config names, and
 * the digest a tag points at in ECR now. `task.imagePin: digest` makes the task definition name the
 * image by digest (`<repository>@sha256:...`): a tag can be pushed over, a digest cannot, so every run
 * uses the image `batchctl deploy` chose until the next deploy.
 */
import { dnsSuffixOf } from '../config/regions.js';
import { DescribeImagesCommand, type ImageDetail } from '@aws-sdk/client-ecr';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { JobConfig } from '../config/schema.js';
import { parseEcrImage } from '../config/image.js';
import { UserError, awsErrorCode } from '../base/errors.js';
import type { Ctx } from '../engine/types.js';
import { K } from './keys.js';

/** An image reference in parts. */
export interface ImageRef {
  /** `<registry>/<repository>`, without tag or digest. */
  repository: string;
  tag?: string;
  /** `sha256:...` when the reference pins one. */
  digest?: string;
}

/** `repo:tag`, `repo@sha256:...` or `repo` in parts (a port in the registry host is not a tag). */
export function parseRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  if (at >= 0) return { repository: ref.slice(0, at), digest: ref.slice(at + 1) };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repository: ref };
}

/** The reference of a repository's image by digest. */
export const byDigest = (repository: string, digest: string) => `${repository}@${digest}`;

/** The stack's repository URI, from its record when known (the URI ECR gave), else derived from the name. */
export function stackRepositoryUri(
  ctx: Pick<Ctx, 'maybeRecord' | 'partition' | 'account' | 'region' | 'config'>,
): string {
  const rec = ctx.maybeRecord(K.repository);
  if (rec?.attrs?.uri) return rec.attrs.uri;
  const suffix = dnsSuffixOf(ctx.partition);
  return `${ctx.account}.dkr.ecr.${ctx.region}.${suffix}/${ctx.config.repository.name}`;
}

/**
 * The image the config names for a job: `task.image` as written, else `<stack repository>:<imageTag>`.
 * With `imagePin: tag` this is what the task definition runs.
 */
export function configuredImage(
  ctx: Pick<Ctx, 'maybeRecord' | 'partition' | 'account' | 'region' | 'config'>,
  job: JobConfig,
): string {
  return job.task.image ?? `${stackRepositoryUri(ctx)}:${job.task.imageTag}`;
}

/** The tag a job's config names (`latest` for a `task.image` without one); undefined when the config pins a digest. */
export function configuredTag(job: JobConfig): string | undefined {
  if (!job.task.image) return job.task.imageTag;
  const ref = parseRef(job.task.image);
  return ref.digest ? undefined : (ref.tag ?? 'latest');
}

/** The image a task definition's container runs, or undefined. */
export function containerImage(
  content: { containerDefinitions?: { name?: string; image?: string }[] } | undefined,
  container: string,
): string | undefined {
  return content?.containerDefinitions?.find((c) => c.name === container)?.image;
}

/** What DescribeImages needs for a repository URI: the registry (account) and the repository name. */
function repositoryId(repository: string): { registryId?: string; repositoryName: string } {
  const ecr = parseEcrImage(repository);
  return ecr
    ? { registryId: ecr.account, repositoryName: ecr.repository }
    : { repositoryName: repository.split('/').slice(1).join('/') };
}

/**
 * The image a tag or digest names in a repository now; undefined when there is none (or no repository).
 * One DescribeImages call.
 */
export async function describeImage(
  ecr: ECRClient,
  repository: string,
  id: { imageTag: string } | { imageDigest: string },
): Promise<ImageDetail | undefined> {
  try {
    const out = await ecr.send(new DescribeImagesCommand({ ...repositoryId(repository), imageIds: [id] }));
    return out.imageDetails?.[0];
  } catch (err) {
    if (['ImageNotFoundException', 'RepositoryNotFoundException'].includes(awsErrorCode(err))) return undefined;
    throw err;
  }
}

/** The digest a tag points at now, or undefined when no image has that tag. */
export async function tagDigest(ecr: ECRClient, repository: string, tag: string): Promise<string | undefined> {
  return (await describeImage(ecr, repository, { imageTag: tag }))?.imageDigest;
}

/** The most recently pushed tags of a repository (newest first), for an error that names a tag that does not exist. */
export async function recentTags(
  ecr: ECRClient,
  repository: string,
  count = 5,
): Promise<{ tag: string; pushedAt?: Date; digest?: string }[]> {
  const images: ImageDetail[] = [];
  let nextToken: string | undefined;
  try {
    // A few pages at most: a repository with thousands of images still answers with its newest tags soon enough.
    for (let page = 0; page < 10; page++) {
      const out = await ecr.send(
        new DescribeImagesCommand({
          ...repositoryId(repository),
          filter: { tagStatus: 'TAGGED' },
          maxResults: 1000,
          nextToken,
        }),
      );
      images.push(...(out.imageDetails ?? []));
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
  } catch (err) {
    if (awsErrorCode(err) === 'RepositoryNotFoundException') return [];
    throw err;
  }
  const time = (i: ImageDetail) => i.imagePushedAt?.getTime() ?? 0;
  return images
    .sort((a, b) => time(b) - time(a))
    .flatMap((i) => (i.imageTags ?? []).map((tag) => ({ tag, pushedAt: i.imagePushedAt, digest: i.imageDigest })))
    .slice(0, count);
}

/**
 * The image `up` registers for a job. `tag`: the configured reference, as always. `digest`: the live
 * revision's pinned image is kept (`up` never moves it: only `deploy` and `rollback` do), unless it is
 * of another repository than the config names now; before the first deploy, the configured tag's digest
 * when an image has that tag, else the tag itself (not pinned yet: the next `up` or `deploy` after a
 * push pins it). A digest in `task.image` is the config's own pin.
 */
export async function imageToRun(
  ctx: Ctx,
  job: JobConfig,
  configured: string,
  live: string | undefined,
): Promise<string> {
  const ref = parseRef(configured);
  if (job.task.imagePin !== 'digest' || ref.digest) return configured;
  const kept = live ? parseRef(live) : undefined;
  if (kept?.digest && kept.repository === ref.repository) return live!;
  const tag = ref.tag ?? 'latest';
  const digest = await ctx.memo(`ecr:tag:${ref.repository}:${tag}`, () => tagDigest(ctx.aws.ecr, ref.repository, tag));
  return digest ? byDigest(ref.repository, digest) : configured;
}

/** `deploy` and `rollback` move a pinned image: with `imagePin: tag`, `up` would move it back to the tag. */
export function checkPinned(jobs: JobConfig[]): void {
  const tagged = jobs.filter((j) => j.task.imagePin !== 'digest');
  if (tagged.length) {
    throw new UserError(
      `job${tagged.length === 1 ? '' : 's'} ${tagged.map((j) => j.name).join(', ')} ${tagged.length === 1 ? 'runs its image' : 'run their images'} by tag (task.imagePin: tag, the default when the key is left out): a deployed digest would be replaced by the tag at the next up`,
      "set task.imagePin: digest in the config (then `batchctl up` pins the tag's image of now), and deploy",
    );
  }
  const pinnedInConfig = jobs.filter((j) => !configuredTag(j));
  if (pinnedInConfig.length) {
    throw new UserError(
      `job ${pinnedInConfig[0]!.name} names its image by digest in the config (task.image ${pinnedInConfig[0]!.task.image}): the config is its deployment`,
      'change task.image and run `batchctl up`, or name a tag there to deploy with batchctl deploy',
    );
  }
}
