/**
 * The bucket's lifecycle: objects expire `bucket.expireAfterDays` after creation (stack.md row 10).
 * Two additions to the article's rule: unfinished multipart uploads are aborted after 7 days (their
 * parts are billed but invisible in listings), and noncurrent versions expire after the same period,
 * because with versioning on, expiration only adds a delete marker and would keep every old version.
 * A second rule expires the job's duplicate-trigger lock objects (one per scheduled run) after a week,
 * so they do not pile up for the whole retention period.
 */
import { sortKeys } from '../base/json.js';
import {
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule,
} from '@aws-sdk/client-s3';
import type { Ctx, FieldChange } from '../engine/types.js';
import { K } from '../model/keys.js';
import { LOCK_EXPIRE_DAYS, LOCK_PREFIX } from '../model/guard.js';
import { bucketOf, bucketSubKind, ignoring, readSub, subRecord, type BucketSubKind } from './lib/s3.js';

/** The complete rule list (PutBucketLifecycleConfiguration replaces the whole configuration). */
export interface BucketLifecycleDesired {
  rules: LifecycleRule[];
}

const KIND = 's3.bucket-lifecycle';
const ABORT_MULTIPART_DAYS = 7;

/**
 * A rule in a comparable form. S3 accepts the whole-bucket scope as `Filter: {}`, `Filter: {Prefix: ''}`
 * or the legacy top-level `Prefix: ''`, and may echo any of them back.
 */
function canonicalRule(r: LifecycleRule): string {
  const { Filter, Prefix, ...rest } = r as LifecycleRule & { Prefix?: string };
  const filter =
    Filter && Object.keys(Filter).some((k) => k !== 'Prefix' || Filter.Prefix) ? Filter : Prefix ? { Prefix } : {};
  return JSON.stringify(sortKeys({ ...rest, Filter: filter }));
}

const canonical = (rules: LifecycleRule[]) => rules.map(canonicalRule).sort();

/** A short, printable summary of a rule list for `plan`. */
const summary = (rules: LifecycleRule[]) =>
  rules
    .map((r) => {
      const parts = [
        r.Status,
        r.Expiration?.Days && `expire ${r.Expiration.Days} d`,
        r.NoncurrentVersionExpiration?.NoncurrentDays && `noncurrent ${r.NoncurrentVersionExpiration.NoncurrentDays} d`,
        r.AbortIncompleteMultipartUpload?.DaysAfterInitiation &&
          `abort uploads ${r.AbortIncompleteMultipartUpload.DaysAfterInitiation} d`,
      ];
      return `${r.ID ?? '?'}: ${parts.filter(Boolean).join(', ')}`;
    })
    .join('; ') || 'none';

async function put(ctx: Ctx, bucket: string, desired: BucketLifecycleDesired) {
  await ctx.aws.s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      ExpectedBucketOwner: ctx.account,
      LifecycleConfiguration: { Rules: desired.rules },
    }),
  );
  return subRecord(KIND, bucket);
}

export const s3BucketLifecycle: BucketSubKind<BucketLifecycleDesired> = bucketSubKind<BucketLifecycleDesired>({
  key: K.bucketLifecycle,
  kind: KIND,
  label: 'S3 bucket lifecycle',
  desired: (ctx) => {
    const days = ctx.config.bucket.expireAfterDays;
    return {
      rules: [
        {
          ID: `${ctx.stack}-expire`,
          Status: 'Enabled',
          Filter: {},
          Expiration: { Days: days },
          NoncurrentVersionExpiration: { NoncurrentDays: days },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: ABORT_MULTIPART_DAYS },
        },
        {
          // Kept with the guard off too: claims written while it was on still need to go.
          ID: `${ctx.stack}-expire-run-claims`,
          Status: 'Enabled',
          Filter: { Prefix: LOCK_PREFIX },
          Expiration: { Days: Math.min(LOCK_EXPIRE_DAYS, days) },
          NoncurrentVersionExpiration: { NoncurrentDays: Math.min(LOCK_EXPIRE_DAYS, days) },
        },
      ],
    };
  },

  async find(ctx, _node, recorded) {
    const bucket = bucketOf(ctx, recorded);
    const rules = await readSub(
      async () =>
        (
          await ctx.aws.s3.send(
            new GetBucketLifecycleConfigurationCommand({ Bucket: bucket, ExpectedBucketOwner: ctx.account }),
          )
        ).Rules ?? [],
      ['NoSuchLifecycleConfiguration'],
    );
    return rules === undefined ? undefined : { record: subRecord(KIND, bucket), observed: { rules }, owned: true };
  },

  create: (ctx, _node, desired) => put(ctx, bucketOf(ctx), desired),

  diff(desired, observed): FieldChange[] {
    const same = JSON.stringify(canonical(desired.rules)) === JSON.stringify(canonical(observed.rules));
    return same ? [] : [{ field: 'rules', from: summary(observed.rules), to: summary(desired.rules) }];
  },

  update: (ctx, _node, found, desired) => put(ctx, found.record.id, desired),

  async delete(ctx, rec) {
    await ignoring(['NoSuchBucket', 'NoSuchLifecycleConfiguration'], () =>
      ctx.aws.s3.send(new DeleteBucketLifecycleCommand({ Bucket: rec.id, ExpectedBucketOwner: ctx.account })),
    );
  },
});
