/**
 * The stack's side of the job's duplicate-trigger guard: the lock prefix batchctl scopes its lifecycle
 * rule and IAM grant to is the one the job writes, and existing buckets get the lock-expiry rule.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { ROOT, testCtx } from '../helpers/ctx.js';
import type { Ctx, ResourceRecord } from '../../src/engine/types.js';
import { LOCK_PREFIX } from '../../src/model/guard.js';
import { s3Bucket } from '../../src/resources/s3-bucket.js';
import { s3BucketLifecycle } from '../../src/resources/s3-bucket-lifecycle.js';

describe('LOCK_PREFIX', () => {
  it("equals the job's LOCK_PREFIX in batch/src/guard.ts", () => {
    const src = readFileSync(`${ROOT}batch/src/guard.ts`, 'utf8');
    const m = /export const LOCK_PREFIX = '([^']*)';/.exec(src);
    expect(m, 'batch/src/guard.ts exports LOCK_PREFIX as a string literal').not.toBeNull();
    expect(LOCK_PREFIX).toBe(m![1]);
  });
});

describe('bucket lifecycle: the lock-expiry rule', () => {
  let fake: FakeAws;
  let ctx: Ctx;
  const records = new Map<string, ResourceRecord>();
  beforeEach(async () => {
    fake = createFakeAws();
    records.clear();
    ctx = await testCtx(fake, { records });
    const n = s3Bucket.nodes(ctx.config)[0]!;
    records.set(n.key, await s3Bucket.create(ctx, n, await s3Bucket.desired(ctx, n)));
  });
  afterEach(() => fake.uninstall());

  const rules = () =>
    fake.s3.buckets.get(ctx.config.bucket.name!)!.lifecycle as { ID: string; Filter: unknown; Expiration: unknown }[];

  it('a bucket carrying only the original expiry rule is updated in place to add it; then converged', async () => {
    const n = s3BucketLifecycle.nodes(ctx.config)[0]!;
    const desired = await s3BucketLifecycle.desired(ctx, n);
    // A stack created before the guard: the first rule only.
    const rec = await s3BucketLifecycle.create(ctx, n, { rules: desired.rules.slice(0, 1) });
    const found = (await s3BucketLifecycle.find(ctx, n, rec))!;
    const changes = s3BucketLifecycle.diff(desired, found.observed);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.replace).toBeUndefined();
    await s3BucketLifecycle.update!(ctx, n, found, desired, changes);
    expect(rules().find((r) => r.ID === 'sample-batch-expire-run-claims')).toMatchObject({
      Filter: { Prefix: LOCK_PREFIX },
      Expiration: { Days: 7 },
    });
    expect(s3BucketLifecycle.diff(desired, (await s3BucketLifecycle.find(ctx, n, rec))!.observed)).toEqual([]);
  });

  it("never outlives the bucket's own expiry", async () => {
    ctx.config.bucket.expireAfterDays = 3;
    const n = s3BucketLifecycle.nodes(ctx.config)[0]!;
    await s3BucketLifecycle.create(ctx, n, await s3BucketLifecycle.desired(ctx, n));
    expect(rules().map((r) => r.Expiration)).toEqual([{ Days: 3 }, { Days: 3 }]);
  });
});
