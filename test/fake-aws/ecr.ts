/**
 * Fake ECR: repositories with scan-on-push, tag mutability, encryption and tags, and images that
 * tests add with `addImage` (pushing goes through the Docker registry API, which batchctl never calls).
 * Another account's repositories (`addForeignRepository`) answer DescribeImages only once their policy
 * lets this account read them (`readable`); otherwise AccessDeniedException, as AWS says it.
 */
import { createHash } from 'node:crypto';
import {
  ECRClient,
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  DeleteRepositoryCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  ListImagesCommand,
  DescribeImagesCommand,
  BatchDeleteImageCommand,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { awsError, tagsToRecord, recordToTags, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

interface FakeImage {
  digest: string;
  tags: string[];
  pushedAt: Date;
}

export interface FakeRepository {
  name: string;
  arn: string;
  uri: string;
  createdAt: Date;
  scanOnPush: boolean;
  tagMutability: string;
  encryption: { encryptionType: string; kmsKey?: string };
  tags: Record<string, string>;
  images: FakeImage[];
}

const REPO_NAME = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export class FakeEcr {
  readonly repositories = new Map<string, FakeRepository>();
  /** Other accounts' repositories, by ARN, and whether their policy lets this account describe them. */
  readonly foreign = new Map<string, { repository: FakeRepository; readable: boolean }>();

  constructor(private readonly core: FakeAwsCore) {
    core.peers.set('ecr', this);
    const registryId = core.account;
    core.register({
      name: 'ecr',
      client: ECRClient,
      ops: {
        CreateRepository: {
          command: CreateRepositoryCommand,
          handle: (i) => ({ repository: this.view(this.create(i)) }),
        },
        DescribeRepositories: {
          command: DescribeRepositoriesCommand,
          handle: (i) => {
            const names: string[] | undefined = i.repositoryNames;
            if (names && i.maxResults)
              awsError('InvalidParameterException', 'Cannot specify both maxResults and repositoryNames');
            const repos = names
              ? names.map((n) => this.get(n))
              : [...this.repositories.values()].sort((a, b) => a.name.localeCompare(b.name));
            const max = i.maxResults ?? 1000;
            const start = i.nextToken ? Number(i.nextToken) : 0;
            const page = repos.slice(start, start + max);
            return {
              repositories: page.map((r) => this.view(r)),
              ...(start + max < repos.length ? { nextToken: String(start + max) } : {}),
            };
          },
        },
        DeleteRepository: {
          command: DeleteRepositoryCommand,
          handle: (i) => {
            const r = this.get(i.repositoryName);
            if (r.images.length && !i.force) {
              awsError(
                'RepositoryNotEmptyException',
                `The repository with name '${r.name}' in registry with id '${registryId}' cannot be deleted because it still contains images`,
              );
            }
            this.repositories.delete(r.name);
            return { repository: this.view(r) };
          },
        },
        PutImageScanningConfiguration: {
          command: PutImageScanningConfigurationCommand,
          handle: (i) => {
            const r = this.get(i.repositoryName);
            r.scanOnPush = i.imageScanningConfiguration?.scanOnPush ?? false;
            return { registryId, repositoryName: r.name, imageScanningConfiguration: { scanOnPush: r.scanOnPush } };
          },
        },
        PutImageTagMutability: {
          command: PutImageTagMutabilityCommand,
          handle: (i) => {
            const r = this.get(i.repositoryName);
            r.tagMutability = validMutability(i.imageTagMutability);
            return { registryId, repositoryName: r.name, imageTagMutability: r.tagMutability };
          },
        },
        ListTagsForResource: {
          command: ListTagsForResourceCommand,
          handle: (i) => ({ tags: recordToTags(this.byArn(i.resourceArn).tags) }),
        },
        TagResource: {
          command: TagResourceCommand,
          handle: (i) => {
            const r = this.byArn(i.resourceArn);
            r.tags = { ...r.tags, ...validTags(i.tags) };
            return {};
          },
        },
        UntagResource: {
          command: UntagResourceCommand,
          handle: (i) => {
            const r = this.byArn(i.resourceArn);
            for (const k of i.tagKeys ?? []) delete r.tags[k];
            return {};
          },
        },
        ListImages: {
          command: ListImagesCommand,
          handle: (i) => {
            const r = this.get(i.repositoryName);
            const status = i.filter?.tagStatus ?? 'ANY';
            const ids = r.images
              .filter((img) => status === 'ANY' || (status === 'TAGGED') === img.tags.length > 0)
              .flatMap((img) =>
                img.tags.length
                  ? img.tags.map((t) => ({ imageDigest: img.digest, imageTag: t }))
                  : [{ imageDigest: img.digest }],
              );
            const max = i.maxResults ?? 1000;
            const start = i.nextToken ? Number(i.nextToken) : 0;
            return {
              imageIds: ids.slice(start, start + max),
              ...(start + max < ids.length ? { nextToken: String(start + max) } : {}),
            };
          },
        },
        DescribeImages: {
          command: DescribeImagesCommand,
          handle: (i) => {
            const r = this.readable(i.registryId, i.repositoryName);
            const imageIds: { imageDigest?: string; imageTag?: string }[] | undefined = i.imageIds;
            const detail = (img: FakeImage) => ({
              registryId: r.arn.split(':')[4],
              repositoryName: r.name,
              imageDigest: img.digest,
              ...(img.tags.length ? { imageTags: [...img.tags] } : {}),
              imagePushedAt: img.pushedAt,
              imageSizeInBytes: 52_428_800,
            });
            if (imageIds) {
              if (i.maxResults || i.nextToken || i.filter)
                awsError('InvalidParameterException', 'maxResults, nextToken and filter cannot be used with imageIds');
              if (!imageIds.length || imageIds.length > 100)
                awsError('InvalidParameterException', 'imageIds must contain between 1 and 100 items');
              const found = new Set<FakeImage>();
              for (const id of imageIds) {
                const img = r.images.find(
                  (x) =>
                    (!id.imageDigest || x.digest === id.imageDigest) && (!id.imageTag || x.tags.includes(id.imageTag)),
                );
                // One image not found fails the whole call (unlike BatchGetImage, which lists failures).
                if (!img || (!id.imageDigest && !id.imageTag)) {
                  awsError(
                    'ImageNotFoundException',
                    `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${r.name}' in the registry with id '${r.arn.split(':')[4]}'`,
                  );
                }
                found.add(img);
              }
              return { imageDetails: [...found].map(detail) };
            }
            const status = i.filter?.tagStatus ?? 'ANY';
            // ECR lists in no documented order: the oldest first here, so callers must sort by push time.
            const all = r.images.filter((img) => status === 'ANY' || (status === 'TAGGED') === img.tags.length > 0);
            const max = i.maxResults ?? 100;
            if (max < 1 || max > 1000) awsError('InvalidParameterException', 'maxResults must be between 1 and 1000');
            const start = i.nextToken ? Number(i.nextToken) : 0;
            return {
              imageDetails: all.slice(start, start + max).map(detail),
              ...(start + max < all.length ? { nextToken: String(start + max) } : {}),
            };
          },
        },
        BatchDeleteImage: {
          command: BatchDeleteImageCommand,
          handle: (i) => {
            const r = this.get(i.repositoryName);
            const imageIds: { imageDigest?: string; imageTag?: string }[] = i.imageIds ?? [];
            if (!imageIds.length || imageIds.length > 100)
              awsError('InvalidParameterException', 'imageIds must contain between 1 and 100 items');
            const deleted: { imageDigest: string; imageTag?: string }[] = [];
            const failures: unknown[] = [];
            for (const id of imageIds) {
              const img = r.images.find(
                (x) =>
                  (id.imageDigest ? x.digest === id.imageDigest : true) &&
                  (id.imageTag ? x.tags.includes(id.imageTag) : true),
              );
              if (!img) {
                failures.push({
                  imageId: id,
                  failureCode: 'ImageNotFound',
                  failureReason: 'Requested image not found',
                });
                continue;
              }
              // Deleting by tag only removes the tag; the image goes when its last tag does.
              if (id.imageTag && !id.imageDigest) img.tags = img.tags.filter((t) => t !== id.imageTag);
              if (id.imageDigest || !img.tags.length) r.images = r.images.filter((x) => x !== img);
              deleted.push({ imageDigest: img.digest, ...(id.imageTag ? { imageTag: id.imageTag } : {}) });
            }
            return { imageIds: deleted, failures };
          },
        },
        GetAuthorizationToken: {
          command: GetAuthorizationTokenCommand,
          handle: () => ({
            authorizationData: [
              {
                authorizationToken: Buffer.from('AWS:fake-registry-password').toString('base64'),
                expiresAt: new Date(core.now() + 12 * 3600_000),
                proxyEndpoint: `https://${registryId}.dkr.ecr.${core.region}.amazonaws.com`,
              },
            ],
          }),
        },
      },
    });
  }

  /**
   * Test helper: another account's repository (`account/name` for addImage); `readable` when its policy lets this
   * account describe it.
   */
  addForeignRepository(account: string, name: string, opts: { readable: boolean }): FakeRepository {
    const arn = `arn:${this.core.partition}:ecr:${this.core.region}:${account}:repository/${name}`;
    const repository: FakeRepository = {
      name,
      arn,
      uri: `${account}.dkr.ecr.${this.core.region}.amazonaws.com/${name}`,
      createdAt: new Date(this.core.now()),
      scanOnPush: false,
      tagMutability: 'MUTABLE',
      encryption: { encryptionType: 'AES256' },
      tags: {},
      images: [],
    };
    this.foreign.set(arn, { repository, readable: opts.readable });
    return repository;
  }

  /**
   * Test helper: an image in the repository (`name`, or `account/name` for another account's), as a
   * `docker push` would leave it (a tag already on another image moves to this one). `digest`: the digest
   * docker reported, when the test knows it.
   */
  addImage(
    repository: string,
    tag?: string,
    digest = `sha256:${createHash('sha256').update(this.core.newId('image')).digest('hex')}`,
  ): string {
    const r =
      this.repositories.get(repository) ??
      [...this.foreign.values()].find((f) => `${f.repository.arn.split(':')[4]}/${f.repository.name}` === repository)
        ?.repository;
    if (!r) throw new Error(`fake ECR: no repository ${repository}`);
    const same = r.images.find((img) => img.digest === digest);
    if (same) {
      if (tag && !same.tags.includes(tag)) {
        for (const img of r.images) img.tags = img.tags.filter((t) => t !== tag);
        same.tags.push(tag);
      }
      return digest;
    }
    if (tag) {
      const holder = r.images.find((img) => img.tags.includes(tag));
      if (holder && r.tagMutability === 'IMMUTABLE')
        throw new Error(`fake ECR: tag ${tag} is immutable in ${repository}`);
      if (holder) holder.tags = holder.tags.filter((t) => t !== tag);
    }
    r.images.push({ digest, tags: tag ? [tag] : [], pushedAt: new Date(this.core.now()) });
    return digest;
  }

  private get(name: string | undefined): FakeRepository {
    const r = this.repositories.get(name ?? '');
    if (!r)
      awsError(
        'RepositoryNotFoundException',
        `The repository with name '${name}' does not exist in the registry with id '${this.core.account}'`,
      );
    return r;
  }

  /**
   * A repository whose images this account may read: its own, or another account's whose policy allows
   * it. IAM decides before the repository is looked up, so another account's repository that does not
   * exist is AccessDenied too.
   */
  private readable(registryId: string | undefined, name: string | undefined): FakeRepository {
    if (!registryId || registryId === this.core.account) return this.get(name);
    const arn = `arn:${this.core.partition}:ecr:${this.core.region}:${registryId}:repository/${name}`;
    const f = this.foreign.get(arn);
    if (!f?.readable) {
      awsError(
        'AccessDeniedException',
        `User: arn:${this.core.partition}:iam::${this.core.account}:user/fake is not authorized to perform: ecr:DescribeImages on resource: ${arn} because no resource-based policy allows the ecr:DescribeImages action`,
      );
    }
    return f.repository;
  }

  private byArn(arn: string | undefined): FakeRepository {
    const r = [...this.repositories.values()].find((x) => x.arn === arn);
    if (!r) {
      if (!arn?.startsWith(`arn:${this.core.partition}:ecr:`))
        awsError(
          'InvalidParameterException',
          `Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'`,
        );
      awsError(
        'RepositoryNotFoundException',
        `The repository with name '${arn.split('repository/')[1]}' does not exist in the registry with id '${this.core.account}'`,
      );
    }
    return r;
  }

  private create(i: any): FakeRepository {
    const name: string = i.repositoryName ?? '';
    if (!REPO_NAME.test(name)) {
      awsError(
        'InvalidParameterException',
        `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''`,
      );
    }
    if (this.repositories.has(name)) {
      awsError(
        'RepositoryAlreadyExistsException',
        `The repository with name '${name}' already exists in the registry with id '${this.core.account}'`,
      );
    }
    const encryptionType: string = i.encryptionConfiguration?.encryptionType ?? 'AES256';
    if (!['AES256', 'KMS', 'KMS_DSSE'].includes(encryptionType))
      awsError('InvalidParameterException', 'Invalid encryption type');
    if (encryptionType === 'AES256' && i.encryptionConfiguration?.kmsKey)
      awsError('InvalidParameterException', 'KMS key is not supported for AES256 encryption');
    const kmsKey =
      encryptionType === 'AES256'
        ? undefined
        : (i.encryptionConfiguration?.kmsKey ??
          `arn:${this.core.partition}:kms:${this.core.region}:${this.core.account}:key/aws-ecr-managed`);
    const r: FakeRepository = {
      name,
      arn: `arn:${this.core.partition}:ecr:${this.core.region}:${this.core.account}:repository/${name}`,
      uri: `${this.core.account}.dkr.ecr.${this.core.region}.amazonaws.com/${name}`,
      createdAt: new Date(this.core.now()),
      scanOnPush: i.imageScanningConfiguration?.scanOnPush ?? false,
      tagMutability: validMutability(i.imageTagMutability ?? 'MUTABLE'),
      encryption: { encryptionType, ...(kmsKey ? { kmsKey } : {}) },
      tags: validTags(i.tags),
      images: [],
    };
    this.repositories.set(name, r);
    this.core.label(r.arn, r.tags['batchctl:logical'] ?? name);
    return r;
  }

  private view(r: FakeRepository) {
    return {
      repositoryArn: r.arn,
      registryId: this.core.account,
      repositoryName: r.name,
      repositoryUri: r.uri,
      createdAt: r.createdAt,
      imageTagMutability: r.tagMutability,
      imageScanningConfiguration: { scanOnPush: r.scanOnPush },
      encryptionConfiguration: { ...r.encryption },
    };
  }

  inventory(): InventoryEntry[] {
    return [...this.repositories.values()].map((r) => ({
      type: 'ecr.repository',
      key: r.tags['batchctl:logical'] ?? r.name,
      settings: {
        name: r.name,
        scanOnPush: r.scanOnPush,
        tagMutability: r.tagMutability,
        encryptionType: r.encryption.encryptionType,
        tags: r.tags,
        images: r.images.length,
      },
    }));
  }
}

function validMutability(v: string | undefined): string {
  if (!['MUTABLE', 'IMMUTABLE', 'MUTABLE_WITH_EXCLUSION', 'IMMUTABLE_WITH_EXCLUSION'].includes(v ?? '')) {
    awsError(
      'InvalidParameterException',
      `Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set'`,
    );
  }
  return v!;
}

function validTags(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const list = tags ?? [];
  if (list.length > 50) awsError('TooManyTagsException', 'A maximum of 50 tags can be applied to a repository');
  if (list.some((t) => !t.Key || t.Value === undefined))
    awsError('InvalidTagParameterException', 'Tag key and value must be specified');
  return tagsToRecord(list);
}
