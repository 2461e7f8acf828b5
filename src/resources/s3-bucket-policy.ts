/**
 * The bucket policy: deny every request that does not use TLS (stack.md "do better"). The article also
 * granted delivery.logs.amazonaws.com s3:GetObject; nothing in this stack delivers logs to the bucket
 * (the job logs to CloudWatch Logs), so that grant would only widen access and is dropped.
 */
import { GetBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import type { Ctx, FieldChange } from '../engine/types.js';
import { K } from '../model/keys.js';
import { policyChange, samePolicy, type PolicyDocument } from '../model/policies.js';
import { bucketArn, bucketOf, bucketSubKind, readSub, subRecord, type BucketSubKind } from './lib/s3.js';

/** The policy document (undefined: the bucket has none). */
export interface BucketPolicyDesired {
  policy: PolicyDocument | undefined;
}

const KIND = 's3.bucket-policy';

/** The TLS-only policy for a bucket. */
export function tlsOnlyPolicy(ctx: Ctx, bucket: string): PolicyDocument {
  const arn = bucketArn(ctx, bucket);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  };
}

async function put(ctx: Ctx, bucket: string, desired: BucketPolicyDesired) {
  await ctx.aws.s3.send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      ExpectedBucketOwner: ctx.account,
      Policy: JSON.stringify(desired.policy),
    }),
  );
  return subRecord(KIND, bucket);
}

export const s3BucketPolicy: BucketSubKind<BucketPolicyDesired> = bucketSubKind<BucketPolicyDesired>({
  key: K.bucketPolicy,
  kind: KIND,
  label: 'S3 bucket policy',
  desired: (ctx) => ({ policy: tlsOnlyPolicy(ctx, bucketOf(ctx)) }),

  async find(ctx, _node, recorded) {
    const bucket = bucketOf(ctx, recorded);
    const text = await readSub(
      async () =>
        (await ctx.aws.s3.send(new GetBucketPolicyCommand({ Bucket: bucket, ExpectedBucketOwner: ctx.account })))
          .Policy ?? '',
      ['NoSuchBucketPolicy'],
    );
    if (!text) return undefined;
    return {
      record: subRecord(KIND, bucket),
      observed: { policy: text ? (JSON.parse(text) as PolicyDocument) : undefined },
      owned: true,
    };
  },

  create: (ctx, _node, desired) => put(ctx, bucketOf(ctx), desired),

  diff(desired, observed): FieldChange[] {
    return samePolicy(desired.policy, observed.policy) ? [] : [policyChange('policy', desired.policy, observed.policy)];
  },

  update: (ctx, _node, found, desired) => put(ctx, found.record.id, desired),

  // Deliberately not DeleteBucketPolicy: the TLS-only deny goes with the bucket, so a bucket that
  // survives `down` (BucketNotEmpty) keeps refusing plain-HTTP requests.
  async delete() {},
});
