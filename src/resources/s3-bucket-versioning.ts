/**
 * Bucket versioning. `bucket.versioning: true` means Enabled. `false` accepts a never-versioned bucket
 * as converged, but a bucket that was ever Enabled can only be Suspended: S3 has no way back to the
 * unversioned state, so Suspended is what `false` converges an Enabled bucket to.
 */
import { GetBucketVersioningCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import type { Ctx, FieldChange } from '../engine/types.js';
import { K } from '../model/keys.js';
import { bucketOf, bucketSubKind, readSub, subRecord, type BucketSubKind } from './lib/s3.js';

/** `Disabled` is S3's never-versioned state (GetBucketVersioning returns no Status). */
export type VersioningStatus = 'Enabled' | 'Suspended' | 'Disabled';

export interface BucketVersioningDesired {
  status: VersioningStatus;
}

const KIND = 's3.bucket-versioning';

async function put(ctx: Ctx, bucket: string, status: 'Enabled' | 'Suspended') {
  await ctx.aws.s3.send(
    new PutBucketVersioningCommand({
      Bucket: bucket,
      ExpectedBucketOwner: ctx.account,
      VersioningConfiguration: { Status: status },
    }),
  );
  return subRecord(KIND, bucket);
}

/** The status a PUT must set to converge, or undefined when `observed` already satisfies `desired`. */
function target(desired: VersioningStatus, observed: VersioningStatus): 'Enabled' | 'Suspended' | undefined {
  if (desired === 'Enabled') return observed === 'Enabled' ? undefined : 'Enabled';
  return observed === 'Enabled' ? 'Suspended' : undefined;
}

export const s3BucketVersioning: BucketSubKind<BucketVersioningDesired> = bucketSubKind<BucketVersioningDesired>({
  key: K.bucketVersioning,
  kind: KIND,
  label: 'S3 bucket versioning',
  desired: (ctx) => ({ status: ctx.config.bucket.versioning ? 'Enabled' : 'Disabled' }),

  async find(ctx, _node, recorded) {
    const bucket = bucketOf(ctx, recorded);
    const status = await readSub(
      async () =>
        ((await ctx.aws.s3.send(new GetBucketVersioningCommand({ Bucket: bucket, ExpectedBucketOwner: ctx.account })))
          .Status ?? 'Disabled') as VersioningStatus,
    );
    return status === undefined ? undefined : { record: subRecord(KIND, bucket), observed: { status }, owned: true };
  },

  // A new bucket is never versioned: only `Enabled` needs a call.
  create: async (ctx, _node, desired) => {
    const bucket = bucketOf(ctx);
    return desired.status === 'Enabled' ? put(ctx, bucket, 'Enabled') : subRecord(KIND, bucket);
  },

  diff(desired, observed): FieldChange[] {
    const to = target(desired.status, observed.status);
    return to ? [{ field: 'status', from: observed.status, to }] : [];
  },

  update: async (ctx, _node, found, desired) => {
    const to = target(desired.status, found.observed.status);
    return to ? put(ctx, found.record.id, to) : found.record;
  },

  // Versioning cannot be removed from a bucket; it ends with the bucket.
  async delete() {},
});
