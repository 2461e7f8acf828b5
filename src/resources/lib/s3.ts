/**
 * Helpers shared by the bucket kind and the five bucket sub-resource kinds (public access block,
 * encryption, lifecycle, policy, versioning). The sub-resources are not taggable: they are ours when
 * the bucket is (its tags, see bucketOwnership). A sub-resource whose configuration S3 reports absent
 * (NoSuchLifecycleConfiguration...) is "missing", so the engine creates it and reports it created.
 */
import { GetBucketTaggingCommand } from '@aws-sdk/client-s3';
import { UserError, awsErrorCode } from '../../base/errors.js';
import type { Ctx, Ownership, ResourceKind, ResourceRecord } from '../../engine/types.js';
import { K } from '../../model/keys.js';
import { foundWith, inheritedOwnership, ownershipOf, tagRecord } from './tags.js';

/** The configured bucket name. The engine resolves the default (`<stack>-<account>-<region>`) before `up`. */
export function configuredBucketName(ctx: Ctx): string {
  const name = ctx.config.bucket.name;
  if (!name) throw new Error('internal: bucket.name must be resolved before resources are converged');
  return name;
}

/** The bucket a sub-resource applies to: its own record, the bucket node's record, else the config. */
export function bucketOf(ctx: Ctx, recorded?: ResourceRecord): string {
  return recorded?.id ?? ctx.maybeRecord(K.bucket)?.id ?? configuredBucketName(ctx);
}

/** `arn:<partition>:s3:::<bucket>`: S3 ARNs carry neither region nor account. */
export const bucketArn = (ctx: Ctx, bucket: string) => `arn:${ctx.partition}:s3:::${bucket}`;

/**
 * Run an S3 read; a listed error code (e.g. NoSuchLifecycleConfiguration) yields `missing` instead.
 * Every other error, NoSuchBucket included, propagates unless listed.
 */
export async function readOr<T, M>(read: () => Promise<T>, codes: string[], missing: M): Promise<T | M> {
  try {
    return await read();
  } catch (err) {
    if (codes.includes(awsErrorCode(err))) return missing;
    throw err;
  }
}

/**
 * Read a bucket sub-resource setting: undefined when the bucket is gone or S3 answers with one of
 * `absentCodes` (the setting was never made).
 */
export function readSub<T>(read: () => Promise<T>, absentCodes: string[] = []): Promise<T | undefined> {
  return readOr(read, ['NoSuchBucket', ...absentCodes], undefined);
}

/** Ignore the listed error codes (deletes that find the thing already gone). */
export async function ignoring(codes: string[], fn: () => Promise<unknown>): Promise<void> {
  await readOr(fn, codes, undefined);
}

/**
 * A bucket we cannot read because another account owns it (or our credentials lack the permission:
 * S3 answers 403 for both, so the message names both).
 */
export function bucketAccessDenied(bucket: string, err: unknown): never {
  if (['AccessDenied', 'Forbidden', '403'].includes(awsErrorCode(err))) {
    throw new UserError(
      `S3 bucket ${bucket} is not accessible: another AWS account owns this name, or your credentials lack S3 permissions on it`,
      'bucket names are global: set bucket.name in the config to a name of your own',
    );
  }
  throw err;
}

/** The record of a bucket sub-resource: it is identified by its bucket. */
export const subRecord = (kind: string, bucket: string): ResourceRecord => ({ kind, id: bucket });

/** A bucket sub-resource kind: no params of its own. */
export type BucketSubKind<D> = ResourceKind<D, Record<string, never>>;

/**
 * Whose a bucket is, for its untaggable settings: the bucket node's verdict from this walk, else the
 * bucket's tags (undefined: the bucket is gone).
 */
export function bucketOwnership(ctx: Ctx, bucket: string): Promise<Ownership | undefined> {
  return inheritedOwnership(ctx, K.bucket, bucket, async () => {
    const tags = await bucketTags(ctx, bucket);
    return tags && ownershipOf(ctx, tags);
  });
}

/** A bucket's tags, or undefined when it does not exist. One call that also says whether it exists. */
export async function bucketTags(ctx: Ctx, name: string): Promise<Record<string, string> | undefined> {
  try {
    const out = await readOr(
      () => ctx.aws.s3.send(new GetBucketTaggingCommand({ Bucket: name, ExpectedBucketOwner: ctx.account })),
      ['NoSuchTagSet'],
      { TagSet: [] },
    );
    return tagRecord(out.TagSet);
  } catch (err) {
    if (awsErrorCode(err) === 'NoSuchBucket') return undefined;
    return bucketAccessDenied(name, err);
  }
}

/**
 * The common shape of a bucket sub-resource kind: one node depending on the bucket, no AWS-level
 * identity of its own, and the bucket's ownership (settings cannot be tagged). `spec` supplies the rest;
 * its `find` describes the setting, and the ownership is filled in here.
 */
export function bucketSubKind<D>(
  spec: Omit<BucketSubKind<D>, 'nodes' | 'dependsOn' | 'costly' | 'ownerOf'> & { key: string },
): BucketSubKind<D> {
  const { key, find, ...rest } = spec;
  // The setting, read once per walk: a recorded bucket's settings are read in the walk's first round.
  const read: typeof find = (ctx, node, recorded) =>
    ctx.memo(`s3:${key}:${bucketOf(ctx, recorded)}`, async () => find(ctx, node, recorded));
  return {
    ...rest,
    dependsOn: ['s3.bucket'],
    costly: false,
    // A setting of the bucket: AWS imposes it, and a bucket that does not exist has none.
    nodes: () => [{ key, deps: [K.bucket], partOf: [K.bucket], params: {} }],
    prefetch(ctx, nodes) {
      if (ctx.maybeRecord(K.bucket))
        for (const n of nodes) Promise.resolve(read(ctx, n, undefined)).catch(() => undefined);
    },
    async find(ctx, node, recorded) {
      const found = await read(ctx, node, recorded);
      return found && foundWith(await bucketOwnership(ctx, found.record.id), found);
    },
    ownerOf: (ctx, record) => bucketOwnership(ctx, record.id),
  };
}
