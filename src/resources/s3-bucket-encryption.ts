/**
 * Default encryption of the bucket: SSE-S3 (AES256), as in the article. S3 has encrypted every new
 * bucket with SSE-S3 by default since January 2023, so a bucket this run creates needs no call; it still
 * converges a bucket someone switched to SSE-KMS or an old bucket without default encryption.
 */
import { GetBucketEncryptionCommand, PutBucketEncryptionCommand } from '@aws-sdk/client-s3';
import type { Ctx, FieldChange } from '../engine/types.js';
import { K } from '../model/keys.js';
import { bucketOf, bucketSubKind, readSub, subRecord, type BucketSubKind } from './lib/s3.js';

/** The default SSE algorithm (`none` when a rule names none). */
export interface BucketEncryptionDesired {
  algorithm: string;
}

const KIND = 's3.bucket-encryption';

async function put(ctx: Ctx, bucket: string, desired: BucketEncryptionDesired) {
  // Bucket keys only reduce KMS request costs; with AES256 they do nothing, so they are not set.
  await ctx.aws.s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ExpectedBucketOwner: ctx.account,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: desired.algorithm as 'AES256' } }],
      },
    }),
  );
  return subRecord(KIND, bucket);
}

export const s3BucketEncryption: BucketSubKind<BucketEncryptionDesired> = bucketSubKind<BucketEncryptionDesired>({
  key: K.bucketEncryption,
  kind: KIND,
  label: 'S3 bucket encryption',
  desired: () => ({ algorithm: 'AES256' }),

  async find(ctx, _node, recorded) {
    const bucket = bucketOf(ctx, recorded);
    const algorithm = await readSub(async () => {
      const out = await ctx.aws.s3.send(
        new GetBucketEncryptionCommand({ Bucket: bucket, ExpectedBucketOwner: ctx.account }),
      );
      return (
        out.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? 'none'
      );
    }, ['ServerSideEncryptionConfigurationNotFoundError']);
    return algorithm === undefined
      ? undefined
      : { record: subRecord(KIND, bucket), observed: { algorithm }, owned: true };
  },

  // A bucket this run created (the walk found none, so this node was not looked up) is encrypted with
  // SSE-S3 already: S3 does so for every new bucket. Another algorithm, or an old bucket without default
  // encryption, needs the call.
  create: async (ctx, _node, desired) => {
    const bucket = bucketOf(ctx);
    const asNew = ctx.createdWith === K.bucket && desired.algorithm === 'AES256';
    return asNew ? subRecord(KIND, bucket) : put(ctx, bucket, desired);
  },

  diff: (desired, observed): FieldChange[] =>
    desired.algorithm === observed.algorithm
      ? []
      : [{ field: 'algorithm', from: observed.algorithm, to: desired.algorithm }],

  update: (ctx, _node, found, desired) => put(ctx, found.record.id, desired),

  // DeleteBucketEncryption would only reset the bucket to the SSE-S3 default we already ask for, so
  // there is nothing to undo: the setting goes with the bucket.
  async delete() {},
});
