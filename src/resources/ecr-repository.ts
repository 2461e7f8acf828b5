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
  type Repository,
} from '@aws-sdk/client-ecr';
import { UserError, awsErrorCode } from '../core/errors.js';
import type { Ctx, FieldChange, ResourceKind } from '../core/types.js';
import { K } from './lib/keys.js';
import { isOurs, resourceTags, tagList, tagRecord } from './lib/tags.js';

/** The repository's settings. */
export interface RepositoryDesired {
  name: string;
  scanOnPush: boolean;
  tagMutability: 'MUTABLE' | 'IMMUTABLE';
  encryption: 'KMS' | 'AES256';
}

const KIND = 'ecr.repository';
const IMMUTABLE_FIELDS = new Set(['name', 'encryption']);

async function describe(ctx: Ctx, name: string): Promise<Repository | undefined> {
  try {
    const out = await ctx.aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return out.repositories?.[0];
  } catch (err) {
    if (awsErrorCode(err) === 'RepositoryNotFoundException') return undefined;
    throw err;
  }
}

function recordOf(repo: Repository) {
  return { kind: KIND, id: repo.repositoryName!, arn: repo.repositoryArn!, attrs: { uri: repo.repositoryUri! } };
}

function observedOf(repo: Repository): RepositoryDesired {
  return {
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
  }),

  async find(ctx, node, recorded) {
    // The recorded name first, so a renamed repository shows up as a replacement instead of a new one.
    for (const name of new Set([recorded?.id, node.params.name].filter((n): n is string => !!n))) {
      const repo = await describe(ctx, name);
      if (!repo) continue;
      const owned =
        name === recorded?.id ||
        isOurs(ctx, tagRecord((await ctx.aws.ecr.send(new ListTagsForResourceCommand({ resourceArn: repo.repositoryArn }))).tags));
      return { record: recordOf(repo), observed: observedOf(repo), owned };
    }
    return undefined;
  },

  async create(ctx, node, desired) {
    const out = await ctx.aws.ecr.send(
      new CreateRepositoryCommand({
        repositoryName: desired.name,
        imageScanningConfiguration: { scanOnPush: desired.scanOnPush },
        imageTagMutability: desired.tagMutability,
        // KMS without a key id uses the AWS managed key aws/ecr: no key to create or pay for.
        encryptionConfiguration: { encryptionType: desired.encryption },
        tags: tagList(resourceTags(ctx, node.key)),
      }),
    );
    return recordOf(out.repository!);
  },

  diff(desired, observed): FieldChange[] {
    return (Object.keys(desired) as (keyof RepositoryDesired)[])
      .filter((f) => desired[f] !== observed[f])
      .map((f) => ({ field: f, from: observed[f], to: desired[f], ...(IMMUTABLE_FIELDS.has(f) ? { replace: true } : {}) }));
  },

  async update(ctx, _node, found, desired, changes) {
    const name = found.record.id;
    for (const c of changes) {
      if (c.field === 'scanOnPush') {
        await ctx.aws.ecr.send(new PutImageScanningConfigurationCommand({ repositoryName: name, imageScanningConfiguration: { scanOnPush: desired.scanOnPush } }));
      } else if (c.field === 'tagMutability') {
        await ctx.aws.ecr.send(new PutImageTagMutabilityCommand({ repositoryName: name, imageTagMutability: desired.tagMutability }));
      }
    }
  },

  async contents(ctx, rec) {
    const digests = new Set<string>();
    let nextToken: string | undefined;
    try {
      do {
        const out = await ctx.aws.ecr.send(new ListImagesCommand({ repositoryName: rec.id, nextToken, maxResults: 1000 }));
        // One image with several tags is listed once per tag: count digests.
        for (const id of out.imageIds ?? []) if (id.imageDigest) digests.add(id.imageDigest);
        nextToken = out.nextToken;
      } while (nextToken);
    } catch (err) {
      if (awsErrorCode(err) === 'RepositoryNotFoundException') return undefined;
      throw err;
    }
    return digests.size ? { count: digests.size, description: `${digests.size} image${digests.size === 1 ? '' : 's'}` } : undefined;
  },

  // Without `force`: deleting the images is a decision `down` must ask for, never a side effect.
  async delete(ctx, rec, opts) {
    try {
      await ctx.aws.ecr.send(new DeleteRepositoryCommand({ repositoryName: rec.id, ...(opts?.force ? { force: true } : {}) }));
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === 'RepositoryNotFoundException') return;
      if (code === 'RepositoryNotEmptyException') {
        throw new UserError(`ECR repository ${rec.id} still contains images, so it was kept`, `delete its images first (aws ecr batch-delete-image --repository-name ${rec.id} --region ${ctx.region} --image-ids ...) if they are no longer needed, or pass --force`);
      }
      throw err;
    }
  },
};
