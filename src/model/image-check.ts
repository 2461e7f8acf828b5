/**
 * Whether each job's image is in its repository. `up` creates an empty repository and enables the
 * schedule: until `batchctl push`, every scheduled run fails with CannotPullContainerError (silently,
 * alerts being off by default) while the stack costs. `plan`, `up` and `status` say so.
 *
 * Budget: one DescribeImages per repository (its imageIds take up to 100 references, so one call covers
 * every job sharing the repository); callers make it alongside their own reads. DescribeImages fails the
 * whole call when any one reference is missing (ImageNotFoundException names only the first): only then
 * is the repository listed, a page of 1000 images a call, to tell which ones are there.
 */
import type { ECRClient, ImageIdentifier } from '@aws-sdk/client-ecr';
import type { StackConfig } from '../config/schema.js';
import { ecrDomain, parseEcrImage } from '../config/image.js';
import { awsErrorCode } from '../base/errors.js';

/** The image one job's task definition runs: a full ECR URI, by tag or by digest. */
export interface JobImageRef {
  job: string;
  image: string;
}

/** One image the stack's jobs run, and whether it can be pulled. */
export interface ImageCheck {
  /** The reference as the task definition names it (`<registry>/<repository>:<tag>` or `@sha256:...`). */
  image: string;
  /** `repository:tag` or `repository@sha256:0123456789ab`: short enough for one line. */
  short: string;
  /** The jobs that run it, in the config's order. */
  jobs: string[];
  registryId: string;
  repository: string;
  /** The stack's own repository (`batchctl push` fills it), not a `task.image` elsewhere. */
  ours: boolean;
  /** In another account's registry (`task.crossAccountImage`): readable only if its policy says so. */
  otherAccount: boolean;
  /** `unchecked`: the repository cannot be read by this identity (another account's), or the read failed. */
  state: 'present' | 'missing' | 'unchecked';
  /** `missing`: the repository itself does not exist. */
  noRepository?: boolean;
  /** Why it was not checked. */
  note?: string;
  /** Its jobs run a digest `batchctl deploy` pins (task.imagePin: digest): the image is pushed with `push --deploy`. */
  pinned?: boolean;
}

/**
 * What each job's task definition runs today (task-definition.ts: `task.image`, else the stack's
 * repository at `task.imageTag`). A caller that pins images by digest passes its own references to
 * `checkImages` instead.
 */
export function configuredImages(config: StackConfig, account: string): JobImageRef[] {
  const own = `${account}.dkr.ecr.${config.region}.${ecrDomain(config.region)}/${config.repository.name}`;
  return config.jobs.map((j) => ({ job: j.name, image: j.task.image ?? `${own}:${j.task.imageTag}` }));
}

/** DescribeImages' identifier for a reference's `:tag` or `@digest` (none: what Docker pulls, `latest`). */
function imageIdOf(reference: string): ImageIdentifier {
  if (reference.startsWith('@')) return { imageDigest: reference.slice(1) };
  return { imageTag: reference ? reference.slice(1) : 'latest' };
}

const idKey = (id: ImageIdentifier) => id.imageDigest ?? `:${id.imageTag}`;

/** How many imageIds DescribeImages takes at once. */
const IMAGE_IDS_PER_CALL = 100;

/**
 * Check the images `refs` name: one DescribeImages per repository (more only past 100 images, or when
 * some are missing). Never throws for one repository: a read that fails leaves its images `unchecked`,
 * with the reason. `ownRepository`: the stack's repository's name (its images are `ours`).
 */
export async function checkImages(
  ecr: ECRClient,
  refs: JobImageRef[],
  opts: { account: string; ownRepository: string },
): Promise<ImageCheck[]> {
  // One check per distinct image, in the order the jobs first name them.
  const checks = new Map<string, ImageCheck & { id: ImageIdentifier }>();
  for (const r of refs) {
    const seen = checks.get(r.image);
    if (seen) {
      seen.jobs.push(r.job);
      continue;
    }
    const p = parseEcrImage(r.image);
    // `validate` refuses anything else: tasks reach only this region's ECR.
    if (!p) throw new Error(`internal: ${r.image} is not an ECR image URI`);
    const id = imageIdOf(p.reference);
    checks.set(r.image, {
      image: r.image,
      short: `${p.repository}${id.imageDigest ? `@${id.imageDigest.slice(0, 19)}` : `:${id.imageTag}`}`,
      jobs: [r.job],
      registryId: p.account,
      repository: p.repository,
      ours: p.account === opts.account && p.repository === opts.ownRepository,
      otherAccount: p.account !== opts.account,
      state: 'missing',
      id,
    });
  }
  // Loaded here, not at the top: the CLI renders checks (imageWarnings) without loading ECR.
  const { DescribeImagesCommand } = await import('../aws/sdk/ecr.js');
  const byRepository = new Map<string, (ImageCheck & { id: ImageIdentifier })[]>();
  for (const c of checks.values())
    byRepository.set(`${c.registryId}/${c.repository}`, [
      ...(byRepository.get(`${c.registryId}/${c.repository}`) ?? []),
      c,
    ]);

  await Promise.all(
    [...byRepository.values()].map(async (group) => {
      const { registryId, repository } = group[0]!;
      const set = (cs: typeof group, fields: Partial<ImageCheck>) => {
        for (const c of cs) Object.assign(c, fields);
      };
      const describe = (input: { imageIds?: ImageIdentifier[]; nextToken?: string }) =>
        ecr.send(
          new DescribeImagesCommand({
            registryId,
            repositoryName: repository,
            ...(input.imageIds ? { imageIds: input.imageIds } : { maxResults: 1000, nextToken: input.nextToken }),
          }),
        );
      let listed: Set<string> | undefined;
      // Every tag and digest in the repository: only after a batch met a missing image.
      const listing = async () => {
        if (listed) return listed;
        const keys = new Set<string>();
        let nextToken: string | undefined;
        do {
          const out = await describe({ nextToken });
          for (const d of out.imageDetails ?? []) {
            if (d.imageDigest) keys.add(d.imageDigest);
            for (const t of d.imageTags ?? []) keys.add(`:${t}`);
          }
          nextToken = out.nextToken;
        } while (nextToken);
        return (listed = keys);
      };
      for (let i = 0; i < group.length; i += IMAGE_IDS_PER_CALL) {
        const batch = group.slice(i, i + IMAGE_IDS_PER_CALL);
        try {
          try {
            await describe({ imageIds: batch.map((c) => c.id) });
            set(batch, { state: 'present' });
          } catch (err) {
            if (awsErrorCode(err) !== 'ImageNotFoundException') throw err;
            if (batch.length === 1) set(batch, { state: 'missing' });
            else {
              const keys = await listing();
              for (const c of batch) c.state = keys.has(idKey(c.id)) ? 'present' : 'missing';
            }
          }
        } catch (err) {
          const code = awsErrorCode(err);
          if (code === 'RepositoryNotFoundException') set(batch, { state: 'missing', noRepository: true });
          else if (code === 'AccessDeniedException') {
            set(batch, {
              state: 'unchecked',
              note: `this identity may not read repository ${repository} of account ${registryId} (AccessDeniedException: ecr:DescribeImages)`,
            });
          } else set(batch, { state: 'unchecked', note: `${code}: ${(err as Error).message}` });
        }
      }
    }),
  );
  return [...checks.values()].map(({ id: _, ...c }) => c);
}

/** Jobs as `job a` / `jobs a, b`. */
const jobsText = (jobs: string[]) => `${jobs.length === 1 ? 'job' : 'jobs'} ${jobs.join(', ')}`;

/**
 * The command that pushes a missing image of the stack's repository: `batchctl push` when every image of
 * it is missing, else `batchctl push <job>` (one job names the build its image shares with the others).
 */
export function pushCommand(check: ImageCheck, all: ImageCheck[]): string {
  const ours = all.filter((c) => c.ours);
  const deploy = check.pinned ? ' --deploy' : '';
  return ours.every((c) => c.state === 'missing')
    ? `batchctl push${deploy}`
    : `batchctl push ${check.jobs[0]}${deploy}`;
}

/**
 * One line per image that will not run or could not be checked: which jobs, which image, and the next
 * command. `afterUp`: the repository exists now, whatever the check found before `up` created it.
 */
export function imageWarnings(checks: ImageCheck[], opts: { afterUp?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const c of checks) {
    if (c.state === 'unchecked') {
      out.push(`image ${c.short} (${jobsText(c.jobs)}) not checked: ${c.note}`);
      continue;
    }
    if (c.state !== 'missing') continue;
    const fail = `scheduled runs of ${jobsText(c.jobs)} will fail until`;
    if (!c.ours) {
      out.push(
        `image ${c.short} is not in repository ${c.repository}${c.otherAccount ? ` of account ${c.registryId}` : ''}${c.noRepository ? ' (no such repository)' : ''}: ${fail} it is pushed there (task.image: \`batchctl push\` builds only the stack's repository)`,
      );
    } else if (c.noRepository && !opts.afterUp) {
      out.push(
        `image ${c.short} does not exist yet (up creates the repository, empty): ${fail} you run \`${pushCommand(c, checks)}\` after \`batchctl up\``,
      );
    } else {
      out.push(
        `image ${c.short} is not in repository ${c.repository} yet: ${fail} you run \`${pushCommand(c, checks)}\``,
      );
    }
  }
  return out;
}

/** `checkImages` for the images the stack's task definitions run. */
export async function checkStackImages(ecr: ECRClient, config: StackConfig, account: string): Promise<ImageCheck[]> {
  const checks = await checkImages(ecr, configuredImages(config, account), {
    account,
    ownRepository: config.repository.name,
  });
  const pinned = new Set(config.jobs.filter((j) => j.task.imagePin === 'digest').map((j) => j.name));
  return checks.map((c) => (c.jobs.some((j) => pinned.has(j)) ? { ...c, pinned: true } : c));
}
