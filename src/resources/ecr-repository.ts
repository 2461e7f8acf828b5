/**
 * The ECR repository the job's image is pushed to (stack.md row 1). Scan-on-push and tag mutability
 * can change in place; the encryption type is fixed at creation (AWS has no call to change it).
 */
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ListImagesCommand,
  ListTagsForResourceCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type Repository,
} from '@aws-sdk/client-ecr';
import { UserError, awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, ResourceKind } from '../engine/types.js';
import { K } from '../model/keys.js';
import { hasTagChange, managedTags, ownershipOf, resourceTags, tagChanges, tagList, tagRecord } from './lib/tags.js';
import { createUnique } from './lib/create.js';
import { convergeTags, ifExists } from './lib/aws-calls.js';

/** The repository's settings. */
export interface RepositoryDesired {
  name: string;
  scanOnPush: boolean;
  tagMutability: 'MUTABLE' | 'IMMUTABLE';
  encryption: 'KMS' | 'AES256';
  tags: Record<string, string>;
}

const KIND = 'ecr.repository';
const IMMUTABLE_FIELDS = new Set(['name', 'encryption']);
const SETTINGS = ['name', 'scanOnPush', 'tagMutability', 'encryption'] as const;

/** A repository's tags by its ARN, read once per walk. */
function tagsOf(ctx: Ctx, arn: string | undefined): Promise<Record<string, string>> {
  return ctx.memo(`ecr:tags:${arn}`, async () =>
    tagRecord((await ctx.aws.ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags),
  );
}

async function describe(ctx: Ctx, name: string): Promise<Repository | undefined> {
  const out = await ifExists(ctx.aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })));
  return out?.repositories?.[0];
}

function recordOf(repo: Repository) {
  return { kind: KIND, id: repo.repositoryName!, arn: repo.repositoryArn!, attrs: { uri: repo.repositoryUri! } };
}

function observedOf(repo: Repository, tags: Record<string, string>): RepositoryDesired {
  return {
    tags,
    name: repo.repositoryName!,
    scanOnPush: repo.imageScanningConfiguration?.scanOnPush ?? false,
    tagMutability: repo.imageTagMutability as RepositoryDesired['tagMutability'],
    encryption: (repo.encryptionConfiguration?.encryptionType ?? 'AES256') as RepositoryDesired['encryption'],
  };
}

export const ecrRepository: ResourceKind<RepositoryDesired, { name: string }> = {
  kind: KIND,
  label: 'ECR repository',
  dependsOn: [],
  costly: false,
  nodes: (config) => [{ key: K.repository, deps: [], params: { name: config.repository.name } }],
  desired: (ctx, node) => ({
    name: node.params.name,
    scanOnPush: ctx.config.repository.scanOnPush,
    tagMutability: ctx.config.repository.tagMutability,
    encryption: ctx.config.repository.encryption,
    tags: resourceTags(ctx, node.key),
  }),

  // A recorded repository's tags (by its recorded ARN) go out in the walk's first round, with its lookup.
  prefetch(ctx, nodes) {
    for (const n of nodes) {
      const arn = ctx.maybeRecord(n.key)?.arn;
      if (arn) tagsOf(ctx, arn).catch(() => undefined);
    }
  },

  async find(ctx, node, recorded) {
    // The recorded name first, so a renamed repository shows up as a replacement instead of a new one.
    // DescribeRepositories carries no tags: one more read, which is also what the tag diff needs.
    for (const name of new Set([recorded?.id, node.params.name].filter((n): n is string => !!n))) {
      const repo = await describe(ctx, name);
      if (!repo) continue;
      const tags = await tagsOf(ctx, repo.repositoryArn);
      return { record: recordOf(repo), observed: observedOf(repo, managedTags(ctx, tags)), ...ownershipOf(ctx, tags) };
    }
    return undefined;
  },

  async create(ctx, node, desired) {
    // Names are unique: "already exists" right after our attempt is that attempt's repository.
    return createUnique(
      'ECR repository',
      desired.name,
      async () =>
        recordOf(
          (
            await ctx.aws.ecr.send(
              new CreateRepositoryCommand({
                repositoryName: desired.name,
                imageScanningConfiguration: { scanOnPush: desired.scanOnPush },
                imageTagMutability: desired.tagMutability,
                // KMS without a key id uses the AWS managed key aws/ecr: no key to create or pay for.
                encryptionConfiguration: { encryptionType: desired.encryption },
                tags: tagList(desired.tags),
              }),
            )
          ).repository!,
        ),
      (err) => awsErrorCode(err) === 'RepositoryAlreadyExistsException',
      async () => {
        const repo = await describe(ctx, desired.name);
        return repo && { ...ownershipOf(ctx, await tagsOf(ctx, repo.repositoryArn)), value: recordOf(repo) };
      },
    );
  },

  diff(desired, observed): FieldChange[] {
    return [
      ...SETTINGS.filter((f) => desired[f] !== observed[f]).map((f) => ({
        field: f,
        from: observed[f],
        to: desired[f],
        ...(IMMUTABLE_FIELDS.has(f) ? { replace: true } : {}),
      })),
      ...tagChanges(desired.tags, observed.tags),
    ];
  },

  async update(ctx, _node, found, desired, changes) {
    const name = found.record.id;
    const fields = new Set(changes.map((c) => c.field));
    // Each setting is its own call, independent of the others: they go together.
    await Promise.all([
      hasTagChange(changes) &&
        convergeTags(desired.tags, found.observed.tags, {
          tag: (tags) =>
            ctx.aws.ecr.send(new TagResourceCommand({ resourceArn: found.record.arn, tags: tagList(tags) })),
          untag: (tagKeys) => ctx.aws.ecr.send(new UntagResourceCommand({ resourceArn: found.record.arn, tagKeys })),
        }),
      fields.has('scanOnPush') &&
        ctx.aws.ecr.send(
          new PutImageScanningConfigurationCommand({
            repositoryName: name,
            imageScanningConfiguration: { scanOnPush: desired.scanOnPush },
          }),
        ),
      fields.has('tagMutability') &&
        ctx.aws.ecr.send(
          new PutImageTagMutabilityCommand({ repositoryName: name, imageTagMutability: desired.tagMutability }),
        ),
    ]);
  },

  async contents(ctx, rec) {
    const digests = new Set<string>();
    let nextToken: string | undefined;
    try {
      do {
        const out = await ctx.aws.ecr.send(
          new ListImagesCommand({ repositoryName: rec.id, nextToken, maxResults: 1000 }),
        );
        // One image with several tags is listed once per tag: count digests.
        for (const id of out.imageIds ?? []) if (id.imageDigest) digests.add(id.imageDigest);
        nextToken = out.nextToken;
      } while (nextToken);
    } catch (err) {
      if (awsErrorCode(err) === 'RepositoryNotFoundException') return undefined;
      throw err;
    }
    return digests.size
      ? { count: digests.size, description: `${digests.size} image${digests.size === 1 ? '' : 's'}` }
      : undefined;
  },

  async ownerOf(ctx, rec) {
    const repo = await describe(ctx, rec.id);
    return repo && ownershipOf(ctx, await tagsOf(ctx, repo.repositoryArn));
  },

  // Without `force`: deleting the images is a decision `down` must ask for, never a side effect.
  async delete(ctx, rec, opts) {
    try {
      await ctx.aws.ecr.send(
        new DeleteRepositoryCommand({ repositoryName: rec.id, ...(opts?.force ? { force: true } : {}) }),
      );
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === 'RepositoryNotFoundException') return;
      if (code === 'RepositoryNotEmptyException') {
        throw new UserError(
          `ECR repository ${rec.id} still contains images, so it was kept`,
          `delete its images first (aws ecr batch-delete-image --repository-name ${rec.id} --region ${ctx.region} --image-ids ...) if they are no longer needed, or pass --force`,
        );
      }
      throw err;
    }
  },
};
