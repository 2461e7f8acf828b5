/**
 * The job's S3 bucket (stack.md row 10). Only the bucket itself lives here; its public access block,
 * encryption, lifecycle, policy and versioning are separate nodes so `plan` shows each one.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  HeadBucketCommand,
  PutBucketTaggingCommand,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { UserError, awsErrorCode } from '../base/errors.js';
import type { Ctx, FieldChange, Ownership, ResourceKind, ResourceRecord } from '../engine/types.js';
import { K } from '../model/keys.js';
import { bucketArn, bucketTags, configuredBucketName, readOr } from './lib/s3.js';
import { describeOwner, managedTags, ownershipOf, resourceTags, tagChanges, tagList } from './lib/tags.js';
import { retryWhile } from './lib/create.js';
import { reportedAwsError } from './lib/aws-calls.js';

/** What the bucket node manages: its (immutable) name and its tags. */
export interface BucketDesired {
  name: string;
  tags: Record<string, string>;
  /** Observed only: tags batchctl does not manage, kept by PutBucketTagging (which replaces the whole set). */
  others?: Record<string, string>;
}

const KIND = 's3.bucket';

/**
 * How far S3's clock and ours may disagree when a bucket's CreationDate is compared with the time this
 * stack's create intent was recorded.
 */
const CLOCK_SKEW_MS = 5 * 60_000;

/** When S3 says the bucket was created (ListBuckets is the only call that tells). */
async function creationDate(ctx: Ctx, name: string): Promise<Date | undefined> {
  const out = await ctx.aws.s3.send(new ListBucketsCommand({ Prefix: name, MaxBuckets: 1000 }));
  return out.Buckets?.find((b) => b.Name === name)?.CreationDate;
}

/**
 * Ownership of a bucket. Untagged, it is still ours when the state recorded this stack's intent to create
 * it and S3 created it after that moment: a run killed between CreateBucket and PutBucketTagging (tags at
 * creation ignored, or not permitted) left it so. Anything else without our tag is not ours.
 */
async function ownership(
  ctx: Ctx,
  name: string,
  tags: Record<string, string>,
  recorded: ResourceRecord | undefined,
): Promise<Ownership> {
  const own = ownershipOf(ctx, tags);
  const intent = recorded?.id === name ? Date.parse(recorded.attrs?.createStartedAt ?? '') : NaN;
  if (own.owned || own.owner !== null || Number.isNaN(intent)) return own;
  const created = await creationDate(ctx, name);
  return created && created.getTime() >= intent - CLOCK_SKEW_MS ? { owned: true } : own;
}

export const s3Bucket: ResourceKind<BucketDesired> = {
  kind: KIND,
  label: 'S3 bucket',
  dependsOn: [],
  costly: false,
  nodes: () => [{ key: K.bucket, deps: [], params: {} }],
  desired: (ctx, node) => ({ name: configuredBucketName(ctx), tags: resourceTags(ctx, node.key) }),

  async find(ctx, _node, recorded) {
    const names = [...new Set([recorded?.id, configuredBucketName(ctx)].filter((n): n is string => !!n))];
    for (const name of names) {
      // One call answers both "does it exist" (NoSuchBucket) and "is it ours" (the tags).
      const tags = await bucketTags(ctx, name);
      if (!tags) continue;
      const managed = managedTags(ctx, tags);
      const others = Object.fromEntries(Object.entries(tags).filter(([k]) => !(k in managed)));
      return {
        record: record(ctx, name),
        observed: { name, tags: managed, others },
        ...(await ownership(ctx, name, tags, recorded)),
      };
    }
    return undefined;
  },

  async create(ctx, node, desired) {
    const name = desired.name;
    const tags = tagList(desired.tags);
    // Written before the call: if the run dies before the bucket is tagged, the next run can prove the
    // untagged bucket is the one this stack created (see `ownership`).
    const intent = { ...record(ctx, name), attrs: { createStartedAt: new Date(ctx.clock.now()).toISOString() } };
    await ctx.intend(intent);
    const send = (withTags: boolean) =>
      ctx.aws.s3.send(
        new CreateBucketCommand({
          Bucket: name,
          // us-east-1 is the default location and AWS rejects it as an explicit constraint.
          CreateBucketConfiguration: {
            ...(ctx.region === 'us-east-1' ? {} : { LocationConstraint: ctx.region as BucketLocationConstraint }),
            ...(withTags ? { Tags: tags } : {}),
          },
          ObjectOwnership: 'BucketOwnerEnforced',
        }),
      );
    try {
      // A name deleted a moment ago is refused with OperationAborted until S3 has finished with it.
      await retryWhile(
        ctx,
        `S3 to release the bucket name ${name} (deleted a moment ago)`,
        async () => {
          try {
            await send(true);
          } catch (err) {
            // Tags at creation need s3:TagResource besides s3:CreateBucket: without it, create untagged;
            // PutBucketTagging below tags it.
            if (!['AccessDenied', 'Forbidden'].includes(awsErrorCode(err))) throw err;
            await send(false);
          }
        },
        (err) => awsErrorCode(err) === 'OperationAborted',
        { budgetMs: 120_000, intervalMs: 5000 },
      );
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === 'BucketAlreadyExists') {
        throw new UserError(
          `S3 bucket name ${name} is taken by another AWS account`,
          'bucket names are global: set bucket.name in the config',
        );
      }
      if (code !== 'BucketAlreadyOwnedByYou') throw err;
      // Ours already: an attempt of ours created it (the SDK resent a call whose answer was lost). Only a
      // bucket carrying our tag, or created after our intent, is that attempt's.
      const own = await ownership(ctx, name, (await bucketTags(ctx, name)) ?? {}, intent);
      if (!own.owned) {
        throw new UserError(
          `S3 bucket ${name} already exists in this account and ${describeOwner(own)}`,
          'batchctl never adopts a bucket it did not create: set bucket.name in the config',
        );
      }
    }
    // Tags at creation are recent in S3, ignored by some S3-compatible endpoints, and skipped above without
    // s3:TagResource; PutBucketTagging makes sure the bucket is recognisable as ours on the next run. The
    // wait until the bucket answers (its settings are set next) goes alongside: neither needs the other.
    const gone = (err: unknown) => ['NoSuchBucket', 'NotFound'].includes(awsErrorCode(err));
    await Promise.all([
      retryWhile(
        ctx,
        `S3 bucket ${name} to be visible`,
        () =>
          ctx.aws.s3.send(
            new PutBucketTaggingCommand({ Bucket: name, ExpectedBucketOwner: ctx.account, Tagging: { TagSet: tags } }),
          ),
        gone,
      ),
      ctx.waitFor(
        `S3 bucket ${name}`,
        () =>
          readOr(
            () =>
              ctx.aws.s3
                .send(new HeadBucketCommand({ Bucket: name, ExpectedBucketOwner: ctx.account }))
                .then(() => true),
            ['NotFound', 'NoSuchBucket'],
            undefined,
          ),
        { budgetMs: 60_000, intervalMs: 2000 },
      ),
    ]);
    return record(ctx, name);
  },

  diff(desired, observed): FieldChange[] {
    return [
      ...(desired.name === observed.name
        ? []
        : [{ field: 'name', from: observed.name, to: desired.name, replace: true }]),
      ...tagChanges(desired.tags, observed.tags),
    ];
  },

  /** Tags only (the name cannot change). PutBucketTagging replaces the whole set: others' tags are kept. */
  async update(ctx, _node, found, desired) {
    const TagSet = tagList({ ...found.observed.others, ...desired.tags });
    await ctx.aws.s3.send(
      new PutBucketTaggingCommand({ Bucket: found.record.id, ExpectedBucketOwner: ctx.account, Tagging: { TagSet } }),
    );
  },

  async ownerOf(ctx, rec) {
    const tags = await bucketTags(ctx, rec.id);
    return tags && ownership(ctx, rec.id, tags, rec);
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
    return {
      count: versions,
      description: `${objects} object${objects === 1 ? '' : 's'}${extra ? ` (${versions} versions and delete markers in all)` : ''}`,
    };
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
        throw new UserError(
          `S3 bucket ${rec.id} still holds objects (or object versions), so it was kept`,
          'empty the bucket first if its data is really no longer needed',
        );
      }
      throw err;
    }
    // Deletion is eventually consistent: HeadBucket can still succeed for a moment.
    await ctx.waitFor(
      `S3 bucket ${rec.id} to be deleted`,
      () =>
        readOr(
          () =>
            ctx.aws.s3
              .send(new HeadBucketCommand({ Bucket: rec.id, ExpectedBucketOwner: ctx.account }))
              .then(() => undefined),
          ['NotFound', 'NoSuchBucket'],
          true,
        ),
      { budgetMs: 60_000, intervalMs: 2000 },
    );
  },
};

/** Every page of ListObjectVersions (versions and delete markers), 1000 entries at a time. */
async function* versionPages(ctx: Ctx, bucket: string) {
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await ctx.aws.s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, ExpectedBucketOwner: ctx.account, KeyMarker, VersionIdMarker }),
    );
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
      const ids: ObjectIdentifier[] = [...(page?.Versions ?? []), ...(page?.DeleteMarkers ?? [])].map((v) => ({
        Key: v.Key!,
        VersionId: v.VersionId,
      }));
      if (!ids.length) return;
      const out = await ctx.aws.s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          ExpectedBucketOwner: ctx.account,
          Delete: { Objects: ids, Quiet: true },
        }),
      );
      // DeleteObjects answers 200 even when some keys failed; the failures are in Errors.
      const failed = out.Errors?.[0];
      if (failed) {
        const what = `${failed.Key} (${failed.VersionId}) from ${bucket}: ${failed.Code}: ${failed.Message}`;
        throw reportedAwsError(failed.Code ?? 'DeleteObjectsFailed', `could not delete ${what}`);
      }
    }
  } catch (err) {
    if (awsErrorCode(err) !== 'NoSuchBucket') throw err;
  }
}

function record(ctx: Ctx, name: string): ResourceRecord {
  return { kind: KIND, id: name, arn: bucketArn(ctx, name) };
}
