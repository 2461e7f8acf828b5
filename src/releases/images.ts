/**
 * What image each job runs, as `status` shows it (and the missing-image warnings read it): the
 * reference its task definition names now, whether that is pinned by digest, and where the tag the
 * config names points now. One DescribeTaskDefinition a job, and one DescribeImages per distinct tag.
 */
import type { JobConfig } from '../config/schema.js';
import { describeRevision } from '../resources/task-definition.js';
import { configuredImage, configuredTag, containerImage, describeImage, parseRef, tagDigest } from '../model/images.js';
import type { Ctx } from '../engine/types.js';
import { awsErrorCode } from '../base/errors.js';

/** One job's image. */
export interface ImageStatus {
  /** `task.imagePin`. */
  pin: 'tag' | 'digest';
  /** The image the job's task definition (its latest revision) runs; undefined before the first `up`. */
  reference?: string;
  /** The digest `reference` names, when it is pinned (the deployed image). */
  deployedDigest?: string;
  /** The repository the config names for the job. */
  repository: string;
  /** The tag the config names (what `deploy` deploys by default); undefined when the config names a digest. */
  tag?: string;
  /** The digest that tag points at in the repository now; null when no image has that tag. */
  tagDigest?: string | null;
  /** Why `tagDigest` is unknown: the repository could not be read (another account's, without its permission). */
  tagNote?: string;
  /** Pinned, and the tag points at another image now (`deploy` would move the job to it). */
  tagMoved?: boolean;
  /** The tags the deployed image carries now (`deploy --tag v1` deployed v1, not the config's tag). */
  deployedTags?: string[];
}

/** Every job's image, by job name. `ctx` carries the clients (ECS, ECR) and a memo shared by the jobs. */
export async function jobImages(ctx: Ctx, jobs: JobConfig[]): Promise<Map<string, ImageStatus>> {
  const out = await Promise.all(
    jobs.map(async (job): Promise<[string, ImageStatus]> => {
      const repository = parseRef(configuredImage(ctx, job)).repository;
      const tag = configuredTag(job);
      const [rev, now] = await Promise.all([
        describeRevision(ctx, job.task.family),
        // Another account's repository may not be readable here (its policy): the tag's image is then unknown,
        // which status says, rather than failing (the missing-image check notes the same).
        tag
          ? ctx
              .memo(`ecr:tag:${repository}:${tag}`, () => tagDigest(ctx.aws.ecr, repository, tag))
              .then(
                (d) => ({ d }),
                (err: unknown) => ({ unreadable: `${awsErrorCode(err)}: ${(err as Error).message}` }),
              )
          : undefined,
      ]);
      const reference = rev ? containerImage(rev.td, job.task.containerName) : undefined;
      const deployedDigest = reference ? parseRef(reference).digest : undefined;
      // What the deployed image is called now: the tag the config names moving away from it is not the
      // same as a job deployed from another tag (`deploy --tag v1`). One call, only when the two differ.
      const moved = deployedDigest && now && 'd' in now && now.d && now.d !== deployedDigest;
      const deployedTags = moved
        ? await ctx
            .memo(`ecr:digest:${repository}:${deployedDigest}`, () =>
              describeImage(ctx.aws.ecr, repository, { imageDigest: deployedDigest }),
            )
            .then(
              (d) => d?.imageTags ?? [],
              () => undefined,
            )
        : undefined;
      return [
        job.name,
        {
          pin: job.task.imagePin,
          repository,
          ...(reference ? { reference } : {}),
          ...(deployedDigest ? { deployedDigest } : {}),
          ...(tag ? { tag } : {}),
          ...(now && 'unreadable' in now
            ? { tagNote: `not read: ${now.unreadable}` }
            : tag
              ? { tagDigest: now?.d ?? null }
              : {}),
          ...(deployedDigest && now && 'd' in now && now.d ? { tagMoved: now.d !== deployedDigest } : {}),
          ...(deployedTags ? { deployedTags } : {}),
        },
      ];
    }),
  );
  return new Map(out);
}
