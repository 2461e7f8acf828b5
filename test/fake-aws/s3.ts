/**
 * Fake S3: buckets with their tags, public access block, default encryption, lifecycle, policy and
 * versioning, plus objects (with versions) for the job and the later `run`/`logs` features. Models the
 * behaviour of buckets created today: Block Public Access all on, SSE-S3 default encryption and
 * BucketOwnerEnforced ownership from creation. Buckets of "other accounts" answer 403 (or 409 on create).
 */
import { createHash } from 'node:crypto';
import {
  S3Client,
  CreateBucketCommand,
  DeleteBucketCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  GetBucketLocationCommand,
  GetBucketTaggingCommand,
  PutBucketTaggingCommand,
  DeleteBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  PutPublicAccessBlockCommand,
  DeletePublicAccessBlockCommand,
  GetBucketEncryptionCommand,
  PutBucketEncryptionCommand,
  DeleteBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  DeleteBucketLifecycleCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  DeleteBucketPolicyCommand,
  GetBucketVersioningCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
} from '@aws-sdk/client-s3';
import { awsError, tagsToRecord, recordToTags, type FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

/** One stored version of an object (or a delete marker). */
export interface FakeObjectVersion {
  versionId: string;
  body: Uint8Array;
  etag: string;
  lastModified: Date;
  deleteMarker: boolean;
}

export interface FakeBucket {
  name: string;
  region: string;
  createdAt: Date;
  ownership: string;
  tags?: Record<string, string>;
  publicAccessBlock?: Record<string, boolean>;
  /** SSE rules; undefined models a legacy bucket without default encryption. */
  encryption?: unknown[];
  lifecycle?: unknown[];
  policy?: string;
  versioning?: 'Enabled' | 'Suspended';
  /** Versions per key, oldest first. */
  objects: Map<string, FakeObjectVersion[]>;
}

const PAB_FIELDS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;
const DEFAULT_SSE = [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }];
const BUCKET_NAME = /^(?!xn--)(?!sthree-)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PRECONDITION = 'At least one of the pre-conditions you specified did not hold';
const MALFORMED_XML = 'The XML you provided was not well-formed or did not validate against our published schema';

export class FakeS3 {
  readonly buckets = new Map<string, FakeBucket>();
  /** Names owned by some other AWS account (globally unique namespace). */
  readonly takenElsewhere = new Set<string>();
  /** How long a conditional request stays in flight (0: evaluated at once). See `conditional`. */
  conditionalWriteMs = 0;
  private readonly inFlight = new Set<string>();
  /** An S3-compatible endpoint that ignores CreateBucketConfiguration.Tags (the bucket is created untagged). */
  ignoreCreateTags = false;
  /** Credentials without s3:TagResource: CreateBucket with tags is AccessDenied (without tags it works). */
  denyCreateTags = false;
  /** For this long after DeleteBucket, creating the name again is refused with 409 OperationAborted. */
  nameReleaseMs = 0;
  private readonly deletedAt = new Map<string, number>();
  private versionCounter = 0;

  constructor(private readonly core: FakeAwsCore) {
    core.peers.set('s3', this);
    const b = (fn: (bucket: FakeBucket, input: any) => unknown) => (input: any) => fn(this.bucket(input), input);
    core.register({
      name: 's3',
      client: S3Client,
      ops: {
        CreateBucket: { command: CreateBucketCommand, handle: (i) => this.createBucket(i) },
        ListBuckets: {
          command: ListBucketsCommand,
          handle: (i) => ({
            Buckets: [...this.buckets.values()]
              .filter((b) => !i.Prefix || b.name.startsWith(i.Prefix))
              .sort((a, b) => a.name.localeCompare(b.name))
              .map((b) => ({ Name: b.name, CreationDate: b.createdAt, BucketRegion: b.region })),
            Owner: { ID: 'fake-owner' },
          }),
        },
        DeleteBucket: { command: DeleteBucketCommand, handle: (i) => this.deleteBucket(i) },
        HeadBucket: {
          command: HeadBucketCommand,
          handle: (i) => {
            // HEAD responses have no body, so the SDK only sees the status: NotFound / Forbidden.
            if (this.takenElsewhere.has(i.Bucket) || (i.ExpectedBucketOwner && i.ExpectedBucketOwner !== core.account))
              awsError('Forbidden', 'Forbidden', 403);
            const bucket = this.buckets.get(i.Bucket);
            if (!bucket) awsError('NotFound', 'Not Found', 404);
            return { BucketRegion: bucket.region, AccessPointAlias: false };
          },
        },
        GetBucketLocation: {
          command: GetBucketLocationCommand,
          // us-east-1 buckets report an empty location constraint.
          handle: b((bucket) => ({ LocationConstraint: bucket.region === 'us-east-1' ? undefined : bucket.region })),
        },
        GetBucketTagging: {
          command: GetBucketTaggingCommand,
          handle: b((bucket) => {
            if (!bucket.tags || !Object.keys(bucket.tags).length)
              awsError('NoSuchTagSet', 'The TagSet does not exist', 404);
            return { TagSet: recordToTags(bucket.tags) };
          }),
        },
        PutBucketTagging: {
          command: PutBucketTaggingCommand,
          handle: b((bucket, i) => {
            bucket.tags = validTags(i.Tagging?.TagSet);
            return {};
          }),
        },
        DeleteBucketTagging: {
          command: DeleteBucketTaggingCommand,
          handle: b((bucket) => {
            bucket.tags = undefined;
            return {};
          }),
        },
        GetPublicAccessBlock: {
          command: GetPublicAccessBlockCommand,
          handle: b((bucket) => {
            if (!bucket.publicAccessBlock)
              awsError(
                'NoSuchPublicAccessBlockConfiguration',
                'The public access block configuration was not found',
                404,
              );
            return { PublicAccessBlockConfiguration: { ...bucket.publicAccessBlock } };
          }),
        },
        PutPublicAccessBlock: {
          command: PutPublicAccessBlockCommand,
          handle: b((bucket, i) => {
            const cfg = i.PublicAccessBlockConfiguration;
            if (!cfg) awsError('MalformedXML', MALFORMED_XML);
            // Fields left out are false, not "unchanged".
            bucket.publicAccessBlock = Object.fromEntries(PAB_FIELDS.map((f) => [f, cfg[f] === true]));
            return {};
          }),
        },
        DeletePublicAccessBlock: {
          command: DeletePublicAccessBlockCommand,
          handle: b((bucket) => {
            bucket.publicAccessBlock = undefined;
            return {};
          }),
        },
        GetBucketEncryption: {
          command: GetBucketEncryptionCommand,
          handle: b((bucket) => {
            if (!bucket.encryption)
              awsError(
                'ServerSideEncryptionConfigurationNotFoundError',
                'The server side encryption configuration was not found',
                404,
              );
            return { ServerSideEncryptionConfiguration: { Rules: bucket.encryption } };
          }),
        },
        PutBucketEncryption: {
          command: PutBucketEncryptionCommand,
          handle: b((bucket, i) => {
            const rules = i.ServerSideEncryptionConfiguration?.Rules;
            const alg = rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm;
            if (!Array.isArray(rules) || rules.length !== 1 || !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(alg))
              awsError('MalformedXML', MALFORMED_XML);
            if (alg === 'AES256' && rules[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) {
              awsError(
                'InvalidArgument',
                'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse',
              );
            }
            bucket.encryption = [{ BucketKeyEnabled: false, ...rules[0] }];
            return {};
          }),
        },
        // Since 2023 deleting the configuration only resets it to the SSE-S3 default.
        DeleteBucketEncryption: {
          command: DeleteBucketEncryptionCommand,
          handle: b((bucket) => {
            bucket.encryption = structuredClone(DEFAULT_SSE);
            return {};
          }),
        },
        GetBucketLifecycleConfiguration: {
          command: GetBucketLifecycleConfigurationCommand,
          handle: b((bucket) => {
            if (!bucket.lifecycle)
              awsError('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist', 404);
            return { Rules: bucket.lifecycle, TransitionDefaultMinimumObjectSize: 'all_storage_classes_128K' };
          }),
        },
        PutBucketLifecycleConfiguration: {
          command: PutBucketLifecycleConfigurationCommand,
          handle: b((bucket, i) => {
            bucket.lifecycle = validLifecycle(i.LifecycleConfiguration?.Rules);
            return { TransitionDefaultMinimumObjectSize: 'all_storage_classes_128K' };
          }),
        },
        DeleteBucketLifecycle: {
          command: DeleteBucketLifecycleCommand,
          handle: b((bucket) => {
            bucket.lifecycle = undefined;
            return {};
          }),
        },
        GetBucketPolicy: {
          command: GetBucketPolicyCommand,
          handle: b((bucket) => {
            if (!bucket.policy) awsError('NoSuchBucketPolicy', 'The bucket policy does not exist', 404);
            return { Policy: bucket.policy };
          }),
        },
        PutBucketPolicy: {
          command: PutBucketPolicyCommand,
          handle: b((bucket, i) => this.putPolicy(bucket, i.Policy)),
        },
        DeleteBucketPolicy: {
          command: DeleteBucketPolicyCommand,
          handle: b((bucket) => {
            bucket.policy = undefined;
            return {};
          }),
        },
        GetBucketVersioning: {
          command: GetBucketVersioningCommand,
          // A never-versioned bucket returns neither Status nor MFADelete.
          handle: b((bucket) => (bucket.versioning ? { Status: bucket.versioning, MFADelete: 'Disabled' } : {})),
        },
        PutBucketVersioning: {
          command: PutBucketVersioningCommand,
          handle: b((bucket, i) => {
            const status = i.VersioningConfiguration?.Status;
            if (status !== 'Enabled' && status !== 'Suspended') awsError('MalformedXML', MALFORMED_XML);
            bucket.versioning = status;
            return {};
          }),
        },
        PutObject: { command: PutObjectCommand, handle: b((bucket, i) => this.putObject(bucket, i)) },
        GetObject: { command: GetObjectCommand, handle: b((bucket, i) => this.getObject(bucket, i)) },
        ListObjectsV2: { command: ListObjectsV2Command, handle: b((bucket, i) => this.listObjects(bucket, i)) },
        ListObjectVersions: {
          command: ListObjectVersionsCommand,
          handle: b((bucket, i) => this.listVersions(bucket, i)),
        },
        DeleteObject: {
          command: DeleteObjectCommand,
          handle: b((bucket, i) => this.conditional(bucket, i, () => this.deleteObject(bucket, i.Key, i.VersionId))),
        },
        DeleteObjects: {
          command: DeleteObjectsCommand,
          handle: b((bucket, i) => {
            const objs: { Key: string; VersionId?: string }[] = i.Delete?.Objects ?? [];
            if (!objs.length || objs.length > 1000) awsError('MalformedXML', MALFORMED_XML);
            const deleted = objs.map((o) => ({ Key: o.Key, ...this.deleteObject(bucket, o.Key, o.VersionId) }));
            return { Deleted: i.Delete.Quiet ? [] : deleted, Errors: [] };
          }),
        },
      },
    });
  }

  /** Test helper: put an object directly (no call logged). */
  addObject(bucket: string, key: string, body: string | Uint8Array = ''): void {
    const b = this.buckets.get(bucket);
    if (!b) throw new Error(`fake S3: no bucket ${bucket}`);
    this.writeObject(b, { Key: key, Body: body });
  }

  /** Test helper: a bucket of this account (e.g. a team's state bucket), made without a logged call. */
  addBucket(name: string, opts: { versioning?: 'Enabled' | 'Suspended' } = {}): FakeBucket {
    const region = this.core.region;
    this.createBucket({
      Bucket: name,
      CreateBucketConfiguration: region === 'us-east-1' ? undefined : { LocationConstraint: region },
    });
    const b = this.buckets.get(name)!;
    b.versioning = opts.versioning;
    return b;
  }

  /** Test helper: the latest body of an object as text, undefined when absent (no call logged). */
  objectText(bucket: string, key: string): string | undefined {
    const b = this.buckets.get(bucket);
    const v = b && this.latest(b, key);
    return v ? new TextDecoder().decode(v.body) : undefined;
  }

  /** The bucket of a request: NoSuchBucket when missing, AccessDenied when another account owns it. */
  private bucket(input: { Bucket?: string; ExpectedBucketOwner?: string }): FakeBucket {
    const name = input.Bucket ?? '';
    if (this.takenElsewhere.has(name)) awsError('AccessDenied', 'Access Denied', 403);
    const bucket = this.buckets.get(name);
    if (!bucket) awsError('NoSuchBucket', 'The specified bucket does not exist', 404);
    if (input.ExpectedBucketOwner && input.ExpectedBucketOwner !== this.core.account)
      awsError('AccessDenied', 'Access Denied', 403);
    return bucket;
  }

  private createBucket(i: any) {
    const name: string = i.Bucket ?? '';
    if (!BUCKET_NAME.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name))
      awsError('InvalidBucketName', 'The specified bucket is not valid.');
    if (this.takenElsewhere.has(name)) {
      awsError(
        'BucketAlreadyExists',
        'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
        409,
      );
    }
    if (this.buckets.has(name)) {
      awsError(
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        409,
      );
    }
    const deleted = this.deletedAt.get(name);
    if (this.nameReleaseMs > 0 && deleted !== undefined && this.core.now() < deleted + this.nameReleaseMs) {
      awsError(
        'OperationAborted',
        'A conflicting conditional operation is currently in progress against this resource. Please try again.',
        409,
      );
    }
    if (this.denyCreateTags && i.CreateBucketConfiguration?.Tags?.length) {
      awsError('AccessDenied', 'User is not authorized to perform: s3:TagResource', 403);
    }
    const constraint: string | undefined = i.CreateBucketConfiguration?.LocationConstraint;
    if (constraint === 'us-east-1')
      awsError('InvalidLocationConstraint', 'The specified location-constraint is not valid');
    const region = constraint ?? 'us-east-1';
    if (region !== this.core.region) {
      awsError(
        'IllegalLocationConstraintException',
        constraint
          ? `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`
          : 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.',
      );
    }
    const tags = i.CreateBucketConfiguration?.Tags;
    this.buckets.set(name, {
      name,
      region,
      createdAt: new Date(this.core.now()),
      ownership: i.ObjectOwnership ?? 'BucketOwnerEnforced',
      tags: tags?.length && !this.ignoreCreateTags ? validTags(tags) : undefined,
      publicAccessBlock: Object.fromEntries(PAB_FIELDS.map((f) => [f, true])),
      encryption: structuredClone(DEFAULT_SSE),
      objects: new Map(),
    });
    this.core.label(name, name);
    return { Location: `/${name}` };
  }

  private deleteBucket(i: any) {
    const bucket = this.bucket(i);
    if ([...bucket.objects.values()].some((v) => v.length))
      awsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409);
    this.buckets.delete(bucket.name);
    this.deletedAt.set(bucket.name, this.core.now());
    return {};
  }

  private putPolicy(bucket: FakeBucket, text: string | undefined) {
    let doc: any;
    try {
      doc = JSON.parse(text ?? '');
    } catch {
      awsError('MalformedPolicy', "Policies must be valid JSON and the first byte must be '{'");
    }
    const stmts: any[] = Array.isArray(doc?.Statement) ? doc.Statement : doc?.Statement ? [doc.Statement] : [];
    if (!stmts.length) awsError('MalformedPolicy', 'Missing required field Statement');
    const arn = `arn:${this.core.partition}:s3:::${bucket.name}`;
    for (const s of stmts) {
      if (s.Effect !== 'Allow' && s.Effect !== 'Deny') awsError('MalformedPolicy', 'Invalid effect');
      if (s.Principal === undefined) awsError('MalformedPolicy', 'Missing required field Principal');
      const resources: string[] = [s.Resource ?? []].flat();
      if (!resources.length || resources.some((r) => r !== arn && !r.startsWith(`${arn}/`)))
        awsError('MalformedPolicy', 'Policy has invalid resource');
      // With BlockPublicPolicy on, S3 refuses a policy that would grant access to everyone.
      const everyone =
        s.Principal === '*' ||
        s.Principal?.AWS === '*' ||
        (Array.isArray(s.Principal?.AWS) && s.Principal.AWS.includes('*'));
      if (s.Effect === 'Allow' && everyone && !s.Condition && bucket.publicAccessBlock?.BlockPublicPolicy)
        awsError('AccessDenied', 'Access Denied', 403);
    }
    bucket.policy = text;
    return {};
  }

  private latest(bucket: FakeBucket, key: string): FakeObjectVersion | undefined {
    const v = bucket.objects.get(key)?.at(-1);
    return v && !v.deleteMarker ? v : undefined;
  }

  /** Adds a version; unversioned and suspended buckets overwrite the `null` version instead. */
  private addVersion(bucket: FakeBucket, key: string, v: Omit<FakeObjectVersion, 'versionId'>): FakeObjectVersion {
    const list = bucket.objects.get(key) ?? [];
    const versionId =
      bucket.versioning === 'Enabled' ? `v${(++this.versionCounter).toString().padStart(12, '0')}` : 'null';
    const kept = versionId === 'null' ? list.filter((x) => x.versionId !== 'null') : list;
    const full = { ...v, versionId };
    bucket.objects.set(key, [...kept, full]);
    return full;
  }

  /**
   * A conditional write (If-Match / If-None-Match) or conditional delete. With `conditionalWriteMs` set,
   * it stays in flight that long before its precondition is evaluated, and a second conditional request
   * on the same key arriving meanwhile gets S3's 409 ConditionalRequestConflict (retry it: the answer
   * after the first one lands is 412 or success). Without it, requests are evaluated one at a time.
   */
  private async conditional<T>(bucket: FakeBucket, i: any, apply: () => T): Promise<T> {
    if (i.IfMatch === undefined && i.IfNoneMatch === undefined) return apply();
    const slot = `${bucket.name}/${i.Key}`;
    if (this.conditionalWriteMs > 0) {
      if (this.inFlight.has(slot))
        awsError(
          'ConditionalRequestConflict',
          'A conflicting conditional operation is currently in progress against this resource. Please try again.',
          409,
        );
      this.inFlight.add(slot);
      try {
        await new Promise((r) => setTimeout(r, this.conditionalWriteMs));
      } finally {
        this.inFlight.delete(slot);
      }
    }
    const current = this.latest(bucket, i.Key);
    if (i.IfNoneMatch === '*' && current) awsError('PreconditionFailed', PRECONDITION, 412);
    if (i.IfMatch !== undefined) {
      // If-Match on a missing key is 404, not 412: there is nothing to compare with.
      if (!current) awsError('NoSuchKey', 'The specified key does not exist.', 404);
      if (i.IfMatch !== '*' && i.IfMatch !== current.etag) awsError('PreconditionFailed', PRECONDITION, 412);
    }
    return apply();
  }

  private putObject(bucket: FakeBucket, i: any) {
    if (!i.Key) awsError('InvalidArgument', 'Key must not be empty');
    return this.conditional(bucket, i, () => this.writeObject(bucket, i));
  }

  private writeObject(bucket: FakeBucket, i: any) {
    const body =
      typeof i.Body === 'string'
        ? new TextEncoder().encode(i.Body)
        : i.Body instanceof Uint8Array
          ? i.Body
          : new Uint8Array();
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    const v = this.addVersion(bucket, i.Key, {
      body: new Uint8Array(body),
      etag,
      lastModified: new Date(this.core.now()),
      deleteMarker: false,
    });
    return { ETag: etag, ServerSideEncryption: 'AES256', ...(bucket.versioning ? { VersionId: v.versionId } : {}) };
  }

  private getObject(bucket: FakeBucket, i: any) {
    const list = bucket.objects.get(i.Key) ?? [];
    const v = i.VersionId ? list.find((x) => x.versionId === i.VersionId) : this.latest(bucket, i.Key);
    if (!v || v.deleteMarker) awsError('NoSuchKey', 'The specified key does not exist.', 404);
    const bytes = v.body;
    // The SDK's streaming body: structuredClone fails on functions, so the core passes it through.
    const Body = {
      transformToString: async (enc = 'utf-8') => new TextDecoder(enc).decode(bytes),
      transformToByteArray: async () => new Uint8Array(bytes),
    };
    return {
      Body,
      ContentLength: bytes.length,
      ETag: v.etag,
      LastModified: v.lastModified,
      ...(bucket.versioning ? { VersionId: v.versionId } : {}),
    };
  }

  private listObjects(bucket: FakeBucket, i: any) {
    const max = Math.min(i.MaxKeys ?? 1000, 1000);
    const prefix: string = i.Prefix ?? '';
    let after: string = i.StartAfter ?? '';
    if (i.ContinuationToken) {
      try {
        after = Buffer.from(i.ContinuationToken, 'base64url').toString('utf8');
        if (!after) throw new Error();
      } catch {
        awsError('InvalidArgument', 'The continuation token provided is incorrect');
      }
    }
    const keys = [...bucket.objects.keys()]
      .filter((k) => this.latest(bucket, k) && k.startsWith(prefix) && k > after)
      .sort(byteOrder);
    const page = keys.slice(0, max);
    const truncated = keys.length > page.length;
    return {
      Name: bucket.name,
      Prefix: prefix,
      MaxKeys: max,
      KeyCount: page.length,
      IsTruncated: truncated,
      ...(i.ContinuationToken ? { ContinuationToken: i.ContinuationToken } : {}),
      ...(truncated ? { NextContinuationToken: Buffer.from(page.at(-1)!, 'utf8').toString('base64url') } : {}),
      Contents: page.map((k) => {
        const v = this.latest(bucket, k)!;
        return { Key: k, Size: v.body.length, ETag: v.etag, LastModified: v.lastModified, StorageClass: 'STANDARD' };
      }),
    };
  }

  private listVersions(bucket: FakeBucket, i: any) {
    const max = Math.min(i.MaxKeys ?? 1000, 1000);
    const prefix: string = i.Prefix ?? '';
    // Newest first within a key, keys in byte order, as S3 lists them.
    const all = [...bucket.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => byteOrder(a, b))
      .flatMap(([k, vs]) => [...vs].reverse().map((v, n) => ({ k, v, isLatest: n === 0 })));
    let start = 0;
    if (i.KeyMarker) {
      const at = all.findIndex(
        (e) => e.k === i.KeyMarker && (!i.VersionIdMarker || e.v.versionId === i.VersionIdMarker),
      );
      start = i.VersionIdMarker ? at + 1 : all.findIndex((e) => e.k > i.KeyMarker);
      if (start < 0 || (i.VersionIdMarker && at < 0)) start = all.length;
    }
    const page = all.slice(start, start + max);
    const truncated = start + page.length < all.length;
    const last = page.at(-1);
    const entry = (e: (typeof all)[number]) => ({
      Key: e.k,
      VersionId: e.v.versionId,
      IsLatest: e.isLatest,
      LastModified: e.v.lastModified,
    });
    return {
      Name: bucket.name,
      Prefix: prefix,
      MaxKeys: max,
      IsTruncated: truncated,
      ...(truncated && last ? { NextKeyMarker: last.k, NextVersionIdMarker: last.v.versionId } : {}),
      Versions: page
        .filter((e) => !e.v.deleteMarker)
        .map((e) => ({ ...entry(e), ETag: e.v.etag, Size: e.v.body.length, StorageClass: 'STANDARD' })),
      DeleteMarkers: page.filter((e) => e.v.deleteMarker).map(entry),
    };
  }

  /** DeleteObject semantics: a version id removes that version; otherwise versioned buckets get a delete marker. */
  private deleteObject(
    bucket: FakeBucket,
    key: string,
    versionId?: string,
  ): { VersionId?: string; DeleteMarker?: boolean } {
    const list = bucket.objects.get(key) ?? [];
    if (versionId) {
      const gone = list.find((v) => v.versionId === versionId);
      const rest = list.filter((v) => v.versionId !== versionId);
      if (rest.length) bucket.objects.set(key, rest);
      else bucket.objects.delete(key);
      return { VersionId: versionId, ...(gone?.deleteMarker ? { DeleteMarker: true } : {}) };
    }
    if (!bucket.versioning) {
      bucket.objects.delete(key);
      return {};
    }
    const marker = this.addVersion(bucket, key, {
      body: new Uint8Array(),
      etag: '',
      lastModified: new Date(this.core.now()),
      deleteMarker: true,
    });
    return { DeleteMarker: true, VersionId: marker.versionId };
  }

  inventory(): InventoryEntry[] {
    return [...this.buckets.values()].map((b) => ({
      type: 's3.bucket',
      key: b.tags?.['batchctl:logical'] ?? b.name,
      settings: {
        name: b.name,
        region: b.region,
        ownership: b.ownership,
        tags: b.tags ?? {},
        publicAccessBlock: b.publicAccessBlock ?? null,
        encryption: (b.encryption?.[0] as any)?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? null,
        lifecycle: b.lifecycle ?? null,
        policy: b.policy ? JSON.parse(b.policy) : null,
        versioning: b.versioning ?? 'Disabled',
        objects: [...b.objects.keys()].filter((k) => this.latest(b, k)).length,
      },
    }));
  }
}

/** S3 sorts keys by their UTF-8 bytes. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function validTags(tagSet: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const list = tagSet ?? [];
  if (list.length > 50) awsError('BadRequest', 'Bucket tag count cannot be greater than 50');
  const keys = list.map((t) => t.Key ?? '');
  if (new Set(keys).size !== keys.length) awsError('InvalidTag', 'Cannot provide multiple Tags with the same key');
  if (keys.some((k) => !k || k.length > 128 || k.startsWith('aws:')))
    awsError('InvalidTag', 'The TagKey you have provided is invalid');
  return tagsToRecord(list);
}

function validLifecycle(rules: any[] | undefined): unknown[] {
  if (!Array.isArray(rules) || !rules.length || rules.length > 1000) awsError('MalformedXML', MALFORMED_XML);
  const ids = new Set<string>();
  for (const r of rules) {
    if (r.Status !== 'Enabled' && r.Status !== 'Disabled') awsError('MalformedXML', MALFORMED_XML);
    if (r.Filter !== undefined && r.Prefix !== undefined) awsError('MalformedXML', MALFORMED_XML);
    if (r.ID !== undefined) {
      if (r.ID.length > 255) awsError('InvalidArgument', 'ID length should not exceed allowed limit of 255');
      if (ids.has(r.ID)) awsError('InvalidArgument', 'Rule ID must be unique. Found same ID for more than one rule');
      ids.add(r.ID);
    }
    const actions = [
      'Expiration',
      'Transitions',
      'NoncurrentVersionExpiration',
      'NoncurrentVersionTransitions',
      'AbortIncompleteMultipartUpload',
    ];
    if (!actions.some((a) => r[a] !== undefined))
      awsError('InvalidRequest', 'At least one action needs to be specified in a rule');
    if (r.Expiration?.Days !== undefined && !(Number.isInteger(r.Expiration.Days) && r.Expiration.Days > 0)) {
      awsError('InvalidArgument', "'Days' for Expiration action must be a positive integer");
    }
  }
  return rules;
}
