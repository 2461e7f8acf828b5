/**
 * The job's S3 bucket (stack.md row 10). Only the bucket itself lives here; its public access block,
 * encryption, lifecycle, policy and versioning are separate nodes so `plan` shows each one.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  GetBucketTaggingCommand,
  HeadBucketCommand,
  PutBucketTaggingCommand,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { UserError, awsErrorCode } from '../core/errors.js';
import type { Ctx, FieldChange, ResourceKind, ResourceRecord } from '../core/types.js';
import { K } from './lib/keys.js';
import { bucketAccessDenied, bucketArn, configuredBucketName, readOr } from './lib/s3.js';
import { isOurs, resourceTags, tagList, tagRecord } from './lib/tags.js';

/** What the bucket node manages: only its (immutable) name. */
export interface BucketDesired {
  name: string;
}

const KIND = 's3.bucket';

export const s3Bucket: ResourceKind<BucketDesired> = {
  kind: KIND,
  label: 'S3 bucket',
  dependsOn: [],
  costly: false,
  nodes: () => [{ key: K.bucket, deps: [], params: {} }],
  desired: (ctx) => ({ name: configuredBucketName(ctx) }),

  async find(ctx, _node, recorded) {
    const names = [...new Set([recorded?.id, configuredBucketName(ctx)].filter((n): n is string => !!n))];
    for (const name of names) {
      // One call answers both "does it exist" (NoSuchBucket) and "is it ours" (the tags).
      let tags: Record<string, string> | undefined;
      try {
        const out = await readOr(
          () => ctx.aws.s3.send(new GetBucketTaggingCommand({ Bucket: name, ExpectedBucketOwner: ctx.account })),
          ['NoSuchTagSet'],
          { TagSet: [] },
        );
        tags = tagRecord(out.TagSet);
      } catch (err) {
        if (awsErrorCode(err) === 'NoSuchBucket') continue;
        bucketAccessDenied(name, err);
      }
      // An untagged bucket of our account with our name is not adopted unless the state file knows it:
      // the crash window between CreateBucket and tagging is closed by tagging at creation instead.
      return { record: record(ctx, name), observed: { name }, owned: name === recorded?.id || isOurs(ctx, tags) };
    }
    return undefined;
  },

  async create(ctx, node, desired) {
    const name = desired.name;
    const tags = tagList(resourceTags(ctx, node.key));
    try {
      await ctx.aws.s3.send(
        new CreateBucketCommand({
          Bucket: name,
          // us-east-1 is the default location and AWS rejects it as an explicit constraint.
          CreateBucketConfiguration: {
            ...(ctx.region === 'us-east-1' ? {} : { LocationConstraint: ctx.region as BucketLocationConstraint }),
            Tags: tags,
          },
          ObjectOwnership: 'BucketOwnerEnforced',
        }),
      );
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === 'BucketAlreadyExists') {
        throw new UserError(`S3 bucket name ${name} is taken by another AWS account`, 'bucket names are global: set bucket.name in the config');
      }
      // The SDK retried a CreateBucket whose first attempt succeeded: ours if it carries our tag.
      if (code !== 'BucketAlreadyOwnedByYou' || !(await s3Bucket.find(ctx, node, undefined))?.owned) throw err;
    }
    // Tags at creation are recent in S3 and ignored by some S3-compatible endpoints; PutBucketTagging
    // makes sure the bucket is recognisable as ours on the next run.
    await ctx.aws.s3.send(new PutBucketTaggingCommand({ Bucket: name, ExpectedBucketOwner: ctx.account, Tagging: { TagSet: tags } }));
    await ctx.waitFor(
      `S3 bucket ${name}`,
      () => readOr(() => ctx.aws.s3.send(new HeadBucketCommand({ Bucket: name, ExpectedBucketOwner: ctx.account })).then(() => true), ['NotFound', 'NoSuchBucket'], undefined),
      { budgetMs: 60_000, intervalMs: 2000 },
    );
    return record(ctx, name);
  },

  diff(desired, observed): FieldChange[] {
    return desired.name === observed.name ? [] : [{ field: 'name', from: observed.name, to: desired.name, replace: true }];
  },

  async contents(ctx, rec) {
    let objects = 0;
    let versions = 0;
    try {
      for await (const page of versionPages(ctx, rec.id)) {
        objects += (page.Versions ?? []).filter((v) => v.IsLatest).length;
        versions += (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0);
      }
    } catch (err) {
      if (awsErrorCode(err) === 'NoSuchBucket') return undefined;
      throw err;
    }
    if (versions === 0) return undefined;
    const extra = versions - objects;
    return { count: versions, description: `${objects} object${objects === 1 ? '' : 's'}${extra ? ` (${versions} versions and delete markers in all)` : ''}` };
  },

  async delete(ctx, rec, opts) {
    // DeleteBucket refuses a bucket holding any version or delete marker, even when ListObjectsV2 shows
    // nothing (every key deleted in a versioned bucket): with --force, every version goes first.
    if (opts?.force) await emptyBucket(ctx, rec.id);
    try {
      await ctx.aws.s3.send(new DeleteBucketCommand({ Bucket: rec.id, ExpectedBucketOwner: ctx.account }));
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === 'NoSuchBucket') return;
      if (code === 'BucketNotEmpty') {
        throw new UserError(`S3 bucket ${rec.id} still holds objects (or object versions), so it was kept`, 'empty the bucket first if its data is really no longer needed');
      }
      throw err;
    }
    // Deletion is eventually consistent: HeadBucket can still succeed for a moment.
    await ctx.waitFor(
      `S3 bucket ${rec.id} to be deleted`,
      () => readOr(() => ctx.aws.s3.send(new HeadBucketCommand({ Bucket: rec.id, ExpectedBucketOwner: ctx.account })).then(() => undefined), ['NotFound', 'NoSuchBucket'], true),
      { budgetMs: 60_000, intervalMs: 2000 },
    );
  },
};

/** Every page of ListObjectVersions (versions and delete markers), 1000 entries at a time. */
async function* versionPages(ctx: Ctx, bucket: string) {
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await ctx.aws.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, ExpectedBucketOwner: ctx.account, KeyMarker, VersionIdMarker }));
    yield page;
    if (!page.IsTruncated) return;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
}

/**
 * Delete every object version and delete marker, a page (at most 1000, DeleteObjects' limit) at a time.
 * Deleting by version id is permanent; a plain key delete in a versioned bucket would only add markers.
 */
async function emptyBucket(ctx: Ctx, bucket: string): Promise<void> {
  try {
    for (;;) {
      // Always re-list from the start: markers from a page whose entries were just deleted are not valid.
      const page = (await versionPages(ctx, bucket).next()).value;
      const ids: ObjectIdentifier[] = [...(page?.Versions ?? []), ...(page?.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
      if (!ids.length) return;
      const out = await ctx.aws.s3.send(new DeleteObjectsCommand({ Bucket: bucket, ExpectedBucketOwner: ctx.account, Delete: { Objects: ids, Quiet: true } }));
      // DeleteObjects answers 200 even when some keys failed; the failures are in Errors.
      const failed = out.Errors?.[0];
      if (failed) throw Object.assign(new Error(`could not delete ${failed.Key} (${failed.VersionId}) from ${bucket}: ${failed.Code}: ${failed.Message}`), { name: failed.Code ?? 'DeleteObjectsFailed' });
    }
  } catch (err) {
    if (awsErrorCode(err) !== 'NoSuchBucket') throw err;
  }
}

function record(ctx: Ctx, name: string): ResourceRecord {
  return { kind: KIND, id: name, arn: bucketArn(ctx, name) };
}
