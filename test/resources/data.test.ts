import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
  CreateLogStreamCommand,
  DescribeLogStreamsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DeleteSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createFakeAws, type FakeAws } from '../fake-aws/index.js';
import { testCtx, defaultConfig } from '../helpers/ctx.js';
import type { Ctx, ResourceKind, ResourceRecord } from '../../src/engine/types.js';
import { K } from '../../src/model/keys.js';
import { ecrRepository } from '../../src/resources/ecr-repository.js';
import { s3Bucket } from '../../src/resources/s3-bucket.js';
import { s3PublicAccessBlock } from '../../src/resources/s3-public-access-block.js';
import { s3BucketEncryption } from '../../src/resources/s3-bucket-encryption.js';
import { s3BucketLifecycle } from '../../src/resources/s3-bucket-lifecycle.js';
import { s3BucketPolicy } from '../../src/resources/s3-bucket-policy.js';
import { s3BucketVersioning } from '../../src/resources/s3-bucket-versioning.js';
import { secret } from '../../src/resources/secret.js';
import { secretValue } from '../../src/resources/secret-value.js';
import { logGroup } from '../../src/resources/log-group.js';
import { kindSteps } from '../helpers/kinds.js';

const BUCKET = 'sample-batch-123456789012-ap-northeast-1';
let fake: FakeAws;
let records: Map<string, ResourceRecord>;
let ctx: Ctx;

beforeEach(async () => {
  fake = createFakeAws();
  records = new Map();
  ctx = await testCtx(fake, { records });
});
afterEach(() => fake.uninstall());

const { node, converge, findAndDiff } = kindSteps(() => ({ ctx, records }));

/** find + diff for an existing, converged resource (with its record by default; null: state lost). */
async function expectConverged<D>(kind: ResourceKind<D>, recorded?: ResourceRecord | null) {
  const { found, changes } = await findAndDiff(kind, undefined, recorded);
  expect(found?.owned).toBe(true);
  expect(changes).toEqual([]);
  return found!;
}

const bucketState = () => fake.s3.buckets.get(BUCKET)!;

describe('ecr.repository', () => {
  it('creates a tagged repository, finds it converged with one call, and by name when the state is lost', async () => {
    const n = node(ecrRepository);
    expect(n.key).toBe(K.repository);
    expect(await ecrRepository.find(ctx, n, undefined)).toBeUndefined();
    const rec = await converge(ecrRepository);
    expect(rec).toEqual({
      kind: 'ecr.repository',
      id: 'sample-batch',
      arn: 'arn:aws:ecr:ap-northeast-1:123456789012:repository/sample-batch',
      attrs: { uri: '123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/sample-batch' },
    });
    const repo = fake.ecr.repositories.get('sample-batch')!;
    expect(repo).toMatchObject({ scanOnPush: true, tagMutability: 'MUTABLE', encryption: { encryptionType: 'KMS' } });
    expect(repo.tags).toEqual({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': K.repository });

    fake.core.resetCalls();
    await expectConverged(ecrRepository);
    expect(fake.core.count()).toBe(2); // the describe carries no tags: one more read for ownership and the tag diff
    const lost = await ecrRepository.find(ctx, n, undefined);
    expect(lost?.owned).toBe(true);
    expect(lost?.record).toEqual(rec);
  });

  it('does not own an untagged same-named repository', async () => {
    await ctx.aws.ecr.send(
      new (await import('@aws-sdk/client-ecr')).CreateRepositoryCommand({ repositoryName: 'sample-batch' }),
    );
    expect((await ecrRepository.find(ctx, node(ecrRepository), undefined))?.owned).toBe(false);
  });

  it('updates scan-on-push and tag mutability in place; encryption needs a replacement', async () => {
    await converge(ecrRepository);
    ctx.config.repository.scanOnPush = false;
    ctx.config.repository.tagMutability = 'IMMUTABLE';
    const n = node(ecrRepository);
    const found = (await ecrRepository.find(ctx, n, records.get(n.key)))!;
    const desired = ecrRepository.desired(ctx, n) as Awaited<ReturnType<typeof ecrRepository.desired>>;
    const changes = ecrRepository.diff(desired, found.observed);
    expect(changes.map((c) => [c.field, c.replace ?? false])).toEqual([
      ['scanOnPush', false],
      ['tagMutability', false],
    ]);
    await ecrRepository.update!(ctx, n, found, desired, changes);
    expect(fake.ecr.repositories.get('sample-batch')).toMatchObject({ scanOnPush: false, tagMutability: 'IMMUTABLE' });
    await expectConverged(ecrRepository);

    ctx.config.repository.encryption = 'AES256';
    const again = (await ecrRepository.find(ctx, n, records.get(n.key)))!;
    expect(ecrRepository.diff(ecrRepository.desired(ctx, n) as never, again.observed)).toEqual([
      { field: 'encryption', from: 'KMS', to: 'AES256', replace: true },
    ]);
  });

  it('deletes an empty repository, treats a missing one as done, and keeps one with images', async () => {
    const rec = await converge(ecrRepository);
    fake.ecr.addImage('sample-batch', 'latest');
    await expect(ecrRepository.delete(ctx, rec)).rejects.toThrow(/still contains images/);
    expect(fake.ecr.repositories.has('sample-batch')).toBe(true);
    fake.ecr.repositories.get('sample-batch')!.images = [];
    await ecrRepository.delete(ctx, rec);
    expect(fake.ecr.repositories.has('sample-batch')).toBe(false);
    await ecrRepository.delete(ctx, rec);
  });
});

describe('s3.bucket', () => {
  it('creates the bucket in the region, tagged, owner-enforced, and finds it with one call', async () => {
    const n = node(s3Bucket);
    expect(await s3Bucket.find(ctx, n, undefined)).toBeUndefined();
    const rec = await converge(s3Bucket);
    expect(rec).toEqual({ kind: 's3.bucket', id: BUCKET, arn: `arn:aws:s3:::${BUCKET}` });
    const b = bucketState();
    expect(b).toMatchObject({ region: 'ap-northeast-1', ownership: 'BucketOwnerEnforced' });
    expect(b.tags).toEqual({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': K.bucket });
    const create = fake.core.calls.find((c) => c.op === 'CreateBucket')!;
    expect(create.input.CreateBucketConfiguration.LocationConstraint).toBe('ap-northeast-1');

    fake.core.resetCalls();
    await expectConverged(s3Bucket);
    expect(fake.core.count()).toBe(1);
    expect((await s3Bucket.find(ctx, n, undefined))?.owned).toBe(true);
  });

  it('omits the location constraint in us-east-1, which S3 rejects there', async () => {
    fake.uninstall();
    fake = createFakeAws({ region: 'us-east-1' });
    const cfg = defaultConfig();
    cfg.region = 'us-east-1';
    cfg.bucket.name = 'sample-batch-use1';
    const c = await testCtx(fake, { config: cfg, records });
    await converge(s3Bucket, undefined, c);
    expect(fake.s3.buckets.get('sample-batch-use1')?.region).toBe('us-east-1');
    expect(
      fake.core.calls.find((x) => x.op === 'CreateBucket')!.input.CreateBucketConfiguration.LocationConstraint,
    ).toBeUndefined();
  });

  it('an untagged bucket of our name is not ours, even when the state records it; only a recorded create intent older than the bucket proves it', async () => {
    await converge(s3Bucket);
    bucketState().tags = undefined;
    const created = bucketState().createdAt.getTime();
    expect(await s3Bucket.find(ctx, node(s3Bucket), undefined)).toMatchObject({ owned: false, owner: null });
    expect((await s3Bucket.find(ctx, node(s3Bucket), records.get(K.bucket)))?.owned).toBe(false);
    const intent = (at: number) => ({
      ...records.get(K.bucket)!,
      attrs: { createStartedAt: new Date(at).toISOString() },
    });
    // Written before CreateBucket: the bucket is younger, so it is the one this stack's run created.
    expect(await s3Bucket.find(ctx, node(s3Bucket), intent(created - 1000))).toMatchObject({
      owned: true,
      observed: { tags: {} },
    });
    // An intent written long after the bucket existed proves nothing.
    expect((await s3Bucket.find(ctx, node(s3Bucket), intent(created + 60 * 60_000)))?.owned).toBe(false);
    bucketState().tags = { 'batchctl:stack': 'other-batch' };
    expect(await s3Bucket.find(ctx, node(s3Bucket), intent(created - 1000))).toMatchObject({
      owned: false,
      owner: 'other-batch',
    });
  });

  it('explains a name taken by another account', async () => {
    fake.s3.takenElsewhere.add(BUCKET);
    await expect(s3Bucket.find(ctx, node(s3Bucket), undefined)).rejects.toThrow(/another AWS account/);
    await expect(s3Bucket.create(ctx, node(s3Bucket), await s3Bucket.desired(ctx, node(s3Bucket)))).rejects.toThrow(
      /taken by another AWS account/,
    );
  });

  it('treats a retried CreateBucket that already succeeded as success', async () => {
    fake.core.inject({ kind: 'crash', match: (c) => c.op === 'CreateBucket' });
    const d = await s3Bucket.desired(ctx, node(s3Bucket));
    await expect(s3Bucket.create(ctx, node(s3Bucket), d)).rejects.toThrow(/simulated crash/);
    // The bucket was tagged at creation, so the next attempt recognises it as ours.
    await s3Bucket.create(ctx, node(s3Bucket), d);
    expect(bucketState().tags?.['batchctl:stack']).toBe('sample-batch');
  });

  it('marks a renamed bucket as a replacement', async () => {
    await converge(s3Bucket);
    ctx.config.bucket.name = 'another-name';
    const found = (await s3Bucket.find(ctx, node(s3Bucket), records.get(K.bucket)))!;
    expect(s3Bucket.diff(await s3Bucket.desired(ctx, node(s3Bucket)), found.observed)).toEqual([
      { field: 'name', from: BUCKET, to: 'another-name', replace: true },
    ]);
  });

  it('deletes an empty bucket, keeps a non-empty one, and treats a missing one as done', async () => {
    const rec = await converge(s3Bucket);
    fake.s3.addObject(BUCKET, 'data.csv', 'x');
    await expect(s3Bucket.delete(ctx, rec)).rejects.toThrow(/still holds objects/);
    fake.s3.buckets.get(BUCKET)!.objects.clear();
    await s3Bucket.delete(ctx, rec);
    expect(fake.s3.buckets.has(BUCKET)).toBe(false);
    await s3Bucket.delete(ctx, rec);
  });
});

describe('bucket sub-resources', () => {
  beforeEach(async () => {
    await converge(s3Bucket);
  });

  it('all converge on a fresh bucket; a second pass makes no mutating call and one read each', async () => {
    const kinds: ResourceKind[] = [
      s3PublicAccessBlock,
      s3BucketEncryption,
      s3BucketLifecycle,
      s3BucketPolicy,
      s3BucketVersioning,
    ];
    for (const k of kinds) {
      expect(node(k).deps).toEqual([K.bucket]);
      await converge(k);
    }
    const b = bucketState();
    expect(b.publicAccessBlock).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    expect(b.lifecycle).toEqual([
      {
        ID: 'sample-batch-expire',
        Status: 'Enabled',
        Filter: {},
        Expiration: { Days: 365 },
        NoncurrentVersionExpiration: { NoncurrentDays: 365 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
      {
        ID: 'sample-batch-expire-run-claims',
        Status: 'Enabled',
        Filter: { Prefix: '.batchctl/runs/' },
        Expiration: { Days: 7 },
        NoncurrentVersionExpiration: { NoncurrentDays: 7 },
      },
    ]);
    expect(JSON.parse(b.policy!).Statement[0]).toMatchObject({
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    expect(b.versioning).toBeUndefined();
    fake.core.resetCalls();
    for (const k of kinds) await expectConverged(k);
    expect(fake.core.count({ mutating: true })).toBe(0);
    expect(fake.core.count()).toBe(kinds.length);
  });

  it('a fresh bucket already has the public access block and SSE-S3: reported converged without a call', async () => {
    for (const k of [s3PublicAccessBlock, s3BucketEncryption] as ResourceKind[]) {
      const found = await k.find(ctx, node(k), undefined);
      expect(found?.record).toEqual({ kind: k.kind, id: BUCKET });
      expect(k.diff(await k.desired(ctx, node(k)), found!.observed)).toEqual([]);
    }
  });

  it('public access block: a missing configuration is created, one switched off is updated', async () => {
    const n = node(s3PublicAccessBlock);
    bucketState().publicAccessBlock = undefined;
    expect(await s3PublicAccessBlock.find(ctx, n, undefined)).toBeUndefined();
    await converge(s3PublicAccessBlock);
    expect(Object.values(bucketState().publicAccessBlock!)).toEqual([true, true, true, true]);
    bucketState().publicAccessBlock!.BlockPublicPolicy = false;
    const found = (await s3PublicAccessBlock.find(ctx, n, records.get(n.key)))!;
    const desired = s3PublicAccessBlock.desired(ctx, n) as Awaited<ReturnType<typeof s3PublicAccessBlock.desired>>;
    const changes = s3PublicAccessBlock.diff(desired, found.observed);
    expect(changes).toEqual([{ field: 'BlockPublicPolicy', from: false, to: true }]);
    await s3PublicAccessBlock.update!(ctx, n, found, desired, changes);
    expect(bucketState().publicAccessBlock!.BlockPublicPolicy).toBe(true);
  });

  it('encryption: no default encryption is created; SSE-KMS is converged back to AES256', async () => {
    const n = node(s3BucketEncryption);
    bucketState().encryption = undefined;
    expect(await s3BucketEncryption.find(ctx, n, undefined)).toBeUndefined();
    await converge(s3BucketEncryption);
    expect(bucketState().encryption).toEqual([
      { BucketKeyEnabled: false, ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
    bucketState().encryption = [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }];
    const found = (await s3BucketEncryption.find(ctx, n, records.get(n.key)))!;
    const changes = s3BucketEncryption.diff({ algorithm: 'AES256' }, found.observed);
    expect(changes).toEqual([{ field: 'algorithm', from: 'aws:kms', to: 'AES256' }]);
    await s3BucketEncryption.update!(ctx, n, found, { algorithm: 'AES256' }, changes);
    expect(fake.inventory().find((e) => e.type === 's3.bucket')!.settings.encryption).toBe('AES256');
  });

  it('lifecycle: a changed expiry is updated; S3 echoing Filter {Prefix: ""} is still converged', async () => {
    await converge(s3BucketLifecycle);
    ctx.config.bucket.expireAfterDays = 30;
    const n = node(s3BucketLifecycle);
    const found = (await s3BucketLifecycle.find(ctx, n, records.get(n.key)))!;
    const desired = s3BucketLifecycle.desired(ctx, n) as Awaited<ReturnType<typeof s3BucketLifecycle.desired>>;
    const changes = s3BucketLifecycle.diff(desired, found.observed);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.to).toMatch(/expire 30 d/);
    await s3BucketLifecycle.update!(ctx, n, found, desired, changes);
    expect((bucketState().lifecycle![0] as any).Expiration).toEqual({ Days: 30 });
    (bucketState().lifecycle![0] as any).Filter = { Prefix: '' };
    await expectConverged(s3BucketLifecycle);
  });

  it('policy: compared canonically, a foreign statement is replaced', async () => {
    await converge(s3BucketPolicy);
    const doc = JSON.parse(bucketState().policy!);
    const st = doc.Statement[0];
    // Same meaning, different shape: key order, list order, a lone statement object.
    bucketState().policy = JSON.stringify({
      Statement: {
        Condition: st.Condition,
        Resource: [...st.Resource].reverse(),
        Action: ['s3:*'],
        Principal: '*',
        Effect: 'Deny',
        Sid: st.Sid,
      },
      Version: doc.Version,
    });
    await expectConverged(s3BucketPolicy);

    bucketState().policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${BUCKET}/*` }],
    });
    const n = node(s3BucketPolicy);
    const found = (await s3BucketPolicy.find(ctx, n, records.get(n.key)))!;
    const desired = s3BucketPolicy.desired(ctx, n) as Awaited<ReturnType<typeof s3BucketPolicy.desired>>;
    const changes = s3BucketPolicy.diff(desired, found.observed);
    expect(changes.map((c) => c.field)).toEqual(['policy']);
    await s3BucketPolicy.update!(ctx, n, found, desired, changes);
    expect(JSON.parse(bucketState().policy!)).toEqual(desired.policy);
    bucketState().policy = undefined;
    expect(await s3BucketPolicy.find(ctx, n, undefined)).toBeUndefined();
  });

  it('versioning: enabled on request, suspended (not removable) when turned off again', async () => {
    ctx.config.bucket.versioning = true;
    await converge(s3BucketVersioning);
    expect(bucketState().versioning).toBe('Enabled');
    ctx.config.bucket.versioning = false;
    const n = node(s3BucketVersioning);
    const found = (await s3BucketVersioning.find(ctx, n, records.get(n.key)))!;
    const changes = s3BucketVersioning.diff({ status: 'Disabled' }, found.observed);
    expect(changes).toEqual([{ field: 'status', from: 'Enabled', to: 'Suspended' }]);
    await s3BucketVersioning.update!(ctx, n, found, { status: 'Disabled' }, changes);
    expect(bucketState().versioning).toBe('Suspended');
    await expectConverged(s3BucketVersioning);
  });

  it('find is undefined when the bucket is gone; lifecycle delete removes the rules and tolerates absence', async () => {
    await converge(s3BucketLifecycle);
    await s3BucketLifecycle.delete(ctx, records.get(K.bucketLifecycle)!);
    expect(bucketState().lifecycle).toBeUndefined();
    expect(await s3BucketLifecycle.find(ctx, node(s3BucketLifecycle), records.get(K.bucketLifecycle))).toBeUndefined();
    await s3BucketLifecycle.delete(ctx, records.get(K.bucketLifecycle)!);
    fake.s3.buckets.delete(BUCKET);
    for (const k of [
      s3PublicAccessBlock,
      s3BucketEncryption,
      s3BucketLifecycle,
      s3BucketPolicy,
      s3BucketVersioning,
    ] as ResourceKind[]) {
      expect(await k.find(ctx, node(k), undefined)).toBeUndefined();
    }
    await s3BucketLifecycle.delete(ctx, { kind: 's3.bucket-lifecycle', id: BUCKET });
  });
});

describe('secretsmanager.secret and secret value', () => {
  it('creates the secret without a value, then the value as JSON; neither record carries it', async () => {
    const n = node(secret);
    expect(await secret.find(ctx, n, undefined)).toBeUndefined();
    const rec = await converge(secret);
    expect(rec.id).toBe('sample-batch');
    expect(rec.arn).toMatch(/^arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:sample-batch-[A-Za-z0-9]{6}$/);
    const s = fake.secretsManager.secrets.get(rec.arn!)!;
    expect(s.versions.size).toBe(0);
    expect(s.tags).toEqual({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': K.secret });

    await converge(s3Bucket);
    expect(await secretValue.find(ctx, node(secretValue), undefined)).toBeUndefined();
    const vrec = await converge(secretValue);
    expect(vrec).toEqual({
      kind: 'secretsmanager.secret-value',
      id: rec.arn,
      attrs: { versionId: expect.any(String) },
    });
    expect(JSON.stringify([...records.values()])).not.toContain('S3_BUCKET_NAME');
    const value = await ctx.aws.secretsManager.send(new GetSecretValueCommand({ SecretId: 'sample-batch' }));
    expect(JSON.parse(value.SecretString!)).toEqual({ S3_BUCKET_NAME: BUCKET });
    const put = fake.core.calls.find((c) => c.op === 'PutSecretValue')!;
    expect(put.input.ClientRequestToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    fake.core.resetCalls();
    await expectConverged(secret);
    await expectConverged(secretValue);
    expect(fake.core.count()).toBe(2);
    expect((await secret.find(ctx, n, undefined))?.owned).toBe(true);
    expect(fake.inventory().find((e) => e.type === 'secretsmanager.secret')!.settings.value).toEqual({
      present: true,
      jsonKeys: ['S3_BUCKET_NAME'],
    });
    expect(JSON.stringify(fake.inventory())).not.toContain(`"S3_BUCKET_NAME":"${BUCKET}"`);
  });

  it('a retried PutSecretValue with the same token adds no second version', async () => {
    await converge(secret);
    await converge(s3Bucket);
    const n = node(secretValue);
    const desired = await secretValue.desired(ctx, n);
    const a = await secretValue.create(ctx, n, desired);
    const b = await secretValue.create(ctx, n, desired);
    expect(b.attrs).toEqual(a.attrs);
    expect(fake.secretsManager.secrets.get(records.get(K.secret)!.arn!)!.versions.size).toBe(1);
  });

  it('a changed value is a sensitive change that never carries the values', async () => {
    await converge(secret);
    await converge(s3Bucket);
    await converge(secretValue);
    records.set(K.bucket, { kind: 's3.bucket', id: 'renamed-bucket' });
    const n = node(secretValue);
    const found = (await secretValue.find(ctx, n, records.get(n.key)))!;
    const desired = await secretValue.desired(ctx, n);
    const changes = secretValue.diff(desired, found.observed);
    expect(changes).toEqual([{ field: 'value', from: '(sensitive)', to: '(sensitive)', sensitive: true }]);
    const c2 = await testCtx(fake, { records });
    const rec = (await secretValue.update!({ ...c2, runId: 'second-run' }, n, found, desired, changes))!;
    expect(rec.attrs!.versionId).not.toBe(found.record.attrs!.versionId);
    const value = await ctx.aws.secretsManager.send(new GetSecretValueCommand({ SecretId: 'sample-batch' }));
    expect(JSON.parse(value.SecretString!)).toEqual({ S3_BUCKET_NAME: 'renamed-bucket' });
  });

  it('does not own an untagged same-named secret', async () => {
    await ctx.aws.secretsManager.send(
      new (await import('@aws-sdk/client-secrets-manager')).CreateSecretCommand({ Name: 'sample-batch' }),
    );
    expect((await secret.find(ctx, node(secret), undefined))?.owned).toBe(false);
  });

  it('restores a secret scheduled for deletion by `down`, keeping its value', async () => {
    const rec = await converge(secret);
    await converge(s3Bucket);
    await converge(secretValue);
    await secret.delete(ctx, rec);
    expect(fake.secretsManager.secrets.get(rec.arn!)!.deletedAt).toBeDefined();
    await secret.delete(ctx, rec); // a second `down`
    const n = node(secret);
    const found = (await secret.find(ctx, n, undefined))!;
    expect(found.owned).toBe(true);
    const desired = secret.desired(ctx, n) as Awaited<ReturnType<typeof secret.desired>>;
    const changes = secret.diff(desired, found.observed);
    expect(changes).toEqual([{ field: 'pendingDeletion', from: true, to: false }]);
    expect(await secretValue.find(ctx, node(secretValue), undefined)).toBeUndefined();
    await secret.update!(ctx, n, found, desired, changes);
    expect(fake.secretsManager.secrets.get(rec.arn!)!.deletedAt).toBeUndefined();
    await expectConverged(secret);
    await expectConverged(secretValue);
  });

  it('updates the description in place; a renamed secret is a replacement; delete of a gone secret succeeds', async () => {
    const rec = await converge(secret);
    fake.secretsManager.secrets.get(rec.arn!)!.description = 'edited by hand';
    await converge(secret);
    expect(fake.secretsManager.secrets.get(rec.arn!)!.description).toMatch(/managed by batchctl/);
    ctx.config.secret.name = 'other';
    const n = node(secret);
    const found = (await secret.find(ctx, n, rec))!;
    expect(secret.diff(secret.desired(ctx, n) as never, found.observed)).toEqual([
      { field: 'name', from: 'sample-batch', to: 'other', replace: true },
    ]);
    await ctx.aws.secretsManager.send(new DeleteSecretCommand({ SecretId: rec.arn, ForceDeleteWithoutRecovery: true }));
    await secret.delete(ctx, rec);
    expect(await secret.find(ctx, n, rec)).toBeUndefined();
  });
});

describe('logs.log-group', () => {
  it('creates the group with tags and retention; finds it by exact name among prefix matches', async () => {
    const n = node(logGroup);
    expect(await logGroup.find(ctx, n, undefined)).toBeUndefined();
    fake.logs.groups.set('/ecs/SampleBatch-old', {
      name: '/ecs/SampleBatch-old',
      createdAt: 0,
      tags: {},
      streams: new Map(),
    });
    const rec = await converge(logGroup);
    expect(rec).toEqual({
      kind: 'logs.log-group',
      id: '/ecs/SampleBatch',
      arn: 'arn:aws:logs:ap-northeast-1:123456789012:log-group:/ecs/SampleBatch',
    });
    const g = fake.logs.groups.get('/ecs/SampleBatch')!;
    expect(g.retentionInDays).toBe(365);
    expect(g.tags).toEqual({ 'batchctl:stack': 'sample-batch', 'batchctl:logical': K.logGroup });
    fake.core.resetCalls();
    const found = await expectConverged(logGroup);
    expect(found.record).toEqual(rec);
    expect(fake.core.count()).toBe(2); // the describe carries no tags: one more read for ownership and the tag diff
    expect((await logGroup.find(ctx, n, undefined))?.owned).toBe(true);
  });

  it('does not own an untagged same-named group', async () => {
    fake.logs.groups.set('/ecs/SampleBatch', { name: '/ecs/SampleBatch', createdAt: 0, tags: {}, streams: new Map() });
    expect((await logGroup.find(ctx, node(logGroup), undefined))?.owned).toBe(false);
  });

  it('updates retention; rejects values AWS does not allow; a renamed group is a replacement; deletes', async () => {
    const rec = await converge(logGroup);
    ctx.config.logs.retentionDays = 30;
    await converge(logGroup);
    expect(fake.logs.groups.get('/ecs/SampleBatch')!.retentionInDays).toBe(30);
    ctx.config.logs.retentionDays = 31;
    await expect(converge(logGroup)).rejects.toMatchObject({ name: 'InvalidParameterException' });
    ctx.config.logs.group = '/ecs/Other';
    const n = node(logGroup);
    const found = (await logGroup.find(ctx, n, rec))!;
    expect(logGroup.diff(logGroup.desired(ctx, n) as never, found.observed)).toContainEqual({
      field: 'name',
      from: '/ecs/SampleBatch',
      to: '/ecs/Other',
      replace: true,
    });
    await logGroup.delete(ctx, rec);
    expect(fake.logs.groups.has('/ecs/SampleBatch')).toBe(false);
    await logGroup.delete(ctx, rec);
  });
});

describe('fakes beyond what the kinds use', () => {
  it('S3 objects: conditional put, get, paginated listing, versions and delete markers', async () => {
    await converge(s3Bucket);
    const s3 = ctx.aws.s3 as S3Client;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'run/1', Body: 'a', IfNoneMatch: '*' }));
    await expect(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'run/1', Body: 'b', IfNoneMatch: '*' })),
    ).rejects.toMatchObject({ name: 'PreconditionFailed' });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'run/1' }));
    expect(await got.Body!.transformToString()).toBe('a');
    await expect(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'nope' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    for (let k = 0; k < 5; k++) fake.s3.addObject(BUCKET, `k${k}`);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 2, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    expect(keys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'run/1']);
    await expect(s3.send(new ListObjectsV2Command({ Bucket: 'missing-bucket' }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
  });

  it('Logs: streams, events, GetLogEvents tokens and FilterLogEvents pagination', async () => {
    await converge(logGroup);
    const logs = ctx.aws.logs as CloudWatchLogsClient;
    const g = '/ecs/SampleBatch';
    const now = Date.now();
    await logs.send(new CreateLogStreamCommand({ logGroupName: g, logStreamName: 'ecs/batch/1' }));
    await expect(
      logs.send(new CreateLogStreamCommand({ logGroupName: g, logStreamName: 'ecs/batch/1' })),
    ).rejects.toMatchObject({ name: 'ResourceAlreadyExistsException' });
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: g,
        logStreamName: 'ecs/batch/1',
        logEvents: [1, 2, 3].map((k) => ({ timestamp: now + k, message: `line ${k}` })),
      }),
    );
    fake.logs.addEvents(g, 'ecs/batch/2', [{ timestamp: now + 10, message: 'other line' }]);
    const first = await logs.send(
      new GetLogEventsCommand({ logGroupName: g, logStreamName: 'ecs/batch/1', startFromHead: true, limit: 2 }),
    );
    expect(first.events!.map((e) => e.message)).toEqual(['line 1', 'line 2']);
    const second = await logs.send(
      new GetLogEventsCommand({ logGroupName: g, logStreamName: 'ecs/batch/1', nextToken: first.nextForwardToken }),
    );
    expect(second.events!.map((e) => e.message)).toEqual(['line 3']);
    const end = await logs.send(
      new GetLogEventsCommand({ logGroupName: g, logStreamName: 'ecs/batch/1', nextToken: second.nextForwardToken }),
    );
    expect(end.events).toEqual([]);
    expect(end.nextForwardToken).toBe(second.nextForwardToken);
    const msgs: string[] = [];
    let token: string | undefined;
    do {
      const page = await logs.send(
        new FilterLogEventsCommand({ logGroupName: g, limit: 1, nextToken: token, filterPattern: 'line' }),
      );
      msgs.push(...page.events!.map((e) => e.message!));
      token = page.nextToken;
    } while (token);
    expect(msgs).toEqual(['line 1', 'line 2', 'line 3', 'other line']);
    const only2 = await logs.send(
      new FilterLogEventsCommand({ logGroupName: g, logStreamNames: ['ecs/batch/2'], startTime: now }),
    );
    expect(only2.events!.map((e) => e.message)).toEqual(['other line']);
    const streams = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: g, orderBy: 'LastEventTime', descending: true }),
    );
    expect(streams.logStreams!.map((s) => s.logStreamName)).toEqual(['ecs/batch/2', 'ecs/batch/1']);
  });

  it('Secrets Manager: a pending-deletion name blocks CreateSecret; GetSecretValue is refused', async () => {
    const rec = await converge(secret);
    await secret.delete(ctx, rec);
    const sm = ctx.aws.secretsManager as SecretsManagerClient;
    const { CreateSecretCommand } = await import('@aws-sdk/client-secrets-manager');
    await expect(sm.send(new CreateSecretCommand({ Name: 'sample-batch' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
      message: expect.stringMatching(/already scheduled for deletion/),
    });
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'sample-batch' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
  });
});
