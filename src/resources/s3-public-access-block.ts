/**
 * The bucket's public access block: all four settings on (stack.md row 10). Buckets created since
 * April 2023 already have all four on, so a bucket this run creates needs no call for it.
 */
import { GetPublicAccessBlockCommand, PutPublicAccessBlockCommand } from '@aws-sdk/client-s3';
import type { Ctx, FieldChange } from '../engine/types.js';
import { K } from '../model/keys.js';
import { bucketOf, bucketSubKind, readSub, subRecord, type BucketSubKind } from './lib/s3.js';

/** The four switches, as S3 names them. */
export interface PublicAccessBlockDesired {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

const KIND = 's3.public-access-block';
const FIELDS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;
const ALL_ON: PublicAccessBlockDesired = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
};

async function put(ctx: Ctx, bucket: string, desired: PublicAccessBlockDesired) {
  await ctx.aws.s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: bucket,
      ExpectedBucketOwner: ctx.account,
      PublicAccessBlockConfiguration: { ...desired },
    }),
  );
  return subRecord(KIND, bucket);
}

export const s3PublicAccessBlock: BucketSubKind<PublicAccessBlockDesired> = bucketSubKind<PublicAccessBlockDesired>({
  key: K.bucketPublicAccessBlock,
  kind: KIND,
  label: 'S3 public access block',
  desired: () => ({ ...ALL_ON }),

  async find(ctx, _node, recorded) {
    const bucket = bucketOf(ctx, recorded);
    const cfg = await readSub(
      async () =>
        (await ctx.aws.s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket, ExpectedBucketOwner: ctx.account })))
          .PublicAccessBlockConfiguration ?? {},
      ['NoSuchPublicAccessBlockConfiguration'],
    );
    if (!cfg) return undefined;
    const observed = Object.fromEntries(FIELDS.map((f) => [f, cfg[f] === true])) as unknown as PublicAccessBlockDesired;
    return { record: subRecord(KIND, bucket), observed, owned: true };
  },

  // A bucket this run created (the walk found none, so this node was not looked up) has all four on
  // already: S3 turns them on for every new bucket. A bucket that lost its block (or predates April 2023)
  // needs the call.
  create: async (ctx, _node, desired) => {
    const bucket = bucketOf(ctx);
    const asNew = ctx.createdWith === K.bucket && FIELDS.every((f) => desired[f]);
    return asNew ? subRecord(KIND, bucket) : put(ctx, bucket, desired);
  },

  diff(desired, observed): FieldChange[] {
    return FIELDS.filter((f) => desired[f] !== observed[f]).map((f) => ({
      field: f,
      from: observed[f],
      to: desired[f],
    }));
  },

  update: (ctx, _node, found, desired) => put(ctx, found.record.id, desired),

  // Deliberately not DeletePublicAccessBlock: `down` removes sub-resources before the bucket, and a
  // bucket that survives (BucketNotEmpty) must not be left open. The block goes with the bucket.
  async delete() {},
});
